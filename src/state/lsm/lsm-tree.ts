/**
 * Weir's log-structured merge tree: one per subtask, on that subtask's worker thread. Writes go
 * to a memtable; a full memtable is frozen and flushed to an L0 SST asynchronously, in slices on
 * this thread's event loop; leveled compaction merges on a worker thread of the tree's own
 * (compaction-thread.ts; the files are the interface), or in slices here with
 * `compactionThread: false`. The MANIFEST (manifest.ts) is the durable list of live files; nothing
 * is read from a file it does not list, and no file it lists is deleted. The LSM state backend
 * calls it; incremental checkpoints use `checkpoint()`.
 *
 * Read path: memtable → immutable memtables (newest first) → the current version's files
 * (version.ts). A frozen memtable stays readable until the version holding its SST is published,
 * and the two happen in one synchronous step, so a get never falls between them. SST readers
 * hold only index, filter and an open descriptor; data blocks are read on a block-cache miss, so
 * state is bounded by disk, not memory. A reader's descriptor stays open while a scan iterator
 * uses it, so a scan keeps reading its version after compaction removed (and unlinked) files.
 *
 * Background work on this thread (flush; compaction's install, or all of it without the thread)
 * is written to disk as it goes and cut into slices of about TIME_SLICE_MS between awaits, each
 * timed (`stats.maxBackgroundSliceMs`; wall time, so a GC pause inside a slice counts too).
 */
import { promises as fsp } from 'node:fs';
import { basename, join } from 'node:path';
import { WeirError } from '../../errors.ts';
import { faultPoint } from '../../fault-points.ts';
import { loadChecksum } from '../../storage/state-file.ts';
import { LruBlockCache } from './block-cache.ts';
import { bloomHash } from './bloom-filter.ts';
import { SliceTimer, WRITE_BATCH_BYTES, pickCompaction, runCompaction, type CompactionPlan, type CompactionPolicy, type TableBuilder } from './compaction.ts';
import {
  MANIFEST_FILE,
  MANIFEST_TEMP_FILE,
  MAX_LEVELS,
  ioError,
  parseSstFileName,
  readManifest,
  sstFileName,
  writeManifest,
  type ManifestData,
} from './manifest.ts';
import { Memtable, keyString } from './memtable.ts';
import { CompactionThread, replyError } from './compaction-thread.ts';
import { FdSource, SstFileWriter, fileChecksum, loadStreamingChecksum } from './sst-file.ts';
import { SstReader, SstWriter, type SstWriterOptions } from './sst-format.ts';
import { compareKeys } from './sst-block.ts';
import { Version, mergeNewestFirst, type Entry, type SstHandle } from './version.ts';

export interface LsmTreeOptions {
  /** The tree's own directory (created): SST files and MANIFEST live here. */
  readonly directory: string;
  /** Flush once the memtable's approximate size exceeds this. Default 4 MiB. */
  readonly memtableBytes?: number;
  /** Block cache shared by the tree's readers. Default 8 MiB. */
  readonly blockCacheBytes?: number;
  /** Passed to SstWriter. Default 4 KiB. */
  readonly blockBytes?: number;
  /** Passed to SstWriter. */
  readonly bloomBitsPerKey?: number;
  /** Compact L0 into L1 at this many L0 files. Default 4. */
  readonly l0CompactionTrigger?: number;
  /** Each level ≥ 1 may hold this many times the bytes of the one above. Default 10. */
  readonly levelSizeMultiplier?: number;
  /**
   * Compaction cuts its outputs at this many file bytes. Default min(4 MiB, memtableBytes). A
   * flush writes one L0 file per memtable (L0 files are compacted all together anyway; cutting
   * them would only multiply the files every point read checks).
   */
  readonly targetFileBytes?: number;
  /**
   * Run compaction merges on a worker thread of the tree's own (true, the default) or in slices on
   * this thread's event loop (false).
   */
  readonly compactionThread?: boolean;
}

/** One file of a tree checkpoint; `path` is the live file in the tree's directory. */
export interface TreeCheckpointFile {
  /** The file's name in the tree (e.g. 000042.sst): unique within this tree instance. */
  readonly name: string;
  readonly path: string;
  readonly level: number;
  readonly byteLength: number;
  /** xxHash64 of the file's bytes, 16 hex digits. */
  readonly checksum: string;
}

