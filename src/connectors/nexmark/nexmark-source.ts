/**
 * NexmarkSource: the Nexmark event stream as a source, event n being `NexmarkGenerator.eventAt(n)`,
 * dealt to the source subtasks by event number modulo the parallelism. The constructor runs
 * wherever the job module is evaluated (it only validates options); each reader runs on its
 * source subtask's worker thread and builds its own generator there.
 *
 * Why strided splits rather than contiguous ranges (as GeneratorSource's bounded ranges): event
 * time grows with the event number, so strided subtasks advance through event time together and
 * the watermark (the minimum over channels) never waits for one subtask to cross half the data.
 */

import { WeirError } from '../../errors.ts';
import type {
  PollStatus,
  Source,
  SourceOutput,
  SourceReader,
  SourceReaderContext,
} from '../../task/source.ts';
import { NexmarkGenerator } from './generator.ts';
import { describe, invalid, resolveNexmarkConfig, type NexmarkConfig, type NexmarkGeneratorOptions } from './generator-config.ts';
import type { NexmarkEvent } from './model.ts';

export interface NexmarkSourceOptions extends Omit<NexmarkGeneratorOptions, 'numEvents'> {
  /** Number of events, event numbers [0, count). Omitted: unbounded. */
  count?: number;
  /**
   * Wall-clock limit: events per second across all subtasks (each gets rate / parallelism).
   * Omitted: as fast as possible. Independent of `eventsPerSecond`, the event-time rate.
   */
  ratePerSecond?: number;
  /**
   * Monotonic clock in milliseconds used by the rate limiter; defaults to `performance.now`.
   * @internal for tests.
   */
  now?: () => number;
}

/** Events emitted per `pollNext` at most, so the runtime regains control between batches. */
export const NEXMARK_BATCH_SIZE = 1024;

/**
 * A checkpointed split: split `split` of `splits` owns the event numbers ≡ split (mod splits)
 * below the source's count; `next` is the next one to emit. Stands alone, so the entries of a
 * checkpoint can be dealt to any parallelism. Plain data.
 */
export interface NexmarkSplit {
  readonly split: number;
  readonly splits: number;
  readonly next: number;
}

export class NexmarkSource implements Source<NexmarkEvent> {
  readonly #config: NexmarkConfig;
  readonly #ratePerSecond: number | undefined;
  readonly #now: () => number;

