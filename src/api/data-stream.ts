/**
 * DataStream, KeyedStream and DataStreamSink: the typed builders a job module uses to declare
 * its plan (names as in Flink's DataStream API). They only record transformations; nothing
 * runs here. Evaluated on the main thread and on every worker thread by the job module.
 */
import { WeirError } from '../errors.ts';
import type {
  FilterFunction,
  FlatMapFunction,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  KeySelector,
  MapFunction,
} from '../task/functions.ts';
import { OutputTag, ProcessFunction } from '../task/functions.ts';
import { WatermarkStrategy } from '../task/time/watermark-strategy.ts';
import { IntervalJoin } from './interval-join.ts';
import type { Sink } from '../task/sink.ts';
import type { ReduceFunction } from '../state/state.ts';
import type {
  FilterTransformation,
  FlatMapTransformation,
  MapTransformation,
  OperatorTransformation,
  PartitionerKind,
  Transformation,
} from '../graph/transformation.ts';
import type { PlanBuilder } from './plan-builder.ts';
import { WindowedStream } from './windowed-stream.ts';
import { GlobalWindows, isWindowAssigner, type WindowAssigner } from '../task/windowing/window-assigners.ts';
import { CountTrigger, PurgingTrigger } from '../task/windowing/triggers.ts';
import type { GlobalWindow, Window } from '../task/windowing/window.ts';

function requireFunction(method: string, fn: unknown): void {
  if (typeof fn !== 'function') {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `${method}() expects a function, got ${fn === null ? 'null' : typeof fn}`);
  }
}

/** Settings shared by every operator: a name, a stable uid, a parallelism. */
abstract class OperatorSettings {
  /** @internal */
  protected readonly builder: PlanBuilder;
  /** @internal */
  protected readonly transformation: Transformation;

  /** @internal */
  constructor(builder: PlanBuilder, transformation: Transformation) {
    this.builder = builder;
    this.transformation = transformation;
  }

  #operator(method: string): OperatorTransformation {
    const t = this.transformation;
    if (t.kind === 'partition' || t.kind === 'union' || t.kind === 'sideOutput') {
      const what = t.kind === 'union' ? 'union' : t.kind === 'sideOutput' ? 'side output' : 'keyBy/rebalance/broadcast';
      throw new WeirError('WEIR_INVALID_ARGUMENT', `${method}() applies to an operator, not to a ${what}: call it on the operator before`);
    }
    return t;
  }

  /** The operator's display name (also the base of its derived uid). */
  name(name: string): this {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `name() expects a non-empty string, got ${JSON.stringify(name)}`);
    }
    this.#operator('name').name = name;
    return this;
  }

  /** A stable identifier for the operator's state across job versions (Flink's uid). */
  uid(uid: string): this {
    if (typeof uid !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(uid)) {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `uid() expects letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(uid)}`,
      );
    }
    this.#operator('uid').uid = uid;
    return this;
  }

  /** Parallelism of this operator, overriding the job's. */
  setParallelism(parallelism: number): this {
    if (!Number.isSafeInteger(parallelism) || parallelism < 1) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `setParallelism() expects a positive integer, got ${parallelism}`);
    }
    this.#operator('setParallelism').parallelism = parallelism;
    return this;
  }
}

export class DataStream<T> extends OperatorSettings {
  map<R>(fn: MapFunction<T, R>): DataStream<R> {
    requireFunction('map', fn);
    return this.#operator<R>('map', 'Map', { fn });
  }

  filter(fn: FilterFunction<T>): DataStream<T> {
    requireFunction('filter', fn);
    return this.#operator<T>('filter', 'Filter', { fn });
  }

  /** `fn` returns any iterable: an array, a Set, a generator. */
  flatMap<R>(fn: FlatMapFunction<T, R>): DataStream<R> {
    requireFunction('flatMap', fn);
    return this.#operator<R>('flatMap', 'FlatMap', { fn });
  }

