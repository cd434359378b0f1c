/**
 * WatermarkStrategy (Flink's name and factory methods): how a stream gets event timestamps and
 * watermarks — a timestamp assigner, bounded out-of-orderness, idleness. Built by the job module
 * on every thread; its WatermarkEmitter runs where the strategy is applied (the source subtask,
 * or an assignTimestampsAndWatermarks operator) on that subtask's worker thread.
 */
import { WeirError } from '../../errors.ts';
import type { ProcessingTimeService } from './processing-time-service.ts';

/** Returns the event time (ms) of a record; `previous` is the timestamp it already carries (NaN: none). */
export type TimestampAssigner<T> = (record: T, previous: number) => number;

interface StrategyConfig<T> {
  /** Watermark = max timestamp − bound − 1; undefined: no watermarks (only the final +∞). */
  readonly outOfOrdernessMs: number | undefined;
  readonly assigner: TimestampAssigner<T> | undefined;
  /** A subtask that emits nothing for this long is marked idle (holds no watermark back). */
  readonly idlenessMs: number | undefined;
}

export class WatermarkStrategy<T> {
  /** @internal */
  readonly config: StrategyConfig<T>;

  private constructor(config: StrategyConfig<T>) {
    this.config = config;
  }

  /** Watermarks trail the highest timestamp seen by `maxOutOfOrdernessMs` (+1 ms, as in Flink). */
  static forBoundedOutOfOrderness<T>(maxOutOfOrdernessMs: number): WatermarkStrategy<T> {
    if (!Number.isFinite(maxOutOfOrdernessMs) || maxOutOfOrdernessMs < 0) {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `forBoundedOutOfOrderness() expects a non-negative number of milliseconds, got ${String(maxOutOfOrdernessMs)}`,
      );
    }
    return new WatermarkStrategy<T>({ outOfOrdernessMs: maxOutOfOrdernessMs, assigner: undefined, idlenessMs: undefined });
  }

  /** Timestamps never decrease within a subtask: the watermark follows the highest one. */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return WatermarkStrategy.forBoundedOutOfOrderness<T>(0);
  }

  /** Timestamps (if assigned) but no watermarks; event time only ends with the input (+∞). */
  static noWatermarks<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>({ outOfOrdernessMs: undefined, assigner: undefined, idlenessMs: undefined });
  }

  /** Where each record's event time comes from. */
  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    if (typeof assigner !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `withTimestampAssigner() expects a function, got ${assigner === null ? 'null' : typeof assigner}`);
    }
    return new WatermarkStrategy<T>({ ...this.config, assigner });
  }

  /**
   * A subtask that emits no record for `timeoutMs` (processing time) is marked idle: downstream
   * operators stop waiting for its watermark until it emits again (Flink's withIdleness).
   */
  withIdleness(timeoutMs: number): WatermarkStrategy<T> {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `withIdleness() expects a positive number of milliseconds, got ${String(timeoutMs)}`);
    }
    return new WatermarkStrategy<T>({ ...this.config, idlenessMs: timeoutMs });
  }
}

/** Where an emitter sends watermarks and status changes. */
export interface WatermarkOutput {
  emitWatermark(timestamp: number): void;
  emitWatermarkStatus(idle: boolean): void;
}

/** Schedules `emitter.onPeriodicEmit` every `intervalMs` on the subtask's processing-time service until `stop()`. */
export function schedulePeriodicEmit(
  service: ProcessingTimeService,
  intervalMs: number,
  emit: () => void,
): { stop(): void } {
  let current: { cancel(): void } | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    emit();
    current = service.register(service.now() + intervalMs, tick);
  };
  current = service.register(service.now() + intervalMs, tick);
  return {
    stop: () => {
      stopped = true;
      current?.cancel();
    },
  };
}

/**
 * Applies a strategy in one subtask: assigns timestamps record by record, emits the watermark
 * periodically (`onPeriodicEmit`, every auto-watermark interval) when it advanced, tracks
 * idleness, and emits the final +∞ at the end of input.
 */
export class WatermarkEmitter<T> {
  readonly #assigner: TimestampAssigner<T> | undefined;
  readonly #bound: number | undefined;
  readonly #idlenessMs: number | undefined;
  readonly #output: WatermarkOutput;
  readonly #describe: () => string;
  readonly #clock: () => number;
  #maxTimestamp = -Infinity;
  #emitted = -Infinity;
  #ended = false;
  #idle = false;
  /** Processing time of the last record (for idleness). */
  #lastRecordAt: number;

  constructor(strategy: WatermarkStrategy<T>, output: WatermarkOutput, clock: () => number, describe: () => string) {
    this.#assigner = strategy.config.assigner;
    this.#bound = strategy.config.outOfOrdernessMs;
    this.#idlenessMs = strategy.config.idlenessMs;
    this.#output = output;
    this.#describe = describe;
    this.#clock = clock;
    this.#lastRecordAt = clock();
  }

  /** The event time of `record` (a record of an idle subtask first makes it active again). */
  onRecord(record: T, previous: number): number {
    let timestamp = previous;
    if (this.#assigner !== undefined) {
      try {
        timestamp = this.#assigner(record, previous);
      } catch (error) {
        throw new WeirError('WEIR_USER_FUNCTION_FAILED', `${this.#describe()}: the timestamp assigner failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
      throw new WeirError(
        'WEIR_INVALID_TIMESTAMP',
        this.#assigner === undefined
          ? `${this.#describe()}: a record has no event timestamp: give the WatermarkStrategy a timestamp assigner (withTimestampAssigner)`
          : `${this.#describe()}: the timestamp assigner returned ${String(timestamp)}, expected a finite number of milliseconds`,
        { context: { timestamp: String(timestamp) } },
      );
    }
    if (timestamp > this.#maxTimestamp) this.#maxTimestamp = timestamp;
    if (this.#idlenessMs !== undefined) this.#lastRecordAt = this.#clock(); // the clock only when idleness is on
    if (this.#idle) {
      this.#idle = false;
      this.#output.emitWatermarkStatus(false);
    }
    return timestamp;
  }

  /** Emits the watermark if it advanced; marks the subtask idle after the idleness timeout. */
  onPeriodicEmit(): void {
    if (this.#idle) return;
    const now = this.#clock();
    if (this.#idlenessMs !== undefined && now - this.#lastRecordAt >= this.#idlenessMs) {
      this.#idle = true;
      this.#output.emitWatermarkStatus(true);
      return;
    }
    if (this.#bound === undefined || this.#maxTimestamp === -Infinity) return;
    const watermark = this.#maxTimestamp - this.#bound - 1;
    if (watermark > this.#emitted) {
      this.#emitted = watermark;
      this.#output.emitWatermark(watermark);
    }
  }

  /** End of input: event time is complete (+∞ closes every window downstream). */
  onEnd(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#idle) {
      this.#idle = false;
      this.#output.emitWatermarkStatus(false);
    }
    this.#emitted = Infinity;
    this.#output.emitWatermark(Infinity);
  }
}