  constructor(options: NexmarkSourceOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw invalid(`NexmarkSource options must be an object, got ${describe(options)}`);
    }
    const { count, ratePerSecond, now } = options;
    if (count !== undefined && !(Number.isSafeInteger(count) && count >= 0)) {
      throw invalid(`NexmarkSource options.count must be a non-negative integer, got ${describe(count)}`);
    }
    if (
      ratePerSecond !== undefined &&
      !(typeof ratePerSecond === 'number' && Number.isFinite(ratePerSecond) && ratePerSecond > 0)
    ) {
      throw invalid(`NexmarkSource options.ratePerSecond must be a positive finite number, got ${describe(ratePerSecond)}`);
    }
    if (now !== undefined && typeof now !== 'function') {
      throw invalid(`NexmarkSource options.now must be a function, got ${describe(now)}`);
    }
    const generatorOptions: NexmarkGeneratorOptions = { ...options };
    if (count !== undefined) generatorOptions.numEvents = count;
    this.#config = resolveNexmarkConfig(generatorOptions, 'NexmarkSource');
    this.#ratePerSecond = ratePerSecond;
    this.#now = now ?? (() => performance.now());
  }

  /** Total number of events, or undefined when unbounded. */
  get count(): number | undefined {
    return this.#config.numEvents;
  }

  /** The generator configuration, defaults filled in. */
  get config(): NexmarkConfig {
    return this.#config;
  }

  createReader(context: SourceReaderContext): NexmarkSourceReader {
    const { subtaskIndex, parallelism } = context;
    const rate = this.#ratePerSecond === undefined ? undefined : this.#ratePerSecond / parallelism;
    const splits =
      context.restoredState === undefined
        ? [{ split: subtaskIndex, splits: parallelism, next: subtaskIndex }]
        : context.restoredState.map(toSplit);
    return new NexmarkSourceReader(new NexmarkGenerator(this.#config), splits, rate, this.#now);
  }
}

function toSplit(value: unknown): NexmarkSplit {
  const s = value as NexmarkSplit;
  const ok =
    typeof s === 'object' && s !== null &&
    Number.isSafeInteger(s.splits) && s.splits >= 1 &&
    Number.isSafeInteger(s.split) && s.split >= 0 && s.split < s.splits &&
    Number.isSafeInteger(s.next) && s.next >= 0 && s.next % s.splits === s.split;
  if (!ok) throw new WeirError('WEIR_SOURCE_FAILED', `NexmarkSource cannot restore the split ${JSON.stringify(value)}`, { retriable: false });
  return { split: s.split, splits: s.splits, next: s.next };
}

/**
 * Emits the events of its splits in increasing event number: with one split (the usual case)
 * straight through; with several (after a restore at a lower parallelism) always from the split
 * whose next event number is smallest, so a subtask's output stays in event-time order.
 */
export class NexmarkSourceReader implements SourceReader<NexmarkEvent> {
  readonly #generator: NexmarkGenerator;
  /** Mutable copies; `next` advances. Exhausted splits are dropped. */
  readonly #splits: Array<{ split: number; splits: number; next: number }>;
  readonly #end: number;
  readonly #limiter: RateLimiter | undefined;

  constructor(generator: NexmarkGenerator, splits: readonly NexmarkSplit[], ratePerSecond: number | undefined, now: () => number) {
    this.#generator = generator;
    this.#end = generator.config.numEvents ?? Infinity;
    this.#splits = splits.map((s) => ({ ...s })).filter((s) => s.next < this.#end);
    this.#limiter = ratePerSecond === undefined ? undefined : new RateLimiter(ratePerSecond, now);
  }

  /** The next event number this reader emits (undefined when exhausted); for tests and logs. */
  get position(): number | undefined {
    return this.#splits.length === 0 ? undefined : this.#splits[this.#nextSplitIndex()]!.next;
  }

  /** Checkpoint state: the remaining splits, each with the next event number to emit. */
  snapshotState(): NexmarkSplit[] {
    return this.#splits.map((s) => ({ split: s.split, splits: s.splits, next: s.next }));
  }

  pollNext(output: SourceOutput<NexmarkEvent>): PollStatus {
    if (this.#splits.length === 0) return 'end';
    let budget = NEXMARK_BATCH_SIZE;
    if (this.#limiter !== undefined) {
      budget = this.#limiter.budget(NEXMARK_BATCH_SIZE);
      if (budget <= 0) return this.#limiter.msUntilNextDue();
    }
    const emitted = this.#splits.length === 1 ? this.#emitSingle(output, budget) : this.#emitMerged(output, budget);
    this.#limiter?.emitted(emitted);
    if (this.#splits.length === 0) return 'end';
    if (this.#limiter !== undefined && this.#limiter.budget(1) <= 0) return this.#limiter.msUntilNextDue();
    return 'more';
  }

  /** The hot loop: one split, up to `budget` events. */
  #emitSingle(output: SourceOutput<NexmarkEvent>, budget: number): number {
    const split = this.#splits[0]!;
    const generator = this.#generator;
    const step = split.splits;
    const end = this.#end;
    let emitted = 0;
    while (emitted < budget && split.next < end) {
      if (emitted > 0 && output.hasRoom?.() === false) break; // downstream full: wait between events
      const eventNumber = split.next;
      // Advance before emitting, so an error in collect() leaves the split after the last event.
      split.next = eventNumber + step;
      emitted++;
      output.collect(generator.eventAt(eventNumber));
    }
    if (split.next >= end) this.#splits.length = 0;
    return emitted;
  }

  /** Several splits: each event from the split with the smallest next event number. */
  #emitMerged(output: SourceOutput<NexmarkEvent>, budget: number): number {
    let emitted = 0;
    while (emitted < budget && this.#splits.length > 0) {
      if (emitted > 0 && output.hasRoom?.() === false) break; // downstream full: wait between events
      const index = this.#nextSplitIndex();
      const split = this.#splits[index]!;
      const eventNumber = split.next;
      split.next = eventNumber + split.splits;
      if (split.next >= this.#end) this.#splits.splice(index, 1);
      emitted++;
      output.collect(this.#generator.eventAt(eventNumber));
    }
    return emitted;
  }

  #nextSplitIndex(): number {
    let best = 0;
    for (let i = 1; i < this.#splits.length; i++) if (this.#splits[i]!.next < this.#splits[best]!.next) best = i;
    return best;
  }
}

/**
 * Paces a reader at `ratePerSecond` on the given clock: event k after the start is due at
 * start + k / rate. The debt that builds up while the reader is not polled (backpressure) is
 * capped at one second of events, like GeneratorSource (Guava's SmoothBursty behind Flink's
 * `RateLimiterStrategy.perSecond`).
 */
class RateLimiter {
  readonly #ratePerMs: number;
  readonly #now: () => number;
  #start: number | undefined;
  #emittedSinceStart = 0;

  constructor(ratePerSecond: number, now: () => number) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#now = now;
  }

  /** How many events are due now, at most `max`. */
  budget(max: number): number {
    const now = this.#now();
    if (this.#start === undefined) {
      this.#start = now;
      this.#emittedSinceStart = 0;
    }
    const maxDebt = Math.max(1, Math.floor(this.#ratePerMs * 1000));
    let due = Math.floor((now - this.#start) * this.#ratePerMs) + 1 - this.#emittedSinceStart;
    if (due > maxDebt) {
      // Rebase the schedule so exactly `maxDebt` events are due now.
      this.#start = now - (this.#emittedSinceStart + maxDebt - 1) / this.#ratePerMs;
      due = maxDebt;
    }
    return Math.min(due, max);
  }

  emitted(count: number): void {
    this.#emittedSinceStart += count;
  }

  /** Milliseconds until the next event is due (at least 1, so the runtime really waits). */
  msUntilNextDue(): number {
    const dueAt = this.#start! + this.#emittedSinceStart / this.#ratePerMs;
    return Math.max(1, Math.ceil(dueAt - this.#now()));
  }
}
