/**
 * BufferDebloater: decides how many bytes each input channel of one consumer may hold in flight,
 * so that all its channels together hold about `targetMs` of the consumer's throughput (Flink's
 * buffer debloating). Pure: it keeps no clock and touches no ring; DebloatDriver feeds it bytes
 * and times on the consumer subtask's thread and applies its answers to the rings.
 *
 * Once per period (Flink's BufferDebloater + BufferSizeEMA + ThroughputCalculator):
 *
 *   throughput  = bytes consumed / busy time           busy = period minus paused (idle) time, so
 *                                                       this is the rate "if always busy"; a period
 *                                                       with no busy time keeps the last throughput
 *   desirable   = min(throughput × targetMs / channelsInUse, 2 × size)
 *   size       += alpha × (desirable − size)            alpha = 2 / (samples + 1), an EMA over about
 *   size        = clamp(size, minBytes, maxBytes)        `samples` periods; the 2 × cap makes growth as
 *                                                       slow as shrinking (both by ≤ alpha × size)
 *   announce round(size) if it differs from the announced size by ≥ thresholdPercent of it, or
 *   it reached minBytes or maxBytes (a bound is always announced, so a ring can get there).
 *
 * The EMA runs every period whether or not its result is announced; the announced size starts
 * at maxBytes (a fresh ring's usable capacity is its capacity).
 */
import { WeirError } from '../errors.ts';

/** Flink's defaults (taskmanager.network.memory.buffer-debloat.*). */
export const DEBLOAT_DEFAULTS = {
  targetMs: 1000,
  periodMs: 200,
  samples: 20,
  thresholdPercent: 25,
} as const;

export interface BufferDebloaterOptions {
  /** Input channels of the gate: the default divisor of the desired in-flight bytes. */
  channels: number;
  /** In-flight data to aim for, in milliseconds of throughput. Default 1000. */
  targetMs?: number;
  /** How often a new size is computed. Default 200. */
  periodMs?: number;
  /** Periods the size is averaged over (EMA). Default 20. */
  samples?: number;
  /** Smallest relative change, in percent of the current size, worth announcing. Default 25. */
  thresholdPercent?: number;
  /** Lower bound of the per-channel size, bytes. */
  minBytes: number;
  /** Upper bound of the per-channel size, bytes; also the starting size. */
  maxBytes: number;
  /** Start of the first period. Omitted: the first maybeUpdate() call starts it. */
  startMs?: number;
}

export class BufferDebloater {
  readonly channels: number;
  readonly targetMs: number;
  readonly periodMs: number;
  readonly samples: number;
  readonly thresholdPercent: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly #alpha: number;
  /** Bytes consumed per channel since construction, for metrics. */
  readonly #consumed: Float64Array;
  #periodBytes = 0;
  #periodStart: number | undefined;
  /** Start of the running busy stretch; undefined while measurement is paused. */
  #busySince: number | undefined;
  #busyMs = 0;
  #paused = false;
  /** The EMA state: unrounded and unannounced. */
  #size: number;
  #announced: number;
  #throughput = 0;
  #estimatedTimeToConsumeMs = 0;
  #updates = 0;

