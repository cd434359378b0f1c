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
    if (this.#count === undefined) {
      return new GeneratorSourceReader(this.#generate, subtaskIndex, parallelism, Infinity, rate, this.#now);
    }
    const [start, end] = generatorRange(this.#count, subtaskIndex, parallelism);
    return new GeneratorSourceReader(this.#generate, start, 1, end, rate, this.#now);
  }
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
 * Emits indices first, first + stride, … below `end`. Bounded subtasks use stride 1 over their
 * range; unbounded ones stride by the parallelism with `end` = Infinity.
 */
export class GeneratorSourceReader<T> implements SourceReader<T> {
  readonly #generate: (index: number) => T;
  readonly #first: number;
  readonly #stride: number;
  readonly #end: number;
  /** Records per millisecond for this subtask, or undefined when unlimited. */
  readonly #ratePerMs: number | undefined;
  readonly #now: () => number;
  #position: number;
  /** Rate limiter: record k after `#rateBase` is due at `#rateStart + k / #ratePerMs`. */
  #rateStart: number | undefined;
  #emittedSinceStart = 0;

  constructor(
    generate: (index: number) => T,
    first: number,
    stride: number,
    end: number,
    ratePerSecond: number | undefined,
    now: () => number,
  ) {
    this.#generate = generate;
    this.#first = first;
    this.#stride = stride;
    this.#end = end;
    this.#ratePerMs = ratePerSecond === undefined ? undefined : ratePerSecond / 1000;
    this.#now = now;
    this.#position = first;
  }

  /** The next index this reader will emit (its end when exhausted); what a checkpoint stores. */
  get position(): number {
    return this.#position;
  }

  /**
   * Continues from `position`, which must be an index this reader owns (or its end). Restarts
   * the rate limiter's clock.
   */
  seek(position: number): void {
    const owned =
      Number.isSafeInteger(position) &&
      position >= this.#first &&
      position <= this.#end &&
      (position - this.#first) % this.#stride === 0;
    if (!owned) {
      const range =
        this.#stride === 1
          ? `[${this.#first}, ${this.#end}]`
          : `${this.#first} + k·${this.#stride}`;
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `GeneratorSource reader cannot seek to ${describe(position)}: this subtask owns ${range}`,
      );
    }
    this.#position = position;
    this.#rateStart = undefined;
    this.#emittedSinceStart = 0;
  }

  pollNext(output: SourceOutput<T>): PollStatus {
    if (this.#position >= this.#end) return 'end';
    let budget = GENERATOR_BATCH_SIZE;
    if (this.#ratePerMs !== undefined) {
      budget = this.#rateBudget();
      if (budget <= 0) return this.#msUntilNextDue();
    }
    const generate = this.#generate;
    const stride = this.#stride;
    const end = this.#end;
    let position = this.#position;
    let emitted = 0;
    while (emitted < budget && position < end) {
      output.collect(generate(position));
      position += stride;
      emitted++;
      // Advance after each record so a throwing generate/collect leaves an exact position.
      this.#position = position;
    }
    this.#emittedSinceStart += emitted;
    if (position >= end) return 'end';
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
