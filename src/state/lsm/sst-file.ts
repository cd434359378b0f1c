/**
 * SST file I/O: `FdSource`, the on-disk source `SstReader` reads blocks from, and `SstFileWriter`, which streams an `SstWriter`'s data
 * blocks to disk as they fill, hashing the file as it goes, so finishing a table only writes its
 * index, filter and footer. Runs on the subtask's worker thread; `LsmTree` calls it for flush and
 * compaction outputs and to open its files.
 *
 * Reads are synchronous `fs.readSync` calls on an fd opened once per file (what RocksDB does on
 * its reading thread; a block read from the page cache is a few microseconds). Writes are async,
 * so each batch of blocks written is also a yield to the event loop.
 */
import { closeSync, fstatSync, openSync, promises as fsp, readSync } from 'node:fs';
import xxhash, { type XXHashAPI } from 'xxhash-wasm';
import { WeirError } from '../../errors.ts';
import { SstWriter, type SstSource, type SstWriterOptions } from './sst-format.ts';

/** A file on disk, read with positioned `readSync` on a descriptor opened at construction. */
export class FdSource implements SstSource {
  readonly #path: string;
  readonly byteLength: number;
  #fd: number | undefined;

  /** Opens `path` read-only; throws WEIR_CHECKPOINT_CORRUPT if it is missing, WEIR_CHECKPOINT_IO otherwise. */
  constructor(path: string) {
    this.#path = path;
    try {
      this.#fd = openSync(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `SST file ${path} is missing`, { cause: error, context: { file: path } });
      }
      throw readError(path, error);
    }
    try {
      this.byteLength = fstatSync(this.#fd).size;
    } catch (error) {
      this.close();
      throw readError(path, error);
    }
  }

  read(offset: number, length: number): Uint8Array {
    const fd = this.#fd;
    if (fd === undefined) throw new WeirError('WEIR_INTERNAL', `SST file ${this.#path} was read after its reader closed`);
    const out = new Uint8Array(length);
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) break;
        done += n;
      }
    } catch (error) {
      throw readError(this.#path, error);
    }
    if (done !== length) {
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `SST file ${this.#path} ended after ${offset + done} bytes, reading ${length} bytes at ${offset}`, { context: { file: this.#path } });
    }
    return out;
  }

  close(): void {
    const fd = this.#fd;
    if (fd === undefined) return;
    this.#fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Nothing useful to do: the descriptor is gone either way.
    }
  }
}

// ── streaming checksum ───────────────────────────────────────────────────────────────────────

let api: XXHashAPI | undefined;

/** Loads the streaming xxHash64 once per thread; `SstFileWriter` and `fileChecksum` need it. */
export async function loadStreamingChecksum(): Promise<void> {
  api ??= await xxhash();
}

function hasher(): ReturnType<XXHashAPI['create64']> {
  if (api === undefined) throw new WeirError('WEIR_INTERNAL', 'SST checksum used before loadStreamingChecksum() resolved on this thread');
  // Each hasher keeps its own state outside the shared WebAssembly memory, so interleaved hashers
  // (a flush and a compaction writing at once) do not disturb each other.
  return api.create64();
}

function hex(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

/** xxHash64 (16 hex digits) of the whole file at `path`, read in 1 MiB pieces without holding it. */
export async function fileChecksum(path: string): Promise<string> {
  const h = hasher();
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(path, 'r');
    const buffer = new Uint8Array(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, null);
      if (bytesRead === 0) break;
      h.update(buffer.subarray(0, bytesRead));
    }
  } catch (error) {
    throw readError(path, error);
  } finally {
    await handle?.close().catch(() => {});
  }
  return hex(h.digest());
}

// ── writer ───────────────────────────────────────────────────────────────────────────────────

/**
 * How a background job paces the writer: every await goes through `wait` (so the job can time
 * its synchronous stretches), and long synchronous steps call `maybeYield` between pieces.
 * `SliceTimer` (compaction.ts) is one; the default waits plainly and never yields.
 */
export interface Pacer {
  wait<T>(promise: Promise<T>): Promise<T>;
  maybeYield(): Promise<boolean>;
}

const UNPACED: Pacer = { wait: (promise) => promise, maybeYield: async () => false };

/** What a finished `SstFileWriter` wrote. */
export interface WrittenSst {
  readonly byteLength: number;
  /** xxHash64 of the file's bytes, 16 hex digits. */
  readonly checksum: string;
}

