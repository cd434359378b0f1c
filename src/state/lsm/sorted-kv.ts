/**
 * The storage contract the LSM keyed state backend needs: an ordered map from byte keys to byte
 * values under the unsigned-byte order of `compareKeys` (sst-block.ts). Satisfied by the LSM
 * tree (lsm-tree.ts) and by `MemorySortedKv` (tests, fallback). Used on the subtask's worker
 * thread only; implementations need not be thread-safe.
 */

/**
 * Ownership: `put` takes ownership of `key` and `value` (the caller never mutates them
 * afterwards, so an implementation may keep them without copying); arrays returned by `get` and
 * yielded by `scan` are read-only for the caller and may be views into shared storage.
 */
export interface SortedKv {
  put(key: Uint8Array, value: Uint8Array): void;
  delete(key: Uint8Array): void;
  get(key: Uint8Array): Uint8Array | undefined;
  /**
   * Every entry with `from <= key < to`, in ascending key order. Writes made while the iterator
   * is open may or may not be seen by it, but an open scan never fails and never yields a key
   * twice; callers that delete what they scan collect the keys first.
   */
  scan(from: Uint8Array, to: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]>;
}
