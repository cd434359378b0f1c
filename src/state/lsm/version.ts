/**
 * One immutable snapshot of the LSM tree's SST files per level (a LevelDB "version"), the point
 * and range reads over it, and the newest-wins merge of sorted sources that scans and compaction
 * share. Runs on the subtask's worker thread; `LsmTree` swaps in a new version after every
 * durable manifest write, and a scan keeps reading the version it started on.
 *
 * Invariants: L0 files may overlap and are ordered newest first (descending file number, which
 * is flush order); each level ≥ 1 holds non-overlapping files in ascending key order. A key's
 * newest version is in the shallowest level that has it, and in L0 in the newest file.
 */
import { MAX_LEVELS, type ManifestData, type ManifestFile } from './manifest.ts';
import type { SstGetResult, SstReader } from './sst-format.ts';
import { compareKeys } from './sst-block.ts';

/** An SST entry; a null value is a tombstone. */
export type Entry = [Uint8Array, Uint8Array | null];

/** A live SST file: its manifest record plus the opened reader (index and filter in memory, verified). */
export interface SstHandle extends ManifestFile {
  readonly name: string;
  readonly reader: SstReader;
  /** Always known for an opened file (hashed on open when an old manifest lacked it). */
  readonly checksum: string;
}

const NOT_FOUND: SstGetResult = Object.freeze({ found: false });

export class Version {
  /** levels[0] newest first; levels[n ≥ 1] ascending, non-overlapping. */
  readonly levels: readonly (readonly SstHandle[])[];

  private constructor(levels: readonly (readonly SstHandle[])[]) {
    this.levels = levels;
  }

  static empty(): Version {
    return new Version(Array.from({ length: MAX_LEVELS }, () => []));
  }

  /** A version of exactly `files`, each placed and ordered by its level's rule. */
  static of(files: readonly SstHandle[]): Version {
    return Version.empty().apply([], files);
  }

  /** A new version without the files numbered in `removed` and with `added`. */
  apply(removed: readonly SstHandle[], added: readonly SstHandle[]): Version {
    const gone = new Set(removed.map((f) => f.fileNumber));
    const levels = this.levels.map((files) => files.filter((f) => !gone.has(f.fileNumber)));
    for (const f of added) levels[f.level]!.push(f);
    levels[0]!.sort((a, b) => b.fileNumber - a.fileNumber);
    for (let level = 1; level < levels.length; level++) levels[level]!.sort((a, b) => compareKeys(a.smallest, b.smallest));
    return new Version(levels);
  }

  files(): SstHandle[] {
    return this.levels.flat();
  }

  levelBytes(level: number): number {
    let bytes = 0;
    for (const f of this.levels[level]!) bytes += f.byteLength;
    return bytes;
  }

  toManifest(nextFileNumber: number): ManifestData {
    return {
      nextFileNumber,
      files: this.files().map(({ level, fileNumber, byteLength, smallest, largest, checksum }) => ({ level, fileNumber, byteLength, smallest, largest, checksum })),
    };
  }

  /**
   * Newest version of `key` in the files: `{ found: true, value: null }` for a tombstone. The
   * value is a read-only view of its block (see `SstReader.get`).
   */
  get(key: Uint8Array, hash: number): SstGetResult {
    for (const f of this.levels[0]!) {
      const result = f.reader.get(key, hash, true);
      if (result.found) return result;
    }
    for (let level = 1; level < this.levels.length; level++) {
      const files = this.levels[level]!;
      if (files.length === 0) continue;
      const f = files[firstEndingAtOrAfter(files, key)];
      if (f === undefined || compareKeys(key, f.smallest) < 0) continue;
      const result = f.reader.get(key, hash, true);
      if (result.found) return result;
    }
    return NOT_FOUND;
  }

  /** Files of `level` whose key range meets [smallest, largest] (both inclusive). */
  overlapping(level: number, smallest: Uint8Array, largest: Uint8Array): SstHandle[] {
    return this.levels[level]!.filter((f) => compareKeys(f.largest, smallest) >= 0 && compareKeys(f.smallest, largest) <= 0);
  }

  /** Sorted sources over [from, to), newest first: each L0 file, then one per non-empty deeper level. */
  sources(from: Uint8Array, to: Uint8Array): Iterator<Entry>[] {
    const sources: Iterator<Entry>[] = this.levels[0]!.filter((f) => overlapsRange(f, from, to)).map((f) => f.reader.entries(from, to));
    for (let level = 1; level < this.levels.length; level++) {
      const files = this.levels[level]!.filter((f) => overlapsRange(f, from, to));
      if (files.length > 0) sources.push(concatenated(files, from, to));
    }
    return sources;
  }
}

