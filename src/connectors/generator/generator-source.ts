/**
 * GeneratorSource: a deterministic source where record i is `generate(i)`, split across source
 * subtasks by index, optionally rate limited. The constructor runs wherever the job module is
 * evaluated; each reader runs on its source subtask's worker thread.
 */

import { WeirError } from '../../errors.ts';
import type {
  PollStatus,
  Source,
  SourceOutput,
  SourceReader,
  SourceReaderContext,
} from '../../task/source.ts';

export interface GeneratorSourceOptions<T> {
  /** Number of records, indices [0, count). Omitted: unbounded. */
  count?: number;
  /** Records per second across all subtasks (each subtask gets rate / parallelism). Omitted: as fast as possible. */
  ratePerSecond?: number;
  /** Builds record `index`. Must be deterministic for replay after recovery to be exactly-once. */
  generate: (index: number) => T;
  /**
   * Monotonic clock in milliseconds used by the rate limiter; defaults to `performance.now`.
   * @internal for tests.
   */
  now?: () => number;
}

/** Records emitted per `pollNext` at most, so the runtime regains control between batches. */
export const GENERATOR_BATCH_SIZE = 1024;

export class GeneratorSource<T> implements Source<T> {
  readonly #count: number | undefined;
  readonly #ratePerSecond: number | undefined;
  readonly #generate: (index: number) => T;
  readonly #now: () => number;

  constructor(options: GeneratorSourceOptions<T>) {
    if (options === null || typeof options !== 'object') {
      throw invalid(`GeneratorSource options must be an object, got ${describe(options)}`);
    }
    const { count, ratePerSecond, generate, now } = options;
    if (count !== undefined && !(Number.isSafeInteger(count) && count >= 0)) {
      throw invalid(`GeneratorSource options.count must be a non-negative integer, got ${describe(count)}`);
    }
    if (
      ratePerSecond !== undefined &&
      !(typeof ratePerSecond === 'number' && Number.isFinite(ratePerSecond) && ratePerSecond > 0)
    ) {
      throw invalid(
        `GeneratorSource options.ratePerSecond must be a positive finite number, got ${describe(ratePerSecond)}`,
      );
    }
    if (typeof generate !== 'function') {
      throw invalid(`GeneratorSource options.generate must be a function, got ${describe(generate)}`);
    }
    if (now !== undefined && typeof now !== 'function') {
      throw invalid(`GeneratorSource options.now must be a function, got ${describe(now)}`);
    }
    this.#count = count;
    this.#ratePerSecond = ratePerSecond;
    this.#generate = generate;
    this.#now = now ?? (() => performance.now());
  }

  /** Total number of records, or undefined when unbounded. */
  get count(): number | undefined {
    return this.#count;
  }

