/**
 * DataStream, KeyedStream and DataStreamSink: the typed builders a job module uses to declare
 * its plan (names as in Flink's DataStream API). They only record transformations; nothing
 * runs here. Evaluated on the main thread and on every worker thread by the job module.
 */
import { WeirError } from '../errors.ts';
import type {
  FilterFunction,
  FlatMapFunction,
  KeyedProcessFunction,
  KeySelector,
  MapFunction,
} from '../task/functions.ts';
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
    if (t.kind === 'partition' || t.kind === 'union') {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `${method}() applies to an operator, not to a ${t.kind === 'union' ? 'union' : 'keyBy/rebalance/broadcast'}: call it on the operator before`,
      );
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
  readonly #keySelector: KeySelector<T, K>;

  /** @internal */
  constructor(builder: PlanBuilder, transformation: Transformation, keySelector: KeySelector<T, K>) {
    super(builder, transformation);
    this.#keySelector = keySelector;
  }

  /** Processes each record with keyed state through a KeyedProcessFunction. */
  process<R>(fn: KeyedProcessFunction<K, T, R>): DataStream<R> {
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
}

/** The end of a stream: a sink operator (settable name, uid, parallelism). */
export class DataStreamSink<T> extends OperatorSettings {
  /** @internal */
  declare readonly __type?: T;
}