/** The files of a checkpoint, held (not deleted by compaction) until `release()`. */
export interface TreeCheckpoint {
  /** L0 newest first, then L1, L2, … (the order `restore` expects). */
  readonly files: readonly TreeCheckpointFile[];
  release(): void;
}

/** A checkpointed file to restore: where it comes from, and how to put a verified copy at `target`. */
export interface RestoredFile {
  /** For messages: the file's checkpoint path. */
  readonly path: string;
  readonly level: number;
  /** xxHash64 (16 hex digits) of the file's bytes; `materialize` must put exactly those at `target` (verified). */
  readonly checksum: string;
  materialize(target: string): Promise<void>;
}

/** Files a checkpoint holds until it has copied them. */
interface FilePin {
  readonly names: Set<string>;
}

/** Figures for tests and benchmarks. @internal */
export interface LsmTreeStats {
  readonly flushes: number;
  readonly compactions: number;
  /** SST bytes written by flushes and compactions. */
  readonly bytesFlushed: number;
  readonly bytesCompacted: number;
  /** Longest synchronous stretch of background work (flush or compaction) between awaits. */
  readonly maxBackgroundSliceMs: number;
  /** Bytes the live files' readers hold in memory (indexes and bloom filters). */
  readonly readerMemoryBytes: number;
  readonly blockCacheBytes: number;
  readonly blockCacheHits: number;
  readonly blockCacheMisses: number;
}

const DEFAULT_MEMTABLE_BYTES = 4 * 1024 * 1024;
const DEFAULT_BLOCK_CACHE_BYTES = 8 * 1024 * 1024;
const DEFAULT_L0_TRIGGER = 4;
const BASE_LEVEL_BYTES = 10 * 1024 * 1024;
const DEFAULT_LEVEL_MULTIPLIER = 10;
const DEFAULT_TARGET_FILE_BYTES = 4 * 1024 * 1024;
/**
 * 4 KiB, LevelDB's default: with state larger than the cache most point reads miss it, and a
 * miss reads, checksums and decompresses a whole block, so smaller blocks cost less per read
 * (the index doubles, still ~1 % of the file).
 */
const DEFAULT_BLOCK_BYTES = 4 * 1024;

/** Thrown inside a compaction when the tree closes; never escapes. */
class CompactionAbandoned extends Error {}

export class LsmTree {
  readonly #directory: string;
  readonly #memtableBytes: number;
  readonly #targetFileBytes: number;
  /** Where compaction merges run; undefined: in slices on this thread. */
  readonly #compactionThread: CompactionThread | undefined;
  /** Stops the running compaction at its next step (set while one runs on the thread). */
  #abortCompaction: (() => void) | undefined;
  readonly #writerOptions: SstWriterOptions;
  readonly #policy: CompactionPolicy;
  readonly #cache: LruBlockCache;
  #memtable = new Memtable();
  /** Frozen memtables waiting for their SST to be installed, newest first. */
  #immutables: Memtable[] = [];
  #version: Version;
  #nextFileNumber: number;
  /** Flushes run one at a time, oldest memtable first, so L0 file numbers follow write order. */
  #flushChain: Promise<void> = Promise.resolve();
  /** Manifest writes (flush and compaction installs) run one at a time, each from the latest version. */
  #installChain: Promise<void> = Promise.resolve();
  #compaction: Promise<void> | undefined;
  readonly #cursors: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(MAX_LEVELS).fill(undefined);
  /** Checkpoints holding files: a file they hold is not deleted when compaction removes it. */
  readonly #pins = new Set<FilePin>();
  /** Files removed from the version while pinned: deleted when the last pin lets go. */
  readonly #deferredDeletes = new Set<string>();
  /** xxHash64 (16 hex digits) of every live file's bytes, computed when it is written or opened. */
  readonly #checksums = new Map<string, string>();
  /** The first background failure: later writes and flush/compact/close report it. */
  #backgroundError: unknown;
  #closing = false;
  #closed = false;
  #flushes = 0;
  #compactions = 0;
  #bytesFlushed = 0;
  #bytesCompacted = 0;
  #maxSliceMs = 0;

