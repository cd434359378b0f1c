/**
 * Weir's log-structured merge tree: one per subtask, on that subtask's worker thread. Writes go
 * to a memtable; a full memtable is frozen and flushed to an L0 SST asynchronously; leveled
 * compaction runs asynchronously on the same thread's event loop (yielding every few ms; not yet
 * on the background pool). The MANIFEST (manifest.ts) is the durable list of live files; nothing
 * is read from a file it does not list, and no file it lists is deleted. The LSM state backend
 * calls it; incremental checkpoints read `liveFiles()` after `flush()`.
 *
 * Read path: memtable → immutable memtables (newest first) → the current version's files
 * (version.ts). A frozen memtable stays readable until the version holding its SST is published,
 * and the two happen in one synchronous step, so a get never falls between them. SST readers
 * hold their file's bytes, so a scan keeps reading its version even after compaction deleted the
 * files; that is also why state is bounded by memory today (see the report in issue 4).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../../errors.ts';
import { loadChecksum } from '../../storage/state-file.ts';
import { LruBlockCache } from './block-cache.ts';
import { bloomHash } from './bloom-filter.ts';
import { TIME_SLICE_MS, pickCompaction, runCompaction, yieldToEventLoop, type CompactionPlan, type CompactionPolicy } from './compaction.ts';
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
import { Memtable } from './memtable.ts';
import { writeFileSynced } from '../../storage/durable-file.ts';
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
  /** Passed to SstWriter. */
  readonly blockBytes?: number;
  /** Passed to SstWriter. */
  readonly bloomBitsPerKey?: number;
  /** Compact L0 into L1 at this many L0 files. Default 4. */
  readonly l0CompactionTrigger?: number;
  /** Each level ≥ 1 may hold this many times the bytes of the one above. Default 10. */
  readonly levelSizeMultiplier?: number;
}

/** Figures for tests and benchmarks. @internal */
export interface LsmTreeStats {
  readonly flushes: number;
  readonly compactions: number;
  /** SST bytes written by flushes and compactions. */
  readonly bytesFlushed: number;
  readonly bytesCompacted: number;
  /** Longest synchronous stretch of background work (flush or compaction) between yields. */
  readonly maxBackgroundSliceMs: number;
}

const DEFAULT_MEMTABLE_BYTES = 4 * 1024 * 1024;
const DEFAULT_BLOCK_CACHE_BYTES = 8 * 1024 * 1024;
const DEFAULT_L0_TRIGGER = 4;
const DEFAULT_LEVEL_MULTIPLIER = 10;

/** Thrown inside a compaction when the tree closes; never escapes. */
class CompactionAbandoned extends Error {}

