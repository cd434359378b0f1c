/**
 * An LRU cache of decompressed SST data blocks, bounded by bytes: the block-cache half of the
 * LSM tree's memory budget. One per LSM tree, on the subtask's worker thread; `SstReader` calls
 * it through the `BlockCacheHook` interface, with ids `<file name>#<block offset>`.
 */
import { WeirError } from '../../errors.ts';

/** What `SstReader` needs from a cache of decompressed blocks. Cached bytes must not be mutated. */
export interface BlockCacheHook {
  get(id: string): Uint8Array | undefined;
  set(id: string, bytes: Uint8Array): void;
}

/**
 * Least-recently-used by bytes, approximated by second chance (CLOCK): a hit only sets the
 * block's referenced bit (one Map lookup, where moving it to the back of the Map's insertion
 * order cost a delete and a set on every hit, the common case of a point read); eviction walks
 * from the oldest insertion, giving a referenced block one more round at the back instead of
 * evicting it. Blocks never hit since insertion leave in insertion order.
 */
export class LruBlockCache implements BlockCacheHook {
  readonly #capacityBytes: number;
  readonly #entries = new Map<string, CachedBlock>();
  #usedBytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `block cache capacityBytes must be a non-negative integer, got ${String(capacityBytes)}`);
    }
    this.#capacityBytes = capacityBytes;
  }

  get(id: string): Uint8Array | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    entry.referenced = true;
    return entry.bytes;
  }

  /** Inserts or replaces `id`; a block larger than the whole capacity is not cached at all. */
  set(id: string, bytes: Uint8Array): void {
    this.delete(id);
    if (bytes.byteLength > this.#capacityBytes) return;
    this.#entries.set(id, { bytes, referenced: false });
    this.#usedBytes += bytes.byteLength;
    this.#evict(id);
  }

  delete(id: string): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    this.#entries.delete(id);
    this.#usedBytes -= entry.bytes.byteLength;
    return true;
  }

  /** Drops every block of one file (ids starting with `<name>#`), e.g. after compaction deleted it. */
  deleteFile(name: string): number {
    const prefix = `${name}#`;
    let dropped = 0;
    for (const id of [...this.#entries.keys()]) {
      if (id.startsWith(prefix)) dropped += this.delete(id) ? 1 : 0;
    }
    return dropped;
  }

  clear(): void {
    this.#entries.clear();
    this.#usedBytes = 0;
  }

  get usedBytes(): number {
    return this.#usedBytes;
  }

  get capacityBytes(): number {
    return this.#capacityBytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get hits(): number {
    return this.#hits;
  }

  get misses(): number {
    return this.#misses;
  }

  /** Evicts until within capacity, never `inserted` (the block being added, which fits). */
  #evict(inserted: string): void {
    const entries = this.#entries;
    while (this.#usedBytes > this.#capacityBytes) {
      // The first entry is the oldest (re)insertion: evict it unless it was hit since.
      const [id, entry] = entries.entries().next().value as [string, CachedBlock];
      entries.delete(id);
      if (entry.referenced || id === inserted) {
        entry.referenced = false;
        entries.set(id, entry);
      } else {
        this.#usedBytes -= entry.bytes.byteLength;
      }
    }
  }
}

interface CachedBlock {
  readonly bytes: Uint8Array;
  referenced: boolean;
}
