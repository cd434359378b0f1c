/**
 * What a window holds, as keyed state of the WindowOperator: for `reduce` the reduced value, for
 * `aggregate` the accumulator (both folded as records arrive), for `process` (and evicting count
 * windows) the records themselves. Each lives in one backend MapState, `__weir.window.contents`,
 * under the window's namespace, so it is checkpointed, restored and rescaled with its key.
 * Subtask worker thread; user-function errors propagate raw (the operator attributes them).
 *
 * Records are kept in chunks so an append costs O(1) with either backend (the lsm backend
 * rewrites a whole entry on every put):
 *
 *   namespace               → { full: n, tail: [records…] }   (tail has fewer than CHUNK records)
 *   namespace U+0000 i      → [CHUNK records]                  for i in [0, n)
 */
import { WeirError } from '../../errors.ts';
import type { AggregateFunction, MapState, ReduceFunction } from '../../state/state.ts';

export const CONTENTS_STATE = '__weir.window.contents';

/** A window's contents, whichever the function. */
export interface WindowContents {
  /** Adds `value` to window `namespace`; true when the window held contents before. */
  add(namespace: string, value: unknown): boolean;
  /** True when window `namespace` holds nothing. */
  isEmpty(namespace: string): boolean;
  clear(namespace: string): void;
  /** Moves the contents of windows `sources` into window `target` (session windows merging). */
  merge(target: string, sources: readonly string[]): void;
}

function notUndefined(what: string, value: unknown): void {
  if (value === undefined) {
    throw new WeirError('WEIR_USER_FUNCTION_FAILED', `${what} returned undefined: it must return the new value`);
  }
}

/** The single reduced value per window (Flink's ReducingState per window). */
export class ReduceContents implements WindowContents {
  readonly #state: MapState<string, unknown>;
  readonly #reduce: ReduceFunction<unknown>;

  constructor(state: MapState<string, unknown>, reduce: ReduceFunction<unknown>) {
    this.#state = state;
    this.#reduce = reduce;
  }

  add(namespace: string, value: unknown): boolean {
    if (value === undefined) throw new WeirError('WEIR_INVALID_ARGUMENT', 'a window with a reduce function cannot hold an undefined record');
    const current = this.#state.get(namespace);
    if (current === undefined) {
      this.#state.put(namespace, value);
      return false;
    }
    const reduced = this.#reduce(current, value);
    notUndefined('the window reduce function', reduced);
    this.#state.put(namespace, reduced);
    return true;
  }

  /** The reduced value, or undefined when the window is empty. */
  get(namespace: string): unknown {
    return this.#state.get(namespace);
  }

  isEmpty(namespace: string): boolean {
    return this.#state.get(namespace) === undefined;
  }

  clear(namespace: string): void {
    this.#state.remove(namespace);
  }

  merge(target: string, sources: readonly string[]): void {
    let merged = this.#state.get(target);
    for (const source of sources) {
      const value = this.#state.get(source);
      if (value === undefined) continue;
      this.#state.remove(source);
      merged = merged === undefined ? value : this.#reduce(merged, value);
      notUndefined('the window reduce function', merged);
    }
    if (merged !== undefined) this.#state.put(target, merged);
  }
}

/** One accumulator per window (Flink's AggregatingState per window). */
export class AggregateContents implements WindowContents {
  readonly #state: MapState<string, unknown>;
  readonly #aggregate: AggregateFunction<unknown, unknown, unknown>;

  constructor(state: MapState<string, unknown>, aggregate: AggregateFunction<unknown, unknown, unknown>) {
    this.#state = state;
    this.#aggregate = aggregate;
  }

  add(namespace: string, value: unknown): boolean {
    let accumulator = this.#state.get(namespace);
    const existed = accumulator !== undefined;
    if (!existed) {
      accumulator = this.#aggregate.createAccumulator();
      notUndefined('AggregateFunction.createAccumulator', accumulator);
    }
    accumulator = this.#aggregate.add(value, accumulator);
    notUndefined('AggregateFunction.add', accumulator);
    this.#state.put(namespace, accumulator);
    return existed;
  }

  /** The accumulator, or undefined when the window is empty. */
  get(namespace: string): unknown {
    return this.#state.get(namespace);
  }