/**
 * Writes one SST file as it is built: `add` is synchronous (the caller yields between batches);
 * `writeBuffered` appends the finished data blocks so far; `finish` writes index, filter, footer
 * and fsyncs. On failure the caller `discard`s, which closes and removes the file.
 */
export class SstFileWriter {
  readonly path: string;
  readonly #writer: SstWriter;
  readonly #handle: fsp.FileHandle;
  readonly #hash = hasher();
  readonly #pacer: Pacer;
  #written = 0;
  #closed = false;

  private constructor(path: string, handle: fsp.FileHandle, options: SstWriterOptions, pacer: Pacer) {
    this.path = path;
    this.#handle = handle;
    this.#writer = new SstWriter(options);
    this.#pacer = pacer;
  }

  /** Creates (or truncates) `path`. Every await of the writer goes through `pacer`. */
  static async create(path: string, options: SstWriterOptions, pacer: Pacer = UNPACED): Promise<SstFileWriter> {
    let handle: fsp.FileHandle;
    try {
      handle = await pacer.wait(fsp.open(path, 'w'));
    } catch (error) {
      throw writeError(path, error);
    }
    return new SstFileWriter(path, handle, options, pacer);
  }

  get entryCount(): number {
    return this.#writer.entryCount;
  }

  /** Bytes of the file so far: written plus finished blocks not yet written. */
  get fileBytes(): number {
    return this.#writer.dataBytes;
  }

  /** Finished data blocks not yet written. */
  get bufferedBytes(): number {
    return this.#writer.dataBytes - this.#written;
  }

  add(key: Uint8Array, value: Uint8Array | null): void {
    this.#writer.add(key, value);
  }

  /** Appends the data blocks finished so far to the file. */
  async writeBuffered(): Promise<void> {
    await this.#append(this.#writer.takeChunks());
  }

  /**
   * Writes the rest of the table (building the filter in paced steps), fsyncs (unless `sync` is
   * false: the caller then syncs it with `syncFile` before listing it anywhere) and closes it.
   */
  async finish(sync = true): Promise<WrittenSst> {
    for (const _ of this.#writer.prepareFinish()) await this.#pacer.maybeYield();
    await this.#append([...this.#writer.takeChunks(), this.#writer.finish()]);
    try {
      if (sync) await this.#pacer.wait(this.#handle.sync());
    } catch (error) {
      throw writeError(this.path, error);
    }
    await this.#close();
    return { byteLength: this.#written, checksum: hex(this.#hash.digest()) };
  }

  /** Closes and removes the file (best effort): after a failure or an abandoned compaction. */
  async discard(): Promise<void> {
    await this.#close().catch(() => {});
    await fsp.rm(this.path, { force: true }).catch(() => {});
  }

  async #append(chunks: readonly Uint8Array[]): Promise<void> {
    let total = 0;
    for (const c of chunks) total += c.byteLength;
    if (total === 0) return;
    let bytes: Uint8Array;
    if (chunks.length === 1) {
      bytes = chunks[0]!;
    } else {
      bytes = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        bytes.set(c, at);
        at += c.byteLength;
      }
    }
    this.#hash.update(bytes);
    try {
      let done = 0;
      while (done < total) {
        const { bytesWritten } = await this.#pacer.wait(this.#handle.write(bytes, done, total - done, this.#written + done));
        done += bytesWritten;
      }
    } catch (error) {
      throw writeError(this.path, error);
    }
    this.#written += total;
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#pacer.wait(this.#handle.close());
    } catch (error) {
      throw writeError(this.path, error);
    }
  }
}

/**
 * fsyncs a written file through a new descriptor (fsync makes the file's data durable whichever
 * descriptor asks): lets a compaction write all its outputs first and sync them together, so the
 * disk's flush latency is paid once per compaction rather than once per output.
 */
export async function syncFile(path: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(path, 'r+');
    await handle.sync();
  } catch (error) {
    throw writeError(path, error);
  } finally {
    await handle?.close().catch(() => {});
  }
}

function readError(path: string, cause: unknown): WeirError {
  if (cause instanceof WeirError) return cause;
  return new WeirError('WEIR_CHECKPOINT_IO', `could not read the SST file ${path}: ${(cause as Error)?.message ?? String(cause)}`, { cause, context: { file: path } });
}

function writeError(path: string, cause: unknown): WeirError {
  if (cause instanceof WeirError) return cause;
  return new WeirError('WEIR_CHECKPOINT_IO', `could not write the SST file ${path}: ${(cause as Error)?.message ?? String(cause)}`, { cause, context: { file: path } });
}
