/**
 * The interval join builder (Flink's KeyedStream.intervalJoin(...).between(...).process(...)):
 * declares a two-input operator running an IntervalJoinFunction. Plan-building only; evaluated
 * by the job module on every thread.
 */
import { WeirError } from '../errors.ts';
import type { KeySelector } from '../task/functions.ts';
import { IntervalJoinFunction, ProcessJoinFunction } from '../task/operators/interval-join.ts';
import type { DataStream } from './data-stream.ts';

interface KeyedSide<T, K> {
  readonly stream: DataStream<T>;
  readonly key: KeySelector<T, K>;
}

export class IntervalJoin<L, R, K> {
  readonly #left: KeyedSide<L, K>;
  readonly #right: KeyedSide<R, K>;

  /** @internal */
  constructor(left: KeyedSide<L, K>, right: KeyedSide<R, K>) {
    this.#left = left;
    this.#right = right;
  }

  /** Joins a left record at t with the right records of its key at times in [t + lowerMs, t + upperMs] (both inclusive). */
  between(lowerMs: number, upperMs: number): IntervalJoined<L, R, K> {
    if (!Number.isFinite(lowerMs) || !Number.isFinite(upperMs) || lowerMs > upperMs) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `between() expects finite bounds with lower ≤ upper, got [${String(lowerMs)}, ${String(upperMs)}]`);
    }
    return new IntervalJoined(this.#left, this.#right, lowerMs, upperMs);
  }
}

export class IntervalJoined<L, R, K> {
  /** @internal */
  constructor(
    readonly left: KeyedSide<L, K>,
    readonly right: KeyedSide<R, K>,
    readonly lower: number,
    readonly upper: number,
  ) {}

  /** Calls `fn.processElement(left, right, ctx, out)` for every pair; the output's timestamp is the later of the two. */
  process<O>(fn: ProcessJoinFunction<L, R, O>): DataStream<O> {
    if (typeof fn !== 'object' || fn === null || typeof fn.processElement !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'process() expects a ProcessJoinFunction (an object with processElement(left, right, ctx, out))');
    }
    return this.left.stream
      .connect(this.right.stream)
      .keyBy(this.left.key, this.right.key)
      .process(new IntervalJoinFunction<K, L, R, O>(this.lower, this.upper, fn))
      .name('IntervalJoin');
  }
}