export class LsmTree {
  readonly #directory: string;
  readonly #memtableBytes: number;
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
    this.#writerOptions = { blockBytes: options.blockBytes, bloomBitsPerKey: options.bloomBitsPerKey };
    this.#policy = {
      l0CompactionTrigger: options.l0CompactionTrigger,
      baseLevelBytes: options.memtableBytes * options.l0CompactionTrigger,
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
    const live = new Set(manifest.files.map((f) => f.fileNumber));
    // Unlisted files are never read, so removing them is safe; failing to is harmless (retried next open).
    await Promise.all([
      ...onDisk.filter((n) => !live.has(n)).map((n) => fsp.rm(join(directory, sstFileName(n)), { force: true }).catch(() => {})),
      fsp.rm(join(directory, MANIFEST_TEMP_FILE), { force: true }).catch(() => {}),
    ]);
    const nextFileNumber = Math.max(manifest.nextFileNumber, ...onDisk.map((n) => n + 1));
    const tree = new LsmTree(resolved, Version.of(handles), nextFileNumber, cache);
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
    return {
      flushes: this.#flushes,
      compactions: this.#compactions,
      bytesFlushed: this.#bytesFlushed,
      bytesCompacted: this.#bytesCompacted,
      maxBackgroundSliceMs: this.#maxSliceMs,
    };
  }

  /** Sets `key` to a copy of `value`. Synchronous; a full memtable is handed to a background flush. */
  put(key: Uint8Array, value: Uint8Array): void {
    this.#checkWritable();
    checkBytes(key, 'key');
    checkBytes(value, 'value');
    this.#memtable.put(key.slice(), value.slice());
    if (this.#memtable.approximateBytes > this.#memtableBytes) this.#freeze();
  }

  /** Deletes `key` (writes a tombstone). */
  delete(key: Uint8Array): void {
    this.#checkWritable();
    checkBytes(key, 'key');
    this.#memtable.put(key.slice(), null);
    if (this.#memtable.approximateBytes > this.#memtableBytes) this.#freeze();
  }

  /** The newest value of `key` (a copy the caller owns), or undefined if absent or deleted. */
  get(key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen();
    checkBytes(key, 'key');
    let value = this.#memtable.get(key);
    if (value !== undefined) return value === null ? undefined : value.slice();
    for (const m of this.#immutables) {
      value = m.get(key);
      if (value !== undefined) return value === null ? undefined : value.slice();
    }
    const result = this.#version.get(key, bloomHash(key));
    return result.found && result.value !== null ? result.value : undefined;
  }

  /**
   * Live entries with from ≤ key < to, ascending, newest value per key, as copies. The memtable
   * list and file version are captured now; writes during iteration may or may not be seen.
   */
  scan(from: Uint8Array, to: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    this.#checkOpen();
    checkBytes(from, 'from');
    checkBytes(to, 'to');
    if (compareKeys(from, to) >= 0) return [][Symbol.iterator]();
    const sources: Iterator<Entry>[] = [this.#memtable, ...this.#immutables].map((m) => copied(m.entries(from, to)));
    sources.push(...this.#version.sources(from, to));
    return liveEntries(mergeNewestFirst(sources));
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
   * Flushes the memtable, abandons a running compaction at its next yield (its partial outputs
   * are removed now or on the next open), waits for the manifest, and releases the cache.
   */
  async close(): Promise<void> {
    if (this.#closed || this.#closing) return;
    this.#closing = true;
    try {
      if (this.#backgroundError === undefined) this.#freeze();
      await this.#flushChain;
      await this.#compaction;
      await this.#installChain;
    } finally {
      this.#closed = true;
      this.#cache.clear();
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
    const writer = new SstWriter(this.#writerOptions);
    let sliceStart = performance.now();
    let count = 0;
    for (const [key, value] of frozen.entries()) {
      writer.add(key, value);
      if ((++count & 255) === 0 && performance.now() - sliceStart >= TIME_SLICE_MS) {
        this.#recordSlice(performance.now() - sliceStart);
        await yieldToEventLoop(); // the memtable is frozen: iterating it across yields is safe
        sliceStart = performance.now();
      }
    }
    const bytes = writer.finish();
    this.#recordSlice(performance.now() - sliceStart);
    const handle = await this.#writeTable(bytes, 0);
    await this.#install([], [handle], () => {
      this.#immutables = this.#immutables.filter((m) => m !== frozen);
    });
    this.#flushes++;
    this.#bytesFlushed += bytes.byteLength;
    this.#maybeScheduleCompaction();
  }

  /** Writes a finished SST under a new file number, fsynced, and opens it. Listed nowhere until installed. */
  async #writeTable(bytes: Uint8Array, level: number): Promise<SstHandle> {
    const fileNumber = this.#nextFileNumber++;
    const name = sstFileName(fileNumber);
    const path = join(this.#directory, name);
    try {
      await writeFileSynced(path, bytes);
    } catch (error) {
      await fsp.rm(path, { force: true }).catch(() => {});
      throw ioError(`write the SST file ${path}`, error, path);
    }
    const reader = SstReader.open(bytes, name, { blockCache: this.#cache });
    return { level, fileNumber, byteLength: bytes.byteLength, smallest: reader.smallestKey, largest: reader.largestKey, name, reader };
  }

  /**
   * Publishes a version without `removed` and with `added` once its MANIFEST is durable, runs
   * `onPublish` in the same synchronous step, then deletes the removed files: a crash before the
   * rename keeps the old manifest and its files; after it, the removed files are orphans that the
   * next open deletes.
   */
  #install(removed: readonly SstHandle[], added: readonly SstHandle[], onPublish?: () => void): Promise<void> {
    const run = async (): Promise<void> => {
      const next = this.#version.apply(removed, added);
      await writeManifest(this.#directory, next.toManifest(this.#nextFileNumber));
      this.#version = next;
      onPublish?.();
      await Promise.all(
        removed.map(async (f) => {
          this.#cache.deleteFile(f.name);
          // Best effort: a file that survives is an orphan, removed on the next open.
          await fsp.rm(join(this.#directory, f.name), { force: true }).catch(() => {});
        }),
      );
    };
    const installed = this.#installChain.then(run);
    this.#installChain = installed.catch(() => {});
    return installed;
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
    const written: SstHandle[] = [];
    let installing = false;
    let result;
    try {
      result = await runCompaction(plan, {
        writerOptions: this.#writerOptions,
        targetFileBytes: this.#memtableBytes,
        writeTable: async (bytes, level) => {
          const handle = await this.#writeTable(bytes, level);
          written.push(handle);
          return handle;
        },
        checkContinue: () => {
          if (this.#closing) throw new CompactionAbandoned();
        },
        recordSlice: (ms) => this.#recordSlice(ms),
      });
      installing = true;
      await this.#install([...plan.inputs, ...plan.overlaps], result.outputs);
    } catch (error) {
      // Outputs no manifest lists are never read: remove them now rather than on the next open.
      // Once the install started, a failed manifest write may still have renamed the new manifest
      // into place, so its outputs stay until the next open decides from the manifest on disk.
      if (!installing) await Promise.all(written.map((f) => fsp.rm(join(this.#directory, f.name), { force: true }).catch(() => {})));
      throw error;
    }
    if (plan.level > 0) this.#cursors[plan.level] = plan.inputs[plan.inputs.length - 1]!.largest;
    this.#compactions++;
    this.#bytesCompacted += result.bytesWritten;
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

function* copied(entries: Iterator<Entry>): Generator<Entry> {
  for (let step = entries.next(); step.done !== true; step = entries.next()) {
    const [key, value] = step.value;
    yield [key.slice(), value === null ? null : value.slice()];
  }
}

function* liveEntries(merged: Iterator<Entry>): Generator<[Uint8Array, Uint8Array]> {
  for (let step = merged.next(); step.done !== true; step = merged.next()) {
    const [key, value] = step.value;
    if (value !== null) yield [key, value];
  }
}

/** Reads and verifies every file the manifest lists; a missing or mismatching file is corruption. */
async function openFiles(directory: string, manifest: ManifestData, cache: LruBlockCache): Promise<SstHandle[]> {
  return Promise.all(
    manifest.files.map(async (f): Promise<SstHandle> => {
      const name = sstFileName(f.fileNumber);
      const path = join(directory, name);
      let bytes: Uint8Array;
      try {
        bytes = await fsp.readFile(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `LSM manifest ${join(directory, MANIFEST_FILE)} lists ${name}, which is missing`, { cause: error, context: { file: path } });
        }
        throw ioError(`read the SST file ${path}`, error, path);
      }
      if (bytes.byteLength !== f.byteLength) {
        throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `SST file ${path} is ${bytes.byteLength} bytes, the manifest says ${f.byteLength}`, { context: { file: path } });
      }
      const reader = SstReader.open(bytes, name, { blockCache: cache });
      if (compareKeys(reader.smallestKey, f.smallest) !== 0 || compareKeys(reader.largestKey, f.largest) !== 0) {
        throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `SST file ${path} does not hold the key range the manifest records`, { context: { file: path } });
      }
      return { ...f, name, reader };
    }),
  );
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
  const resolved: Required<LsmTreeOptions> = {
    directory: options.directory,
    memtableBytes: integer('memtableBytes', DEFAULT_MEMTABLE_BYTES, 1024),
    blockCacheBytes: integer('blockCacheBytes', DEFAULT_BLOCK_CACHE_BYTES, 0),
    blockBytes: integer('blockBytes', 8 * 1024, 64),
    bloomBitsPerKey: options.bloomBitsPerKey ?? 10,
    l0CompactionTrigger: integer('l0CompactionTrigger', DEFAULT_L0_TRIGGER, 1),
    levelSizeMultiplier: integer('levelSizeMultiplier', DEFAULT_LEVEL_MULTIPLIER, 2),
  };
  new SstWriter({ blockBytes: resolved.blockBytes, bloomBitsPerKey: resolved.bloomBitsPerKey }); // validates both
  return resolved;
}

function checkBytes(bytes: unknown, name: string): void {
  if (!(bytes instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', `LsmTree ${name} must be a Uint8Array`);
}
