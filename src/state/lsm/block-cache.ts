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
 * Least-recently-used by bytes. A Map keeps insertion order, so re-inserting on a hit makes the
 * first key the least recently used: O(1) get, set and eviction without a linked list.
 */
export class LruBlockCache implements BlockCacheHook {
  readonly #capacityBytes: number;
  readonly #entries = new Map<string, Uint8Array>();
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
    const bytes = this.#entries.get(id);
    if (bytes === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#entries.delete(id);
    this.#entries.set(id, bytes);
    return bytes;
  }

  /** Inserts or replaces `id`; a block larger than the whole capacity is not cached at all. */
  set(id: string, bytes: Uint8Array): void {
    this.delete(id);
    if (bytes.byteLength > this.#capacityBytes) return;
    this.#entries.set(id, bytes);
    this.#usedBytes += bytes.byteLength;
    this.#evict();
  }

  delete(id: string): boolean {
    const bytes = this.#entries.get(id);
    if (bytes === undefined) return false;
    this.#entries.delete(id);
    this.#usedBytes -= bytes.byteLength;
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

  #evict(): void {
    if (this.#usedBytes <= this.#capacityBytes) return;
    for (const [id, bytes] of this.#entries) {
      this.#entries.delete(id);
      this.#usedBytes -= bytes.byteLength;
      if (this.#usedBytes <= this.#capacityBytes) return;
    }
  }
}
