/**
 * The contracts of user functions the task runtime calls: plain functions for map/filter/
 * flatMap/keyBy/reduce, and the abstract KeyedProcessFunction (Flink's name and lifecycle).
 * Job modules build them on every thread; they run on the subtask's worker thread.
 */
import { WeirError } from '../errors.ts';
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

/**
 * Names a side output (Flink's OutputTag): a function emits to it with `ctx.output(tag, value)`
 * and the job reads it with `stream.getSideOutput(tag)`. Equal ids are the same side output.
 */
export class OutputTag<T> {
  declare readonly __type?: T;
  readonly id: string;

  constructor(id: string) {
    if (typeof id !== 'string' || id.trim() === '') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `an OutputTag needs a non-empty id, got ${JSON.stringify(id)}`);
    }
    this.id = id;
  }
}

/**
 * Timers and time of a keyed function (Flink's TimerService). Timers belong to the current key;
 * registering the same time twice for a key makes one timer. Times are milliseconds: event time
 * as the records' timestamps, processing time since the epoch (`Date.now()`).
 */
export interface TimerService {
  currentProcessingTime(): number;
  /** The operator's current event time (−∞ before the first watermark). */
  currentWatermark(): number;
  /** `onTimer` runs once the watermark reaches `time`. */
  registerEventTimeTimer(time: number): void;
  /** `onTimer` runs once the wall clock reaches `time`. */
  registerProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
}

/** Per-record context of a KeyedProcessFunction. */
export interface KeyedContext<K> {
  /** The key of the record being processed, as the key selector returned it. */
  getCurrentKey(): K;
  /** The record's event timestamp (undefined when it has none), or in onTimer the timer's time. */
  timestamp(): number | undefined;
  timerService(): TimerService;
  /** Emits `value` to side output `tag`. */
  output<X>(tag: OutputTag<X>, value: X): void;
}

export type TimeDomain = 'event-time' | 'processing-time';

/** The context of `onTimer`. */
export interface OnTimerContext<K> extends KeyedContext<K> {
  timeDomain(): TimeDomain;
}

/**
 * Processes each record of a keyed stream with keyed state and timers. Get state handles in
 * `open`, use them in `processElement` and `onTimer`: every access is scoped to the current key.
 */
export abstract class KeyedProcessFunction<K, I, O> {
  /** Called once per subtask before the first record; may be async. */
  open?(context: RuntimeContext): void | Promise<void>;
  abstract processElement(value: I, context: KeyedContext<K>, out: Collector<O>): void;
  /** A timer of this key fired (`timestamp` is its time). */
  onTimer?(timestamp: number, context: OnTimerContext<K>, out: Collector<O>): void;
  /**
   * The operator's event time advanced to `watermark`, after the event-time timers up to it
   * fired and before the watermark goes downstream. No key is in scope (keyed state is not
   * accessible here); what it emits gets the watermark as its timestamp.
   */
  onWatermark?(watermark: number, out: Collector<O>): void;
  /** Called once when the subtask ends, normally or not. */
  close?(): void | Promise<void>;
}

/** Per-record context of a (non-keyed) ProcessFunction. */
export interface ProcessContext {
  /** The record's event timestamp (undefined when it has none). */
  timestamp(): number | undefined;
  /** The operator's current event time (−∞ before the first watermark). */
  currentWatermark(): number;
  currentProcessingTime(): number;
  /** Emits `value` to side output `tag`. */
  output<X>(tag: OutputTag<X>, value: X): void;
}

/**
 * Processes each record of a stream that is not keyed (Flink's ProcessFunction): like flatMap,
 * with the record's timestamp and side outputs. No keyed state and no timers: key the stream
 * (`keyBy(...).process(KeyedProcessFunction)`) for those.
 */
export abstract class ProcessFunction<I, O> {
  open?(context: RuntimeContext): void | Promise<void>;
  abstract processElement(value: I, context: ProcessContext, out: Collector<O>): void;
  close?(): void | Promise<void>;
}

/**
 * Two keyed inputs joined by key (Flink's KeyedCoProcessFunction): `connect(other).keyBy(k1, k2)
 * .process(fn)`. Records of both inputs with equal keys share keyed state and timers.
 */
export abstract class KeyedCoProcessFunction<K, I1, I2, O> {
  open?(context: RuntimeContext): void | Promise<void>;
  abstract processElement1(value: I1, context: KeyedContext<K>, out: Collector<O>): void;
  abstract processElement2(value: I2, context: KeyedContext<K>, out: Collector<O>): void;
  onTimer?(timestamp: number, context: OnTimerContext<K>, out: Collector<O>): void;
  /** As KeyedProcessFunction.onWatermark. */
  onWatermark?(watermark: number, out: Collector<O>): void;
  close?(): void | Promise<void>;
}