/**
 * Entries of non-overlapping, ascending files in order, optionally bounded to [from, to). Every
 * file's iterator is created (and holds its reader) now, not when the walk reaches it, so a file
 * compaction removes meanwhile is still readable.
 */
export function concatenated(files: readonly Pick<SstHandle, 'reader'>[], from?: Uint8Array, to?: Uint8Array, fillCache = true, views = false): IterableIterator<Entry> {
  return new ConcatenatedIterator(files.map((f) => f.reader.entries(from, to, fillCache, views)));
}

class ConcatenatedIterator implements IterableIterator<Entry> {
  readonly #parts: Iterator<Entry>[];
  #at = 0;

  constructor(parts: Iterator<Entry>[]) {
    this.#parts = parts;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<Entry> {
    while (this.#at < this.#parts.length) {
      const step = this.#parts[this.#at]!.next();
      if (step.done !== true) return step;
      this.#at++;
    }
    return { done: true, value: undefined };
  }

  return(): IteratorResult<Entry> {
    for (; this.#at < this.#parts.length; this.#at++) this.#parts[this.#at]!.return?.();
    return { done: true, value: undefined };
  }
}

/**
 * Merges ascending sources into one ascending stream with one entry per key: where several
 * sources hold a key, the lowest-indexed (newest) wins and the others are skipped. Tombstones
 * pass through unless `dropTombstones`. A linear scan of the heads per entry: with the usual
 * dozen sources (memtables, ≤ 8 L0 files, ≤ 6 levels) it beats a heap's bookkeeping. Returning
 * the merged iterator (a `for … of` left early, an abandoned compaction) returns every source,
 * which lets go of their files.
 */
export function mergeNewestFirst(sources: readonly Iterator<Entry>[], dropTombstones = false): IterableIterator<Entry> {
  return new MergingIterator(sources, dropTombstones);
}

class MergingIterator implements IterableIterator<Entry> {
  readonly #sources: readonly Iterator<Entry>[];
  readonly #heads: (Entry | undefined)[];
  readonly #dropTombstones: boolean;
  /** 1 for each source whose head the last entry consumed: advanced at the next `next()`. */
  readonly #consumed: Uint8Array;
  #started = false;
  #done = false;

  constructor(sources: readonly Iterator<Entry>[], dropTombstones: boolean) {
    this.#sources = sources;
    this.#heads = new Array<Entry | undefined>(sources.length).fill(undefined);
    this.#consumed = new Uint8Array(sources.length);
    this.#dropTombstones = dropTombstones;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<Entry> {
    if (this.#done) return { done: true, value: undefined };
    const heads = this.#heads;
    const sources = this.#sources;
    try {
      if (!this.#started) {
        this.#started = true;
        for (let i = 0; i < sources.length; i++) heads[i] = advance(sources[i]!);
      }
      const consumed = this.#consumed;
      for (;;) {
        // Sources are advanced only now, not when their entry was returned: an entry may be a
        // view of its source's buffers (compaction's iterators), valid until the next `next()`.
        for (let i = 0; i < consumed.length; i++) {
          if (consumed[i] === 0) continue;
          consumed[i] = 0;
          heads[i] = advance(sources[i]!);
        }
        let min = -1;
        let minKey: Uint8Array | undefined;
        for (let i = 0; i < heads.length; i++) {
          const head = heads[i];
          if (head !== undefined && (minKey === undefined || compareKeys(head[0], minKey) < 0)) {
            min = i;
            minKey = head[0];
          }
        }
        if (minKey === undefined) return this.return();
        const winner = heads[min]!;
        consumed[min] = 1;
        for (let i = min + 1; i < heads.length; i++) {
          const head = heads[i];
          if (head !== undefined && compareKeys(head[0], minKey) === 0) consumed[i] = 1;
        }
        if (winner[1] !== null || !this.#dropTombstones) return { done: false, value: winner };
      }
    } catch (error) {
      this.return();
      throw error;
    }
  }

  return(): IteratorResult<Entry> {
    if (!this.#done) {
      this.#done = true;
      for (const source of this.#sources) source.return?.();
    }
    return { done: true, value: undefined };
  }
}

function advance(source: Iterator<Entry>): Entry | undefined {
  const step = source.next();
  return step.done === true ? undefined : step.value;
}

function overlapsRange(f: SstHandle, from: Uint8Array, to: Uint8Array): boolean {
  return compareKeys(f.largest, from) >= 0 && compareKeys(f.smallest, to) < 0;
}

/** Index of the first file whose largest key is ≥ key (files.length if none). */
function firstEndingAtOrAfter(files: readonly SstHandle[], key: Uint8Array): number {
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(files[mid]!.largest, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