  isEmpty(namespace: string): boolean {
    return this.#state.get(namespace) === undefined;
  }

  clear(namespace: string): void {
    this.#state.remove(namespace);
  }

  merge(target: string, sources: readonly string[]): void {
    const merge = this.#aggregate.merge;
    let merged = this.#state.get(target);
    for (const source of sources) {
      const value = this.#state.get(source);
      if (value === undefined) continue;
      this.#state.remove(source);
      if (merged === undefined) {
        merged = value;
        continue;
      }
      if (merge === undefined) {
        throw new WeirError('WEIR_INVALID_ARGUMENT', 'merging windows need AggregateFunction.merge(a, b), and this AggregateFunction has none');
      }
      merged = merge.call(this.#aggregate, merged, value);
      notUndefined('AggregateFunction.merge', merged);
    }
    if (merged !== undefined) this.#state.put(target, merged);
  }
}

/** Records per full chunk: small enough that an lsm put stays cheap, large enough to keep entries few. */
export const CHUNK = 64;

interface ListHead {
  /** Number of full chunks stored under `namespace U+0000 i`. */
  full: number;
  tail: unknown[];
}

/** The records of each window, in arrival order (Flink's ListState per window). */
export class ListContents implements WindowContents {
  readonly #state: MapState<string, unknown>;

  constructor(state: MapState<string, unknown>) {
    this.#state = state;
  }

  add(namespace: string, value: unknown): boolean {
    const state = this.#state;
    const head = state.get(namespace) as ListHead | undefined;
    if (head === undefined) {
      state.put(namespace, { full: 0, tail: [value] } satisfies ListHead);
      return false;
    }
    head.tail.push(value);
    if (head.tail.length < CHUNK) {
      state.put(namespace, head);
    } else {
      state.put(chunkKey(namespace, head.full), head.tail);
      // A new head: the heap backend holds the old one by reference, and its tail is now a chunk.
      state.put(namespace, { full: head.full + 1, tail: [] } satisfies ListHead);
    }
    return true;
  }

  /** Every record of window `namespace` in arrival order (a fresh array; empty when none). */
  get(namespace: string): unknown[] {
    const head = this.#state.get(namespace) as ListHead | undefined;
    if (head === undefined) return [];
    if (head.full === 0) return head.tail.slice();
    const records: unknown[] = [];
    for (let i = 0; i < head.full; i++) {
      const chunk = this.#state.get(chunkKey(namespace, i)) as unknown[] | undefined;
      if (chunk === undefined) throw new WeirError('WEIR_INTERNAL', `window '${namespace}' lost chunk ${i} of its records`);
      for (const record of chunk) records.push(record);
    }
    for (const record of head.tail) records.push(record);
    return records;
  }

  isEmpty(namespace: string): boolean {
    return this.#state.get(namespace) === undefined;
  }

  /** Replaces the records of window `namespace` (an empty list clears it). */
  update(namespace: string, records: readonly unknown[]): void {
    this.clear(namespace);
    if (records.length > 0) this.#append(namespace, { full: 0, tail: [] }, records);
  }

  clear(namespace: string): void {
    const head = this.#state.get(namespace) as ListHead | undefined;
    if (head === undefined) return;
    for (let i = 0; i < head.full; i++) this.#state.remove(chunkKey(namespace, i));
    this.#state.remove(namespace);
  }

  merge(target: string, sources: readonly string[]): void {
    let head = this.#state.get(target) as ListHead | undefined;
    for (const source of sources) {
      const records = this.get(source);
      if (records.length === 0) continue;
      this.clear(source);
      head = this.#append(target, head ?? { full: 0, tail: [] }, records);
    }
  }

  /** Appends `records` to the window whose head is `head` and stores it; returns the new head. */
  #append(namespace: string, head: ListHead, records: readonly unknown[]): ListHead {
    let { full, tail } = head;
    for (const record of records) {
      tail.push(record);
      if (tail.length === CHUNK) {
        this.#state.put(chunkKey(namespace, full++), tail);
        tail = [];
      }
    }
    // A new head object when a chunk was split off: the heap backend holds the old one by reference.
    const next = full === head.full ? head : { full, tail };
    this.#state.put(namespace, next);
    return next;
  }
}

function chunkKey(namespace: string, index: number): string {
  return `${namespace}\u0000${index}`;
}