  createReader(context: SourceReaderContext): GeneratorSourceReader<T> {
    const { subtaskIndex, parallelism } = context;
    const rate = this.#ratePerSecond === undefined ? undefined : this.#ratePerSecond / parallelism;
    const splits = context.restoredState === undefined ? [this.initialSplit(subtaskIndex, parallelism)] : context.restoredState.map(toSplit);
    return new GeneratorSourceReader(this.#generate, splits, rate, this.#now);
  }

  /**
   * The split a subtask starts with: its contiguous range when bounded, every p-th index from
   * its own when unbounded. Splits are what checkpoints store; after a restore at another
   * parallelism they are dealt out again, so a subtask may hold several.
   */
  initialSplit(subtaskIndex: number, parallelism: number): GeneratorSplit {
    if (this.#count === undefined) return { next: subtaskIndex, step: parallelism, end: null };
    const [start, end] = generatorRange(this.#count, subtaskIndex, parallelism);
    return { next: start, step: 1, end };
  }
}

/** An arithmetic run of indices: next, next + step, … below end (null: unbounded). Plain data. */
export interface GeneratorSplit {
  readonly next: number;
  readonly step: number;
  readonly end: number | null;
}

function toSplit(value: unknown): GeneratorSplit {
  const split = value as GeneratorSplit;
  const ok =
    typeof split === 'object' && split !== null &&
    Number.isSafeInteger(split.next) && split.next >= 0 &&
    Number.isSafeInteger(split.step) && split.step >= 1 &&
    (split.end === null || (Number.isSafeInteger(split.end) && split.end >= 0));
  if (!ok) throw new WeirError('WEIR_SOURCE_FAILED', `GeneratorSource cannot restore the split ${JSON.stringify(value)}`, { retriable: false });
  return { next: split.next, step: split.step, end: split.end };
}

/**
 * The contiguous index range [start, end) that subtask `subtaskIndex` of `parallelism` owns in a
 * bounded generator: [floor(s·count/p), floor((s+1)·count/p)). Computed in bigint because s·count
 * can pass 2^53 for large counts.
 */
export function generatorRange(count: number, subtaskIndex: number, parallelism: number): [number, number] {
  const c = BigInt(count);
  const p = BigInt(parallelism);
  return [Number((BigInt(subtaskIndex) * c) / p), Number((BigInt(subtaskIndex + 1) * c) / p)];
}

/**
 * Emits the indices of its splits, one batch per pollNext, taking the splits in turn (so that
 * several unbounded splits all progress). Its checkpoint state is the list of splits with their
 * next index.
 */
export class GeneratorSourceReader<T> implements SourceReader<T> {
  readonly #generate: (index: number) => T;
  /** Mutable copies; `next` advances. Exhausted splits are dropped. */
  readonly #splits: Array<{ next: number; step: number; end: number }>;
  #turn = 0;
  /** Records per millisecond for this subtask, or undefined when unlimited. */
  readonly #ratePerMs: number | undefined;
  readonly #now: () => number;
  /** Rate limiter: record k after `#rateStart` is due at `#rateStart + k / #ratePerMs`. */
  #rateStart: number | undefined;
  #emittedSinceStart = 0;

  constructor(
    generate: (index: number) => T,
    splits: readonly GeneratorSplit[],
    ratePerSecond: number | undefined,
    now: () => number,
  ) {
    this.#generate = generate;
    this.#splits = splits
      .map((s) => ({ next: s.next, step: s.step, end: s.end ?? Infinity }))
      .filter((s) => s.next < s.end);
    this.#ratePerMs = ratePerSecond === undefined ? undefined : ratePerSecond / 1000;
    this.#now = now;
  }

  /** The next index of the first remaining split (undefined when exhausted); for tests and logs. */
  get position(): number | undefined {
    return this.#splits[0]?.next;
  }

  /** Checkpoint state: the remaining splits, each with the next index to emit. */
  snapshotState(): GeneratorSplit[] {
    return this.#splits.map((s) => ({ next: s.next, step: s.step, end: s.end === Infinity ? null : s.end }));
  }

  pollNext(output: SourceOutput<T>): PollStatus {
    if (this.#splits.length === 0) return 'end';
    let budget = GENERATOR_BATCH_SIZE;
    if (this.#ratePerMs !== undefined) {
      budget = this.#rateBudget();
      if (budget <= 0) return this.#msUntilNextDue();
    }
    if (this.#turn >= this.#splits.length) this.#turn = 0;
    const split = this.#splits[this.#turn]!;
    const generate = this.#generate;
    const { step, end } = split;
    let emitted = 0;
    while (emitted < budget && split.next < end) {
      // Downstream full: stop here and wait between records, where checkpoints still happen.
      if (emitted > 0 && output.hasRoom?.() === false) break;
      const index = split.next;
      // Advance before emitting: a checkpoint taken inside collect() (never, barriers come
      // between polls) or an error leaves the split exactly after the last emitted record.
      split.next = index + step;
      emitted++;
      output.collect(generate(index));
    }
    this.#emittedSinceStart += emitted;
    if (split.next >= end) this.#splits.splice(this.#turn, 1);
    else this.#turn++;
    if (this.#splits.length === 0) return 'end';
    if (this.#ratePerMs !== undefined && this.#rateBudget() <= 0) return this.#msUntilNextDue();
    return 'more';
  }

  /**
   * How many records are due now, at most one batch. The debt that builds up while the reader
   * is not polled (backpressure, a slow chain) is capped at one second of records, like
   * Guava's SmoothBursty limiter behind Flink's `RateLimiterStrategy.perSecond`.
   */
  #rateBudget(): number {
    const ratePerMs = this.#ratePerMs!;
    const now = this.#now();
    if (this.#rateStart === undefined) {
      this.#rateStart = now;
      this.#emittedSinceStart = 0;
    }
    const maxDebt = Math.max(1, Math.floor(ratePerMs * 1000));
    let due = Math.floor((now - this.#rateStart) * ratePerMs) + 1 - this.#emittedSinceStart;
    if (due > maxDebt) {
      // Rebase the schedule so exactly `maxDebt` records are due now.
      this.#rateStart = now - (this.#emittedSinceStart + maxDebt - 1) / ratePerMs;
      due = maxDebt;
    }
    return Math.min(due, GENERATOR_BATCH_SIZE);
  }

  /** Milliseconds until the next record is due (at least 1, so the runtime really waits). */
  #msUntilNextDue(): number {
    const dueAt = this.#rateStart! + this.#emittedSinceStart / this.#ratePerMs!;
    return Math.max(1, Math.ceil(dueAt - this.#now()));
  }
}

function invalid(message: string): WeirError {
  return new WeirError('WEIR_INVALID_OPTION', message);
}

/** A short rendering of a bad option value for an error message. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}