  private constructor(options: Required<LsmTreeOptions>, version: Version, nextFileNumber: number, cache: LruBlockCache) {
    this.#directory = options.directory;
    this.#memtableBytes = options.memtableBytes;
    this.#targetFileBytes = options.targetFileBytes;
    this.#compactionThread = options.compactionThread ? new CompactionThread() : undefined;
    this.#writerOptions = { blockBytes: options.blockBytes, bloomBitsPerKey: options.bloomBitsPerKey };
    this.#policy = {
      l0CompactionTrigger: options.l0CompactionTrigger,
      // LevelDB sizes L1 at 10 MiB: L0→L1 compactions (which rewrite all of L1 when updates are spread
      // over the key space) stay small, and data settles in deeper levels that change less often.
      baseLevelBytes: Math.min(options.memtableBytes * options.l0CompactionTrigger, BASE_LEVEL_BYTES),
      levelSizeMultiplier: options.levelSizeMultiplier,
    };
    this.#cache = cache;
    this.#version = version;
    this.#nextFileNumber = nextFileNumber;
  }

  /**
   * Opens the tree in `options.directory`: an empty or new directory gives an empty tree; an
   * existing MANIFEST reopens exactly its files (verified) and removes files it does not list
   * (leftovers of a crash during a flush or compaction).
   */
  static async open(options: LsmTreeOptions): Promise<LsmTree> {
    const resolved = validateOptions(options);
    await loadChecksum();
    await loadStreamingChecksum();
    const directory = resolved.directory;
    try {
      await fsp.mkdir(directory, { recursive: true });
    } catch (error) {
      throw ioError(`create the LSM directory ${directory}`, error, directory);
    }
    const names = await fsp.readdir(directory).catch((error: unknown) => {
      throw ioError(`list the LSM directory ${directory}`, error, directory);
    });
    const onDisk = names.flatMap((name) => {
      const n = parseSstFileName(name);
      return n === undefined ? [] : [n];
    });
    let manifest = await readManifest(directory);
    if (manifest === undefined) {
      if (onDisk.length > 0) {
        throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `LSM directory ${directory} holds ${onDisk.length} SST files but no ${MANIFEST_FILE}: refusing to guess which are live`, {
          context: { file: join(directory, MANIFEST_FILE) },
        });
      }
      manifest = { nextFileNumber: 1, files: [] };
      await writeManifest(directory, manifest);
    }
    const cache = new LruBlockCache(resolved.blockCacheBytes);
    const handles = await openFiles(directory, manifest, cache);
    // A version-1 manifest had no checksums: now that they are known, record them.
    if (manifest.files.some((f) => f.checksum === undefined)) await writeManifest(directory, Version.of(handles).toManifest(manifest.nextFileNumber));
    const live = new Set(manifest.files.map((f) => f.fileNumber));
    // Unlisted files are never read, so removing them is safe; failing to is harmless (retried next open).
    await Promise.all([
      ...onDisk.filter((n) => !live.has(n)).map((n) => fsp.rm(join(directory, sstFileName(n)), { force: true }).catch(() => {})),
      fsp.rm(join(directory, MANIFEST_TEMP_FILE), { force: true }).catch(() => {}),
    ]);
    const nextFileNumber = Math.max(manifest.nextFileNumber, ...onDisk.map((n) => n + 1));
    const tree = new LsmTree(resolved, Version.of(handles), nextFileNumber, cache);
    for (const handle of handles) tree.#checksums.set(handle.name, handle.checksum);
    tree.#maybeScheduleCompaction();
    return tree;
  }

  /** Memtable bytes, immutable memtables awaiting flush included. */
  get approximateMemtableBytes(): number {
    let bytes = this.#memtable.approximateBytes;
    for (const m of this.#immutables) bytes += m.approximateBytes;
    return bytes;
  }

  /** Figures for tests and benchmarks. @internal */
  get stats(): LsmTreeStats {
    let readerMemoryBytes = 0;
    for (const f of this.#version.files()) readerMemoryBytes += f.reader.memoryBytes;
    return {
      flushes: this.#flushes,
      compactions: this.#compactions,
      bytesFlushed: this.#bytesFlushed,
      bytesCompacted: this.#bytesCompacted,
      maxBackgroundSliceMs: this.#maxSliceMs,
      readerMemoryBytes,
      blockCacheBytes: this.#cache.usedBytes,
      blockCacheHits: this.#cache.hits,
      blockCacheMisses: this.#cache.misses,
    };
  }

  /**
   * Sets `key` to `value`. Synchronous; a full memtable is handed to a background flush. Takes
   * ownership of both arrays (the SortedKv contract): the caller must not mutate them afterwards,
   * so they are stored without a copy.
   */
  put(key: Uint8Array, value: Uint8Array): void {
    this.#checkWritable();
    checkBytes(key, 'key');
    checkBytes(value, 'value');
    this.#memtable.put(key, value);
    if (this.#memtable.approximateBytes > this.#memtableBytes) this.#freeze();
  }

  /** Deletes `key` (writes a tombstone). Takes ownership of `key`, as `put` does. */
  delete(key: Uint8Array): void {
    this.#checkWritable();
    checkBytes(key, 'key');
    this.#memtable.put(key, null);
    if (this.#memtable.approximateBytes > this.#memtableBytes) this.#freeze();
  }

  /**
   * The newest value of `key`, or undefined if absent or deleted. Read-only for the caller (the
   * SortedKv contract): a value still in a memtable is the stored array itself, not a copy.
   */
  get(key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen();
    checkBytes(key, 'key');
    const id = keyString(key);
    let value = this.#memtable.getById(id);
    if (value !== undefined) return value ?? undefined;
    const immutables = this.#immutables;
    for (let i = 0; i < immutables.length; i++) {
      value = immutables[i]!.getById(id);
      if (value !== undefined) return value ?? undefined;
    }
    const result = this.#version.get(key, bloomHash(key));
    return result.found && result.value !== null ? result.value : undefined;
  }

  /**
   * Live entries with from ≤ key < to, ascending, newest value per key, read-only for the caller
   * (memtable entries are the stored arrays). The memtable list and file version are captured
   * now; writes during iteration may or may not be seen.
   */
  scan(from: Uint8Array, to: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    this.#checkOpen();
    checkBytes(from, 'from');
    checkBytes(to, 'to');
    if (compareKeys(from, to) >= 0) return [][Symbol.iterator]();
    const sources: Iterator<Entry>[] = [this.#memtable, ...this.#immutables].map((m) => m.entries(from, to));
    sources.push(...this.#version.sources(from, to));
    return mergeNewestFirst(sources, true) as IterableIterator<[Uint8Array, Uint8Array]>;
  }

  /** Writes the memtable (if not empty) to an L0 SST and waits until every flush so far is in a durable MANIFEST. */
  async flush(): Promise<void> {
    this.#checkWritable();
    this.#freeze();
    await this.#flushChain;
    this.#throwBackgroundError();
  }

  /** Waits for pending flushes, then runs compactions until every level is within its budget. */
  async compact(): Promise<void> {
    this.#checkWritable();
    await this.#flushChain;
    for (;;) {
      this.#throwBackgroundError();
      if (this.#compaction !== undefined) {
        await this.#compaction;
        continue;
      }
      if (!this.#maybeScheduleCompaction()) return;
    }
  }

  /** SST file names of the current manifest (L0 newest first, then L1, L2, …). */
  liveFiles(): readonly string[] {
    return this.#version.files().map((f) => f.name);
  }

  /**
   * A checkpoint of the tree. The synchronous part (this call) freezes the memtable, so later
   * writes go elsewhere; the returned promise resolves once the memtables frozen so far are
   * flushed, with the live files at that moment — exactly the state as of the call — pinned:
   * compaction does not delete them until the caller has linked or copied them and `release()`d.
   */
  checkpoint(): Promise<TreeCheckpoint> {
    this.#checkWritable();
    this.#freeze();
    // Flushes run one at a time in freeze order, and this callback is registered before any later
    // freeze can chain its flush: when it runs, the version holds exactly the writes made before
    // this call (compactions since then only rewrote those), and nothing written after it.
    return this.#flushChain.then(() => {
      this.#throwBackgroundError();
      const live = this.#version.files();
      const pin: FilePin = { names: new Set(live.map((f) => f.name)) };
      this.#pins.add(pin);
      const files = live.map((f) => ({
        name: f.name,
        path: join(this.#directory, f.name),
        level: f.level,
        byteLength: f.byteLength,
        checksum: this.#checksums.get(f.name)!,
      }));
      let released = false;
      return {
        files,
        release: () => {
          if (released) return;
          released = true;
          this.#unpin(pin);
        },
      };
    });
  }

  /**
   * Builds a tree in `options.directory` (emptied first) from checkpointed SST files, which are
   * linked (or copied) in, not rewritten: `files` as a checkpoint listed them (L0 newest first,
   * then deeper levels), each verified against its checksum before use.
   */
  static async restore(options: LsmTreeOptions, files: readonly RestoredFile[]): Promise<{ tree: LsmTree; localNames: string[] }> {
    const resolved = validateOptions(options);
    await loadChecksum();
    const directory = resolved.directory;
    try {
      await fsp.rm(directory, { recursive: true, force: true });
      await fsp.mkdir(directory, { recursive: true });
    } catch (error) {
      throw ioError(`create the LSM directory ${directory}`, error, directory);
    }
    // L0 order is file-number order: the oldest L0 file gets the smallest number.
    const l0 = files.filter((f) => f.level === 0).reverse();
    const ordered = [...l0, ...files.filter((f) => f.level !== 0)];
    const manifestFiles = [];
    const localNames = new Map<RestoredFile, string>();
    let fileNumber = 1;
    for (const file of ordered) {
      if (!Number.isInteger(file.level) || file.level < 0 || file.level >= MAX_LEVELS) {
        throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpointed SST file ${file.path} has level ${file.level}, outside [0, ${MAX_LEVELS - 1}]`, { context: { file: file.path } });
      }
      const name = sstFileName(fileNumber);
      const target = join(directory, name);
      await file.materialize(target);
      // Verifies tail, footer, index and filter; data blocks are verified as they are read.
      const reader = SstReader.open(new FdSource(target), file.path);
      const entry = { level: file.level, fileNumber, byteLength: reader.byteLength, smallest: reader.smallestKey, largest: reader.largestKey };
      reader.close();
      // materialize verified the copy against this checksum: the manifest records it, no re-read.
      manifestFiles.push({ ...entry, checksum: file.checksum });
      localNames.set(file, name);
      fileNumber++;
    }
    await writeManifest(directory, { nextFileNumber: fileNumber, files: manifestFiles });
    const tree = await LsmTree.open(options);
    return { tree, localNames: files.map((f) => localNames.get(f)!) };
  }

  /**
   * Flushes the memtable, abandons a running compaction at its next yield (its partial outputs
   * are removed now or on the next open), waits for the manifest, and releases the cache.
   */
  async close(): Promise<void> {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    try {
      if (this.#backgroundError === undefined) this.#freeze();
      await this.#flushChain;
      this.#abortCompaction?.();
      await this.#compaction;
      await this.#installChain;
      await this.#compactionThread?.close();
    } finally {
      this.#closed = true;
      // Scans still running keep their files open until they end (see SstReader).
      for (const f of this.#version.files()) f.reader.close();
      this.#cache.clear();
      this.#pins.clear();
      this.#deferredDeletes.clear();
    }
    this.#throwBackgroundError();
  }

  // ── flush ──────────────────────────────────────────────────────────────────────────────────

  #freeze(): void {
    const frozen = this.#memtable;
    if (frozen.size === 0) return;
    this.#memtable = new Memtable();
    this.#immutables.unshift(frozen);
    this.#flushChain = this.#flushChain.then(() => this.#flushMemtable(frozen)).catch((error: unknown) => this.#fail(error));
  }

  async #flushMemtable(frozen: Memtable): Promise<void> {
    if (this.#backgroundError !== undefined) return;
    const timer = new SliceTimer((ms) => this.#recordSlice(ms));
    const table = await this.#createTable(0, timer);
    let handle: SstHandle;
    try {
      let count = 0;
      // The memtable is frozen: iterating it across awaits is safe.
      for (const [key, value] of frozen.entries()) {
        table.add(key, value);
        if ((++count & 63) !== 0) continue;
        if (table.bufferedBytes >= WRITE_BATCH_BYTES) await table.writeBuffered();
        else await timer.maybeYield();
      }
      handle = await table.finish();
      faultPoint('lsm-flush'); // the SST is written, not yet in the manifest
    } catch (error) {
      await table.discard();
      throw error;
    }
    try {
      await this.#install([], [handle], timer, () => {
        this.#immutables = this.#immutables.filter((m) => m !== frozen);
      });
    } catch (error) {
      handle.reader.close();
      throw error;
    }
    this.#flushes++;
    this.#bytesFlushed += handle.byteLength;
    this.#maybeScheduleCompaction();
    timer.end();
  }

  /**
   * Starts an SST under a new file number, written as it is built; `finish` fsyncs and opens it
   * (and adds it to `finished`). Listed nowhere until installed. Every wait is timed on `timer`.
   */
  async #createTable(level: number, timer: SliceTimer, finished?: SstHandle[]): Promise<TableBuilder> {
    const fileNumber = this.#nextFileNumber++;
    const name = sstFileName(fileNumber);
    const path = join(this.#directory, name);
    const file = await SstFileWriter.create(path, this.#writerOptions, timer);
    return {
      add: (key, value) => file.add(key, value),
      get fileBytes() {
        return file.fileBytes;
      },
      get bufferedBytes() {
        return file.bufferedBytes;
      },
      writeBuffered: () => file.writeBuffered(),
      finish: async () => {
        const written = await file.finish();
        // Reads back tail, footer, index and filter: what the file holds is what gets installed.
        const reader = SstReader.open(new FdSource(path), name, { blockCache: this.#cache });
        const { checksum, byteLength } = written;
        this.#checksums.set(name, checksum);
        const handle: SstHandle = { level, fileNumber, byteLength, smallest: reader.smallestKey, largest: reader.largestKey, checksum, name, reader };
        finished?.push(handle);
        return handle;
      },
      discard: () => file.discard(),
    };
  }

  /**
   * Publishes a version without `removed` and with `added` once its MANIFEST is durable, runs
   * `onPublish` in the same synchronous step, then closes the removed files' readers (scans
   * still using one keep it open) and deletes the files: a crash before the rename keeps the old
   * manifest and its files; after it, the removed files are orphans that the next open deletes.
   * Installs run one at a time, each from the version the previous one published.
   */
  async #install(removed: readonly SstHandle[], added: readonly SstHandle[], timer: SliceTimer, onPublish?: () => void): Promise<void> {
    const previous = this.#installChain;
    let done!: () => void;
    this.#installChain = new Promise<void>((resolve) => (done = resolve));
    try {
      await timer.wait(previous);
      const next = this.#version.apply(removed, added);
      await timer.wait(writeManifest(this.#directory, next.toManifest(this.#nextFileNumber)));
      this.#version = next;
      onPublish?.();
      const deletes: Promise<void>[] = [];
      for (const f of removed) {
        f.reader.close();
        this.#cache.deleteFile(f.name);
        if (this.#isPinned(f.name)) this.#deferredDeletes.add(f.name);
        else deletes.push(this.#deleteFile(f.name));
      }
      await timer.wait(Promise.all(deletes));
    } finally {
      done();
    }
  }

  async #deleteFile(name: string): Promise<void> {
    this.#checksums.delete(name);
    // Best effort: a file that survives is an orphan, removed on the next open.
    await fsp.rm(join(this.#directory, name), { force: true }).catch(() => {});
  }

  #isPinned(name: string): boolean {
    for (const pin of this.#pins) if (pin.names.has(name)) return true;
    return false;
  }

  #unpin(pin: FilePin): void {
    if (!this.#pins.delete(pin)) return;
    for (const name of pin.names) {
      if (!this.#deferredDeletes.has(name) || this.#isPinned(name)) continue;
      this.#deferredDeletes.delete(name);
      void this.#deleteFile(name);
    }
  }

  // ── compaction ─────────────────────────────────────────────────────────────────────────────

  /** Starts the next compaction unless one is running or none is due; true if one is running now. */
  #maybeScheduleCompaction(): boolean {
    if (this.#compaction !== undefined) return true;
    if (this.#closing || this.#backgroundError !== undefined) return false;
    const plan = pickCompaction(this.#version, this.#policy, this.#cursors);
    if (plan === undefined) return false;
    this.#compaction = this.#compact(plan)
      .catch((error: unknown) => {
        if (!(error instanceof CompactionAbandoned)) this.#fail(error);
      })
      .finally(() => {
        this.#compaction = undefined;
        this.#maybeScheduleCompaction();
      });
    return true;
  }

  async #compact(plan: CompactionPlan): Promise<void> {
    const timer = new SliceTimer((ms) => this.#recordSlice(ms));
    const written: SstHandle[] = [];
    let installing = false;
    let result;
    let reserved: string[] = [];
    try {
      if (this.#compactionThread !== undefined) {
        reserved = this.#reserveOutputs(plan);
        result = await this.#compactOnThread(plan, this.#compactionThread, reserved, timer, written);
      } else {
        result = await runCompaction(plan, {
          targetFileBytes: this.#targetFileBytes,
          createTable: (level) => {
            faultPoint('lsm-compaction'); // inputs partly merged, outputs partly written
            return this.#createTable(level, timer, written);
          },
          checkContinue: () => {
            if (this.#closing) throw new CompactionAbandoned();
          },
          timer,
        });
      }
      installing = true;
      await this.#install([...plan.inputs, ...plan.overlaps], result.outputs, timer);
    } catch (error) {
      for (const f of written) f.reader.close();
      // Outputs no manifest lists are never read: remove them now rather than on the next open.
      // Once the install started, a failed manifest write may still have renamed the new manifest
      // into place, so its outputs stay until the next open decides from the manifest on disk.
      if (!installing) {
        const paths = new Set([...written.map((f) => join(this.#directory, f.name)), ...reserved]);
        await Promise.all([...paths].map((path) => fsp.rm(path, { force: true }).catch(() => {})));
      }
      throw error;
    }
    if (plan.level > 0) this.#cursors[plan.level] = plan.inputs[plan.inputs.length - 1]!.largest;
    this.#compactions++;
    this.#bytesCompacted += result.bytesWritten;
    timer.end();
  }

  /**
   * File numbers for a compaction on the thread, which cannot ask for more: enough for its input
   * bytes at the target size, plus slack (merged outputs are no larger than their inputs; the
   * last output takes whatever is left). Unused numbers are only gaps.
   */
  #reserveOutputs(plan: CompactionPlan): string[] {
    let inputBytes = 0;
    for (const f of [...plan.inputs, ...plan.overlaps]) inputBytes += f.byteLength;
    const count = Math.ceil(inputBytes / this.#targetFileBytes) + 2;
    return Array.from({ length: count }, () => join(this.#directory, sstFileName(this.#nextFileNumber++)));
  }

  /** Runs the merge on the compaction thread, then opens its outputs here (tail, footer, index, filter verified). */
  async #compactOnThread(plan: CompactionPlan, thread: CompactionThread, reserved: string[], timer: SliceTimer, written: SstHandle[]): Promise<{ outputs: SstHandle[]; bytesWritten: number }> {
    const path = (f: SstHandle): string => join(this.#directory, f.name);
    const job = thread.run({
      inputs: plan.inputs.map(path),
      overlaps: plan.overlaps.map(path),
      bottommost: plan.bottommost,
      outputs: reserved,
      targetFileBytes: this.#targetFileBytes,
      writerOptions: this.#writerOptions,
    });
    this.#abortCompaction = () => thread.abort(job.id);
    let reply;
    try {
      reply = await timer.wait(job.done);
    } finally {
      this.#abortCompaction = undefined;
    }
    if ('aborted' in reply) throw new CompactionAbandoned();
    if ('error' in reply) throw replyError(reply.error);
    faultPoint('lsm-compaction'); // outputs written, not yet in the manifest
    let bytesWritten = 0;
    for (const output of reply.outputs) {
      await timer.maybeYield(); // each open parses an index: a compaction's worth in one go is long
      const name = basename(output.path);
      const reader = SstReader.open(new FdSource(output.path), name, { blockCache: this.#cache });
      this.#checksums.set(name, output.checksum);
      const fileNumber = parseSstFileName(name)!;
      written.push({ level: plan.outputLevel, fileNumber, byteLength: output.byteLength, smallest: reader.smallestKey, largest: reader.largestKey, checksum: output.checksum, name, reader });
      bytesWritten += output.byteLength;
    }
    return { outputs: [...written], bytesWritten };
  }

  // ── state checks ───────────────────────────────────────────────────────────────────────────

  #recordSlice(ms: number): void {
    if (ms > this.#maxSliceMs) this.#maxSliceMs = ms;
  }

  #fail(error: unknown): void {
    this.#backgroundError ??= error;
  }

  #throwBackgroundError(): void {
    const error = this.#backgroundError;
    if (error === undefined) return;
    if (error instanceof WeirError) throw error;
    throw new WeirError('WEIR_CHECKPOINT_IO', `LSM tree ${this.#directory}: background flush or compaction failed: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw new WeirError('WEIR_INVALID_ARGUMENT', `LSM tree ${this.#directory} is closed`);
  }

  #checkWritable(): void {
    this.#checkOpen();
    if (this.#closing) throw new WeirError('WEIR_INVALID_ARGUMENT', `LSM tree ${this.#directory} is closing`);
    this.#throwBackgroundError();
  }
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────

/**
 * Opens every file the manifest lists, reading only tail, footer, index and filter; a missing
 * file, or one whose size or key range differs from the manifest, is corruption. A version-1
 * manifest has no checksums: those files are hashed once, streaming, without being held.
 */
async function openFiles(directory: string, manifest: ManifestData, cache: LruBlockCache): Promise<SstHandle[]> {
  const settled = await Promise.allSettled(
    manifest.files.map(async (f): Promise<SstHandle> => {
      const name = sstFileName(f.fileNumber);
      const path = join(directory, name);
      let source: FdSource;
      try {
        source = new FdSource(path);
      } catch (error) {
        if ((error as WeirError).code === 'WEIR_CHECKPOINT_CORRUPT') {
          throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `LSM manifest ${join(directory, MANIFEST_FILE)} lists ${name}, which is missing`, { cause: error, context: { file: path } });
        }
        throw error;
      }
      if (source.byteLength !== f.byteLength) {
        source.close();
        throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `SST file ${path} is ${source.byteLength} bytes, the manifest says ${f.byteLength}`, { context: { file: path } });
      }
      const reader = SstReader.open(source, name, { blockCache: cache });
      try {
        if (compareKeys(reader.smallestKey, f.smallest) !== 0 || compareKeys(reader.largestKey, f.largest) !== 0) {
          throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `SST file ${path} does not hold the key range the manifest records`, { context: { file: path } });
        }
        return { ...f, name, reader, checksum: f.checksum ?? (await fileChecksum(path)) };
      } catch (error) {
        reader.close();
        throw error;
      }
    }),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed === undefined) return settled.map((r) => (r as PromiseFulfilledResult<SstHandle>).value);
  for (const r of settled) if (r.status === 'fulfilled') r.value.reader.close();
  throw (failed as PromiseRejectedResult).reason;
}

function validateOptions(options: LsmTreeOptions): Required<LsmTreeOptions> {
  if (typeof options !== 'object' || options === null) throw new WeirError('WEIR_INVALID_ARGUMENT', 'LsmTree options must be an object');
  if (typeof options.directory !== 'string' || options.directory === '') {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `options.directory must be a non-empty string, got ${String(options.directory)}`);
  }
  const integer = (name: keyof LsmTreeOptions, fallback: number, min: number): number => {
    const value = options[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `options.${name} must be an integer ≥ ${min}, got ${String(value)}`);
    }
    return value;
  };
  const memtableBytes = integer('memtableBytes', DEFAULT_MEMTABLE_BYTES, 1024);
  const resolved: Required<LsmTreeOptions> = {
    directory: options.directory,
    memtableBytes,
    blockCacheBytes: integer('blockCacheBytes', DEFAULT_BLOCK_CACHE_BYTES, 0),
    blockBytes: integer('blockBytes', DEFAULT_BLOCK_BYTES, 64),
    bloomBitsPerKey: options.bloomBitsPerKey ?? 10,
    l0CompactionTrigger: integer('l0CompactionTrigger', DEFAULT_L0_TRIGGER, 1),
    levelSizeMultiplier: integer('levelSizeMultiplier', DEFAULT_LEVEL_MULTIPLIER, 2),
    targetFileBytes: integer('targetFileBytes', Math.min(DEFAULT_TARGET_FILE_BYTES, memtableBytes), 1024),
    compactionThread: options.compactionThread ?? true,
  };
  new SstWriter({ blockBytes: resolved.blockBytes, bloomBitsPerKey: resolved.bloomBitsPerKey }); // validates both
  return resolved;
}

function checkBytes(bytes: unknown, name: string): void {
  if (!(bytes instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', `LsmTree ${name} must be a Uint8Array`);
}