  constructor(options: BufferDebloaterOptions) {
    const {
      channels,
      targetMs = DEBLOAT_DEFAULTS.targetMs,
      periodMs = DEBLOAT_DEFAULTS.periodMs,
      samples = DEBLOAT_DEFAULTS.samples,
      thresholdPercent = DEBLOAT_DEFAULTS.thresholdPercent,
      minBytes,
      maxBytes,
      startMs,
    } = options;
    if (!Number.isSafeInteger(channels) || channels < 1) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `BufferDebloater needs a positive integer number of channels, got ${channels}`);
    }
    this.channels = channels;
    this.targetMs = checkNumber('targetMs', targetMs, positiveFinite, 'a positive number of milliseconds');
    this.periodMs = checkNumber('periodMs', periodMs, positiveFinite, 'a positive number of milliseconds');
    this.samples = checkNumber('samples', samples, positiveInteger, 'a positive integer');
    this.thresholdPercent = checkNumber('thresholdPercent', thresholdPercent, (v) => v >= 0 && v <= 100, 'a number between 0 and 100');
    this.minBytes = checkNumber('minBytes', minBytes, positiveInteger, 'a positive integer number of bytes');
    this.maxBytes = checkNumber('maxBytes', maxBytes, (v) => positiveInteger(v) && v >= this.minBytes, `an integer number of bytes ≥ minBytes (${this.minBytes})`);
    if (startMs !== undefined && !Number.isFinite(startMs)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `BufferDebloater startMs must be a finite number, got ${startMs}`);
    }
    this.#alpha = 2 / (this.samples + 1);
    this.#consumed = new Float64Array(channels);
    this.#size = this.maxBytes;
    this.#announced = this.maxBytes;
    if (startMs !== undefined) this.#startPeriod(startMs);
  }

  /** The per-channel size last announced (initially maxBytes). */
  get currentSizeBytes(): number {
    return this.#announced;
  }

  /** Busy throughput of the last completed period, bytes per second (0 before the first). */
  get throughputBytesPerSecond(): number {
    return this.#throughput;
  }

  /**
   * How long the consumer needs for the data its channels may hold: currentSizeBytes × channels
   * in use / throughput, in ms (throughput taken as ≥ 1 B/s, as in Flink; 0 before the first
   * period). An upper bound: DebloatDriver reports the time for the data actually in flight.
   */
  get estimatedTimeToConsumeMs(): number {
    return this.#estimatedTimeToConsumeMs;
  }

  /** Periods completed so far (each one recomputed the size, announced or not). */
  get updates(): number {
    return this.#updates;
  }

  /** Bytes consumed from `channel` so far. */
  consumedBytes(channel: number): number {
    return this.#consumed[channel] ?? 0;
  }

  /** True between pauseMeasurement() and resumeMeasurement(). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Hot path (once per drained batch): counts `bytes` consumed from `channel`. No validation. */
  recordConsumed(channel: number, bytes: number): void {
    this.#periodBytes += bytes;
    this.#consumed[channel]! += bytes;
  }

  /** The consumer has nothing to do (about to sleep): time from `nowMs` does not count as busy. */
  pauseMeasurement(nowMs: number): void {
    if (this.#paused) return;
    this.#paused = true;
    if (this.#busySince !== undefined) {
      this.#busyMs += Math.max(0, nowMs - this.#busySince);
      this.#busySince = undefined;
    }
  }

  /** The consumer is busy again from `nowMs`. */
  resumeMeasurement(nowMs: number): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#periodStart !== undefined) this.#busySince = nowMs;
  }

  /**
   * When a period has passed since the last update (or start): recomputes the size and returns
   * it if it is to be announced, else undefined. `channelsInUse` (default: all channels; at
   * least 1) divides the desired in-flight bytes, e.g. the channels not yet ended.
   */
  maybeUpdate(nowMs: number, channelsInUse: number = this.channels): number | undefined {
    const start = this.#periodStart;
    if (start === undefined) {
      this.#startPeriod(nowMs);
      return undefined;
    }
    if (nowMs - start < this.periodMs) return undefined;
    if (this.#busySince !== undefined) this.#busyMs += Math.max(0, nowMs - this.#busySince);
    if (this.#busyMs > 0) this.#throughput = (this.#periodBytes * 1000) / this.#busyMs;
    this.#startPeriod(nowMs);
    this.#updates++;

    const divisor = Math.max(1, channelsInUse);
    const desirable = Math.min((this.#throughput * this.targetMs) / 1000 / divisor, 2 * this.#size);
    this.#size += this.#alpha * (desirable - this.#size);
    this.#size = Math.max(this.minBytes, Math.min(this.#size, this.maxBytes));
    const next = Math.round(this.#size);
    const announce = this.#shouldAnnounce(next);
    if (announce) this.#announced = next;
    this.#estimatedTimeToConsumeMs = (this.#announced * divisor * 1000) / Math.max(1, this.#throughput);
    return announce ? next : undefined;
  }

  #shouldAnnounce(next: number): boolean {
    const current = this.#announced;
    if (next === current) return false;
    if (next <= this.minBytes || next >= this.maxBytes) return true;
    return Math.abs(next - current) >= (current * this.thresholdPercent) / 100;
  }

  #startPeriod(nowMs: number): void {
    this.#periodStart = nowMs;
    this.#periodBytes = 0;
    this.#busyMs = 0;
    this.#busySince = this.#paused ? undefined : nowMs;
  }
}

function positiveFinite(value: number): boolean {
  return Number.isFinite(value) && value > 0;
}

function positiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

function checkNumber(name: string, value: unknown, ok: (v: number) => boolean, expected: string): number {
  if (typeof value !== 'number' || !ok(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new WeirError('WEIR_INVALID_OPTION', `options.debloat.${name} must be ${expected}, got ${shown}`, {
      context: { option: `debloat.${name}` },
    });
  }
  return value;
}