  /** Partitions by key: records with equal keys go to the same subtask, with state per key. */
  keyBy<K>(keySelector: KeySelector<T, K>): KeyedStream<T, K> {
    requireFunction('keyBy', keySelector);
    const t = this.builder.add({
      kind: 'partition',
      input: this.transformation,
      partitioner: 'hash',
      keySelector: keySelector as KeySelector<unknown, unknown>,
    });
    return new KeyedStream<T, K>(this.builder, t, keySelector);
  }

  /**
   * Processes each record with a ProcessFunction: any number of outputs, the record's timestamp,
   * side outputs (`ctx.output(tag, value)`). For keyed state and timers, `keyBy` first.
   */
  process<R>(fn: ProcessFunction<T, R>): DataStream<R> {
    if (typeof fn !== 'object' || fn === null || typeof fn.processElement !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'process() expects a ProcessFunction (an object with processElement)');
    }
    const t = this.builder.add({
      kind: 'processFunction',
      name: 'Process',
      uid: undefined,
      parallelism: undefined,
      input: this.transformation,
      fn: fn as ProcessFunction<unknown, unknown>,
    });
    return new DataStream<R>(this.builder, t);
  }

  /** Distributes records round robin over the next operator's subtasks. */
  rebalance(): DataStream<T> {
    return this.#partition('rebalance');
  }

  /** Sends every record to every subtask of the next operator. */
  broadcast(): DataStream<T> {
    return this.#partition('broadcast');
  }

  /** Merges this stream with others of the same type. */
  union(...others: DataStream<T>[]): DataStream<T> {
    if (others.length === 0) throw new WeirError('WEIR_INVALID_ARGUMENT', 'union() needs at least one other stream');
    for (const other of others) {
      if (!(other instanceof DataStream) || other.builder !== this.builder) {
        throw new WeirError('WEIR_INVALID_ARGUMENT', 'union() expects streams of the same job');
      }
    }
    const t = this.builder.add({ kind: 'union', inputs: [this.transformation, ...others.map((o) => o.transformation)] });
    return new DataStream<T>(this.builder, t);
  }

  /**
   * Gives records the event time `strategy` assigns and generates watermarks from them (Flink's
   * assignTimestampsAndWatermarks); watermarks from upstream are replaced.
   */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): DataStream<T> {
    if (!(strategy instanceof WatermarkStrategy)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'assignTimestampsAndWatermarks() expects a WatermarkStrategy');
    }
    const t = this.builder.add({
      kind: 'timestamps',
      name: 'Timestamps/Watermarks',
      uid: undefined,
      parallelism: undefined,
      input: this.transformation,
      strategy: strategy as WatermarkStrategy<unknown>,
    });
    return new DataStream<T>(this.builder, t);
  }

  /** The records this operator emitted to side output `tag` (ctx.output(tag, value), late window data). */
  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    if (!(tag instanceof OutputTag)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'getSideOutput() expects an OutputTag');
    const input = this.transformation;
    if (input.kind === 'partition' || input.kind === 'union' || input.kind === 'sideOutput') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `getSideOutput('${tag.id}') must be called on an operator's stream, not on a keyBy, union or side output`);
    }
    const t = this.builder.add({ kind: 'sideOutput', input, tag: tag.id });
    return new DataStream<X>(this.builder, t);
  }

  /** Pairs this stream with another (of another type) for a two-input operator: `.keyBy(k1, k2).process(fn)`. */
  connect<T2>(other: DataStream<T2>): ConnectedStreams<T, T2> {
    if (!(other instanceof DataStream) || other.builder !== this.builder) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'connect() expects a stream of the same job');
    }
    return new ConnectedStreams<T, T2>(this.builder, this.transformation, other.transformation);
  }

  /** Writes the stream to a sink; `name` also names the sink's results in `run()`. */
  sinkTo(sink: Sink<T>, name = 'Sink'): DataStreamSink<T> {
    if (typeof sink !== 'object' || sink === null || typeof (sink as Sink<T>).createWriter !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'sinkTo() expects a sink (an object with createWriter)');
    }
    const t = this.builder.add({
      kind: 'sink',
      name,
      uid: undefined,
      parallelism: undefined,
      input: this.transformation,
      sink: sink as Sink<unknown>,
    });
    return new DataStreamSink<T>(this.builder, t);
  }

  /** @internal */
  protected derive<R>(t: Transformation): DataStream<R> {
    return new DataStream<R>(this.builder, t);
  }

  #operator<R>(kind: 'map' | 'filter' | 'flatMap', name: string, extra: { fn: unknown }): DataStream<R> {
    const t = this.builder.add<MapTransformation | FilterTransformation | FlatMapTransformation>({
      kind,
      name,
      uid: undefined,
      parallelism: undefined,
      input: this.transformation,
      fn: extra.fn,
    } as Omit<MapTransformation, 'id'>);
    return new DataStream<R>(this.builder, t);
  }

  #partition(partitioner: PartitionerKind): DataStream<T> {
    const t = this.builder.add({ kind: 'partition', input: this.transformation, partitioner, keySelector: undefined });
    return new DataStream<T>(this.builder, t);
  }
}

