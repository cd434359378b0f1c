/**
 * WindowedStream (Flink's name): a keyed stream grouped into windows, `keyBy(k).window(assigner)`
 * or `.countWindow(n)`, configured with a trigger, allowed lateness and a late-data side output,
 * and turned back into a DataStream by `reduce`, `aggregate` or `process`. Only records the plan
 * (a 'window' transformation), validating every argument; evaluated on every thread by the job module.
 */
import { WeirError } from '../errors.ts';
import type { KeySelector } from '../task/functions.ts';
import { OutputTag } from '../task/functions.ts';
import type { AggregateFunction, ReduceFunction } from '../state/state.ts';
import type { Transformation, WindowTransformation } from '../graph/transformation.ts';
import type { ProcessWindowFunction } from '../task/windowing/process-window-function.ts';
import { isTrigger, type Trigger } from '../task/windowing/triggers.ts';
import { isMergingAssigner, type WindowAssigner } from '../task/windowing/window-assigners.ts';
import type { Window } from '../task/windowing/window.ts';
import type { AnyProcessWindowFunction, WindowFunctionSpec } from '../task/windowing/window-spec.ts';
import type { DataStream } from './data-stream.ts';
import type { PlanBuilder } from './plan-builder.ts';

/** @internal How a WindowedStream makes the DataStream of its result (DataStream's own constructor, from KeyedStream). */
export type DeriveStream = (t: Transformation) => DataStream<unknown>;

export class WindowedStream<T, K, W extends Window> {
  readonly #builder: PlanBuilder;
  readonly #input: Transformation;
  readonly #keySelector: KeySelector<T, K>;
  readonly #assigner: WindowAssigner<T, W>;
  readonly #derive: DeriveStream;
  readonly #evictToCount: number | undefined;
  #trigger: Trigger<T, W> | undefined;
  #allowedLatenessMs = 0;
  #lateDataTag: OutputTag<T> | undefined;

  /** @internal Use KeyedStream.window() or countWindow(). */
  constructor(
    builder: PlanBuilder,
    input: Transformation,
    keySelector: KeySelector<T, K>,
    assigner: WindowAssigner<T, W>,
    derive: DeriveStream,
    evictToCount?: number,
  ) {
    this.#builder = builder;
    this.#input = input;
    this.#keySelector = keySelector;
    this.#assigner = assigner;
    this.#derive = derive;
    this.#evictToCount = evictToCount;
  }

