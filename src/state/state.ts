/**
 * The keyed state types user functions see (names and semantics as in Flink). Every access is
 * scoped to the key of the record being processed. Implemented by each state backend; used on
 * the subtask's worker thread only.
 */

/** One value per key; `value()` is undefined when unset. */
export interface ValueState<T> {
  value(): T | undefined;
  update(value: T): void;
  clear(): void;
}

/** A list per key; `get()` is an empty array when unset. */
export interface ListState<T> {
  get(): T[];
  add(value: T): void;
  addAll(values: Iterable<T>): void;
  update(values: Iterable<T>): void;
  clear(): void;
}

/** A map per key. */
export interface MapState<K, V> {
  get(key: K): V | undefined;
  put(key: K, value: V): void;
  putAll(entries: Iterable<readonly [K, V]>): void;
  contains(key: K): boolean;
  remove(key: K): void;
  entries(): IterableIterator<[K, V]>;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  isEmpty(): boolean;
  clear(): void;
}

/** Values added are folded with a reduce function; `get()` is undefined when nothing was added. */
export interface ReducingState<T> {
  get(): T | undefined;
  add(value: T): void;
  clear(): void;
}

/** Values added are folded into an accumulator; `get()` is the result, undefined when nothing was added. */
export interface AggregatingState<IN, OUT> {
  get(): OUT | undefined;
  add(value: IN): void;
  clear(): void;
}

export type ReduceFunction<T> = (accumulated: T, value: T) => T;

/** Flink's AggregateFunction: an accumulator per key, folded incrementally. */
export interface AggregateFunction<IN, ACC, OUT> {
  createAccumulator(): ACC;
  add(value: IN, accumulator: ACC): ACC;
  getResult(accumulator: ACC): OUT;
  merge?(a: ACC, b: ACC): ACC;
}