/** A stream partitioned by key; its operators have keyed state. */
export class KeyedStream<T, K> extends DataStream<T> {
  /** Stored untyped so that DataStream stays covariant in T (a KeyedStream<X> is a DataStream<unknown>). */
  readonly #keySelector: KeySelector<unknown, unknown>;

  /** @internal */
  constructor(builder: PlanBuilder, transformation: Transformation, keySelector: KeySelector<T, K>) {
    super(builder, transformation);
    this.#keySelector = keySelector as KeySelector<unknown, unknown>;
  }

  /**
   * Processes each record with keyed state and timers through a KeyedProcessFunction (a plain
   * ProcessFunction is accepted too, as in Flink, and sees no key).
   */
  override process<R>(fn: KeyedProcessFunction<K, T, R> | ProcessFunction<T, R>): DataStream<R> {
    if (fn instanceof ProcessFunction) return super.process(fn);
    if (typeof fn !== 'object' || fn === null || typeof fn.processElement !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'process() expects a KeyedProcessFunction (an object with processElement)');
    }
    const t = this.builder.add({
      kind: 'process',
      name: 'KeyedProcess',
      uid: undefined,
      parallelism: undefined,
      input: this.transformation,
      keySelector: this.#keySelector as KeySelector<unknown, unknown>,
      fn: fn as KeyedProcessFunction<unknown, unknown, unknown>,
    });
    return this.derive<R>(t);
  }

  /**
   * Joins this keyed stream with another on equal keys, pairing records whose event times lie
   * within an interval (Flink's intervalJoin): `.between(lowerMs, upperMs).process(fn)`.
   */
  intervalJoin<T2>(other: KeyedStream<T2, K>): IntervalJoin<T, T2, K> {
    if (!(other instanceof KeyedStream) || other.builder !== this.builder) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'intervalJoin() expects a keyed stream of the same job (call keyBy on it first)');
    }
    return new IntervalJoin<T, T2, K>(
      { stream: this, key: this.#keySelector as KeySelector<T, K> },
      { stream: other, key: other.#keySelector as KeySelector<T2, K> },
    );
  }

  /** Folds each key's records with `fn`, emitting the updated value for every record. */
  reduce(fn: ReduceFunction<T>): DataStream<T> {
    requireFunction('reduce', fn);
    const t = this.builder.add({
      kind: 'reduce',
      name: 'Reduce',
      uid: undefined,
      parallelism: undefined,
      input: this.transformation,
      keySelector: this.#keySelector as KeySelector<unknown, unknown>,
      fn: fn as ReduceFunction<unknown>,
    });
    return this.derive<T>(t);
  }

  /** Groups each key's records into the windows `assigner` gives them (Flink's window()). */
  window<W extends Window>(assigner: WindowAssigner<T, W>): WindowedStream<T, K, W> {
    if (!isWindowAssigner(assigner)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'window() expects a WindowAssigner, such as TumblingEventTimeWindows.of(60_000)');
    }
    return new WindowedStream<T, K, W>(this.builder, this.transformation, this.#keySelector as KeySelector<T, K>, assigner, (t) => this.derive(t));
  }

  /**
   * Count windows: every `size` records of a key; with `slide`, every `slide` records over the
   * key's last `size` records (Flink's countWindow).
   */
  countWindow(size: number, slide?: number): WindowedStream<T, K, GlobalWindow> {
    for (const [name, n] of [['size', size], ['slide', slide ?? 1]] as const) {
      if (!Number.isSafeInteger(n) || n < 1) throw new WeirError('WEIR_INVALID_ARGUMENT', `countWindow() expects ${name} as a positive integer, got ${String(n)}`);
    }
    const derive = (t: Transformation) => this.derive(t);
    const windows = new WindowedStream<T, K, GlobalWindow>(this.builder, this.transformation, this.#keySelector as KeySelector<T, K>, GlobalWindows.create(), derive, slide === undefined ? undefined : size);
    return windows.trigger(slide === undefined ? PurgingTrigger.of(CountTrigger.of(size)) : CountTrigger.of(slide));
  }
}

/** Two streams of possibly different types, for a two-input operator (Flink's ConnectedStreams). */
export class ConnectedStreams<T1, T2> {
  readonly #builder: PlanBuilder;
  readonly #input1: Transformation;
  readonly #input2: Transformation;
  readonly #keys: { k1: KeySelector<T1, unknown>; k2: KeySelector<T2, unknown> } | undefined;

  /** @internal */
  constructor(builder: PlanBuilder, input1: Transformation, input2: Transformation, keys?: { k1: KeySelector<T1, unknown>; k2: KeySelector<T2, unknown> }) {
    this.#builder = builder;
    this.#input1 = input1;
    this.#input2 = input2;
    this.#keys = keys;
  }

  /** Partitions both inputs by key; records of either input with equal keys meet in one subtask. */
  keyBy<K>(keySelector1: KeySelector<T1, K>, keySelector2: KeySelector<T2, K>): ConnectedStreams<T1, T2> {
    requireFunction('keyBy', keySelector1);
    requireFunction('keyBy', keySelector2);
    const partition = (input: Transformation, keySelector: KeySelector<unknown, unknown>) =>
      this.#builder.add({ kind: 'partition', input, partitioner: 'hash', keySelector });
    return new ConnectedStreams<T1, T2>(
      this.#builder,
      partition(this.#input1, keySelector1 as KeySelector<unknown, unknown>),
      partition(this.#input2, keySelector2 as KeySelector<unknown, unknown>),
      { k1: keySelector1, k2: keySelector2 },
    );
  }

  /** Runs a KeyedCoProcessFunction over both keyed inputs (after keyBy). */
  process<K, R>(fn: KeyedCoProcessFunction<K, T1, T2, R>): DataStream<R> {
    if (this.#keys === undefined) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'process() on connected streams needs keyBy(key1, key2) first: Weir has keyed two-input operators only');
    }
    if (typeof fn !== 'object' || fn === null || typeof fn.processElement1 !== 'function' || typeof fn.processElement2 !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'process() expects a KeyedCoProcessFunction (an object with processElement1 and processElement2)');
    }
    const t = this.#builder.add({
      kind: 'coProcess',
      name: 'KeyedCoProcess',
      uid: undefined,
      parallelism: undefined,
      input1: this.#input1,
      input2: this.#input2,
      keySelector1: this.#keys.k1 as KeySelector<unknown, unknown>,
      keySelector2: this.#keys.k2 as KeySelector<unknown, unknown>,
      fn: fn as KeyedCoProcessFunction<unknown, unknown, unknown, unknown>,
    });
    return new DataStream<R>(this.#builder, t);
  }
}

/** The end of a stream: a sink operator (settable name, uid, parallelism). */
export class DataStreamSink<T> extends OperatorSettings {
  /** @internal */
  declare readonly __type?: T;
}