  /**
   * Event-time windows keep their contents for `ms` after their end (default 0): records that
   * arrive within it are added and fire the window again; later ones are late (see
   * sideOutputLateData). No effect on processing-time or global windows.
   */
  allowedLateness(ms: number): this {
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `allowedLateness() expects a non-negative integer number of milliseconds, got ${String(ms)}`);
    }
    this.#allowedLatenessMs = ms;
    return this;
  }

  /** Late records (too late for every window they belong to) go to side output `tag` instead of being dropped. */
  sideOutputLateData(tag: OutputTag<T>): this {
    if (!(tag instanceof OutputTag)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'sideOutputLateData() expects an OutputTag');
    this.#lateDataTag = tag;
    return this;
  }

  /** Replaces the assigner's default trigger. */
  trigger(trigger: Trigger<T, W>): this {
    if (!isTrigger(trigger)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'trigger() expects a Trigger (onElement, onEventTime, onProcessingTime, canMerge, clear)');
    }
    if (isMergingAssigner(this.#assigner as WindowAssigner<unknown, Window>) && !trigger.canMerge()) {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `trigger(): ${trigger.toString()} cannot merge windows (canMerge() is false), which the merging assigner ${String(this.#assigner)} needs`,
      );
    }
    this.#trigger = trigger;
    return this;
  }

  /**
   * Folds each window's records with `fn` as they arrive and emits the result when the window
   * fires; with `process`, hands that one value to the ProcessWindowFunction instead.
   */
  reduce(fn: ReduceFunction<T>): DataStream<T>;
  reduce<R>(fn: ReduceFunction<T>, process: ProcessWindowFunction<T, R, K, W>): DataStream<R>;
  reduce<R>(fn: ReduceFunction<T>, process?: ProcessWindowFunction<T, R, K, W>): DataStream<T | R> {
    if (typeof fn !== 'function') throw new WeirError('WEIR_INVALID_ARGUMENT', `reduce() expects a function (a, b) => value, got ${describe(fn)}`);
    const processFn = process === undefined ? undefined : requireProcessFunction('reduce', process);
    return this.#build('reduce', { kind: 'reduce', reduce: fn as ReduceFunction<unknown>, process: processFn }) as DataStream<T | R>;
  }

  /**
   * Folds each window's records into an accumulator as they arrive and emits
   * `getResult(accumulator)` when the window fires; with `process`, hands that value to the
   * ProcessWindowFunction instead. Session windows need `aggregate.merge`.
   */
  aggregate<ACC, R>(aggregate: AggregateFunction<T, ACC, R>): DataStream<R>;
  aggregate<ACC, V, R>(aggregate: AggregateFunction<T, ACC, V>, process: ProcessWindowFunction<V, R, K, W>): DataStream<R>;
  aggregate<ACC, V, R>(aggregate: AggregateFunction<T, ACC, V>, process?: ProcessWindowFunction<V, R, K, W>): DataStream<V | R> {
    const a = aggregate as Partial<AggregateFunction<T, ACC, V>> | null;
    if (typeof a !== 'object' || a === null || typeof a.createAccumulator !== 'function' || typeof a.add !== 'function' || typeof a.getResult !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `aggregate() expects an AggregateFunction (an object with createAccumulator, add and getResult), got ${describe(aggregate)}`);
    }
    if (a.merge !== undefined && typeof a.merge !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `aggregate(): the AggregateFunction's merge must be a function, got ${describe(a.merge)}`);
    }
    if (a.merge === undefined && isMergingAssigner(this.#assigner as WindowAssigner<unknown, Window>)) {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `aggregate() on merging windows (${String(this.#assigner)}) needs an AggregateFunction with merge(a, b): merged sessions combine their accumulators`,
      );
    }
    const processFn = process === undefined ? undefined : requireProcessFunction('aggregate', process);
    return this.#build('aggregate', {
      kind: 'aggregate',
      aggregate: aggregate as AggregateFunction<unknown, unknown, unknown>,
      process: processFn,
    }) as DataStream<V | R>;
  }

  /** Keeps every record of a window and hands them all to `process` when it fires. */
  process<R>(process: ProcessWindowFunction<T, R, K, W>): DataStream<R> {
    return this.#build('process', { kind: 'process', process: requireProcessFunction('process', process) }) as DataStream<R>;
  }

  #build(what: string, fn: WindowFunctionSpec): DataStream<unknown> {
    const assigner = this.#assigner as WindowAssigner<unknown, Window>;
    const trigger = (this.#trigger ?? this.#assigner.getDefaultTrigger()) as Trigger<unknown, Window>;
    const functionName = fn.kind !== 'process' && fn.process !== undefined ? `${what}+process` : what;
    const t = this.#builder.add<WindowTransformation>({
      kind: 'window',
      name: `Window(${String(assigner)}, ${trigger.toString()}, ${functionName})`,
      uid: undefined,
      parallelism: undefined,
      input: this.#input,
      keySelector: this.#keySelector as KeySelector<unknown, unknown>,
      spec: {
        assigner,
        trigger,
        allowedLatenessMs: this.#allowedLatenessMs,
        lateDataTag: this.#lateDataTag?.id,
        evictToCount: this.#evictToCount,
        fn,
      },
    });
    return this.#derive(t);
  }
}

function requireProcessFunction(method: string, process: unknown): AnyProcessWindowFunction {
  if (typeof process !== 'object' || process === null || typeof (process as { process?: unknown }).process !== 'function') {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `${method}() expects a ProcessWindowFunction (an object with process), got ${describe(process)}`);
  }
  return process as AnyProcessWindowFunction;
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}
