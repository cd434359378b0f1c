/**
 * `SortedKv` in memory: the stand-in for the LSM tree, used by the conformance tests and as a
 * fallback. Runs on the subtask's worker thread. Point operations go through a hash map (O(1));
 * key order is kept in a sorted array that new keys join lazily, at the next scan, so a bulk
 * fill costs one sort instead of one array insert per key, and workloads that never scan
 * (ValueState, ReducingState) never pay for order at all.
 */
import { compareKeys } from './sst-block.ts';
import type { SortedKv } from './sorted-kv.ts';

interface Entry {
  readonly key: Uint8Array;
  /** Undefined once deleted; the entry stays in `#sorted`/`#pending` until the next merge. */
  value: Uint8Array | undefined;
}

/** Up to this many new keys join the sorted array by binary-search insert, beyond by sort + merge. */
const INSERT_LIMIT = 16;

export class MemorySortedKv implements SortedKv {
  /** By the key's bytes as a latin1 string (one char per byte, so distinct keys never collide). */
  readonly #entries = new Map<string, Entry>();
  /** Entries in key order, some possibly deleted. */
  #sorted: Entry[] = [];
  /** Entries whose key is not in `#sorted` yet, in no order. */
  #pending: Entry[] = [];
  #deleted = 0;
  /** Bumped whenever `#sorted` is rebuilt, so an open scan knows its index may be stale. */
  #version = 0;

  get size(): number {
    return this.#entries.size - this.#deleted;
  }

  put(key: Uint8Array, value: Uint8Array): void {
    const id = idOf(key);
    const entry = this.#entries.get(id);
    if (entry === undefined) {
      const created: Entry = { key, value };
      this.#entries.set(id, created);
      this.#pending.push(created);
      return;
    }
    if (entry.value === undefined) this.#deleted--;
    entry.value = value;
  }

  delete(key: Uint8Array): void {
    const entry = this.#entries.get(idOf(key));
    if (entry === undefined || entry.value === undefined) return;
    // Marked, not removed: an open scan's index into #sorted stays valid.
    entry.value = undefined;
    this.#deleted++;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.#entries.get(idOf(key))?.value;
  }

  *scan(from: Uint8Array, to: Uint8Array): IterableIterator<[Uint8Array, Uint8Array]> {
    this.#settle();
    let version = this.#version;
    let i = lowerBound(this.#sorted, from, false);
    let last: Uint8Array | undefined;
    for (;;) {
      // A scan started inside this one may have rebuilt #sorted: find our place again after the
      // last key yielded. Keys put since this scan began may or may not be seen (SortedKv).
      if (version !== this.#version) {
        version = this.#version;
        i = last === undefined ? lowerBound(this.#sorted, from, false) : lowerBound(this.#sorted, last, true);
      }
      const entry = this.#sorted[i++];
      if (entry === undefined || compareKeys(entry.key, to) >= 0) return;
      if (entry.value === undefined) continue;
      last = entry.key;
      yield [entry.key, entry.value];
    }
  }

  /** Brings pending keys into order and drops deleted entries once they are many. */
  #settle(): void {
    const pending = this.#pending;
    if (pending.length === 0 && this.#deleted * 2 <= this.#sorted.length) return;
    this.#version++;
    if (pending.length <= INSERT_LIMIT && this.#deleted * 2 <= this.#sorted.length) {
      for (const entry of pending) this.#sorted.splice(lowerBound(this.#sorted, entry.key, false), 0, entry);
      this.#pending = [];
      return;
    }
    pending.sort((a, b) => compareKeys(a.key, b.key));
    const merged: Entry[] = [];
    const sorted = this.#sorted;
    let a = 0;
    let b = 0;
    while (a < sorted.length || b < pending.length) {
      const entry = b >= pending.length || (a < sorted.length && compareKeys(sorted[a]!.key, pending[b]!.key) < 0) ? sorted[a++]! : pending[b++]!;
      if (entry.value !== undefined) merged.push(entry);
      else this.#entries.delete(idOf(entry.key));
    }
    this.#sorted = merged;
    this.#pending = [];
    this.#deleted = 0; // every deleted entry, sorted or pending, was dropped by the merge
  }
}

function idOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** The first index whose key is >= `key` (> `key` when `after`). */
function lowerBound(entries: readonly Entry[], key: Uint8Array, after: boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(entries[mid]!.key, key);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
