/**
 * The contracts of user functions the task runtime calls: plain functions for map/filter/
 * flatMap/keyBy/reduce, and the abstract KeyedProcessFunction (Flink's name and lifecycle).
 * Job modules build them on every thread; they run on the subtask's worker thread.
 */
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  ReduceFunction,
  ReducingState,
  ValueState,
} from '../state/state.ts';

export type MapFunction<T, R> = (value: T) => R;
export type FilterFunction<T> = (value: T) => boolean;
export type FlatMapFunction<T, R> = (value: T) => Iterable<R>;
export type KeySelector<T, K> = (value: T) => K;

/** Receives a function's output records. */
export interface Collector<T> {
  collect(record: T): void;
}

/** What a function learns about where it runs, and where it gets keyed state. */
export interface RuntimeContext {
  readonly operatorId: string;
  readonly operatorName: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** The job's `--param key=value` pairs. */
  readonly params: Readonly<Record<string, string>>;
  getValueState<T>(name: string): ValueState<T>;
  getListState<T>(name: string): ListState<T>;
  getMapState<K, V>(name: string): MapState<K, V>;
  getReducingState<T>(name: string, reduce: ReduceFunction<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(name: string, aggregate: AggregateFunction<IN, ACC, OUT>): AggregatingState<IN, OUT>;
}

/** Per-record context of a KeyedProcessFunction. */
export interface KeyedContext<K> {
  /** The key of the record being processed, as the key selector returned it. */
  getCurrentKey(): K;
}

/**
 * Processes each record of a keyed stream with keyed state. Get state handles in `open`, use
 * them in `processElement`: every access is scoped to the current record's key.
 */
export abstract class KeyedProcessFunction<K, I, O> {
  /** Called once per subtask before the first record; may be async. */
  open?(context: RuntimeContext): void | Promise<void>;
  abstract processElement(value: I, context: KeyedContext<K>, out: Collector<O>): void;
  /** Called once when the subtask ends, normally or not. */
  close?(): void | Promise<void>;
}
