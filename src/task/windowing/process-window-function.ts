/**
 * ProcessWindowFunction (Flink's name and lifecycle): the user function that sees a whole
 * window — all its records, or the one pre-aggregated value of `reduce`/`aggregate` — with the
 * window, time, side outputs and per-window state. Built by the job module on every thread; run
 * by the WindowOperator on the subtask's worker thread.
 */
import type { Collector, OutputTag, RuntimeContext } from '../functions.ts';
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  ReduceFunction,
  ReducingState,
  ValueState,
} from '../../state/state.ts';
import type { Window } from './window.ts';

/** Where a function gets keyed state (Flink's KeyedStateStore): handles by name, scoped as the store says. */
export interface KeyedStateStore {
  getValueState<T>(name: string): ValueState<T>;
  getListState<T>(name: string): ListState<T>;
  getMapState<K, V>(name: string): MapState<K, V>;
  getReducingState<T>(name: string, reduce: ReduceFunction<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(name: string, aggregate: AggregateFunction<IN, ACC, OUT>): AggregatingState<IN, OUT>;
}

/** What `process` and `clear` of a ProcessWindowFunction see besides the elements. */
export interface ProcessWindowContext<W extends Window> {
  /** The window being evaluated (or cleared). */
  readonly window: W;
  currentProcessingTime(): number;
  /** The operator's current event time (−∞ before the first watermark). */
  currentWatermark(): number;
  /**
   * State scoped to the current key and this window. It is not removed with the window:
   * clear what you use in `clear(context)`.
   */
  windowState(): KeyedStateStore;
  /** State scoped to the current key only, shared by all its windows (as RuntimeContext's). */
  globalState(): KeyedStateStore;
  /** Emits `value` to side output `tag` (with the window's timestamp, `window.maxTimestamp()`). */
  output<X>(tag: OutputTag<X>, value: X): void;
}

/**
 * Evaluates a window of a keyed stream. With `process(fn)`, `elements` are all the window's
 * records in arrival order; with `reduce(r, fn)` or `aggregate(a, fn)`, the single
 * pre-aggregated value. Records collected get the window's timestamp, `window.maxTimestamp()`.
 */
export abstract class ProcessWindowFunction<IN, OUT, KEY, W extends Window> {
  /** Called once per subtask before the first window; may be async. */
  open?(context: RuntimeContext): void | Promise<void>;
  /** A window fired. Synchronous: returning a promise fails the job. */
  abstract process(key: KEY, context: ProcessWindowContext<W>, elements: Iterable<IN>, out: Collector<OUT>): void;
  /** The window is purged for good (its cleanup time passed): clear its `windowState()` here. */
  clear?(context: ProcessWindowContext<W>): void;
  /** Called once when the subtask ends, normally or not. */
  close?(): void | Promise<void>;
}
