/**
 * DebloatDriver: buffer debloating for one input gate. The gate reports the bytes it consumes per
 * channel; once per period the driver asks its BufferDebloater for a new per-channel size and
 * writes it into the usable-capacity word of every open channel's ring, where the producer's
 * RingWriter picks it up (ring-buffer.ts), and measures its metrics (the size in force, the data in
 * flight and how long it takes to consume), which it publishes to a DebloatMetricsSink (the
 * subtask's TaskControl, read by the coordinator for progress and results). Runs on the consumer
 * subtask's thread; the input gate owns it, the subtask loop pauses its measurement when the gate
 * runs dry and attaches the sink.
 */
import { WeirError } from '../errors.ts';
import { BufferDebloater, DEBLOAT_DEFAULTS } from './buffer-debloater.ts';
import { RING_HEADER_BYTES, RING_MIN_CAPACITY, ringFill, setUsableCapacity, usableCapacity } from './ring-buffer.ts';

/** The user-facing settings (the proposed `options.debloat` object); every field optional. */
export interface DebloatSettings {
  /** In-flight data to aim for, in ms of the consumer's throughput. Default 1000 (Flink). */
  targetMs?: number;
  /** How often the size is recomputed, ms. Default 200 (Flink). */
  periodMs?: number;
  /** Periods the size is averaged over (EMA). Default 20 (Flink). */
  samples?: number;
  /** Smallest change worth announcing, percent of the current size. Default 25 (Flink). */
  thresholdPercent?: number;
  /**
   * Smallest usable bytes per channel. Default 1 KiB (RING_MIN_CAPACITY, the smallest ring Weir
   * allows), or the ring capacity if smaller. A frame larger than this still passes: the writer
   * always lets one frame into an empty ring.
   */
  minBytes?: number;
  /** Largest usable bytes per channel. Default: the ring capacity (options.ringBytes). */
  maxBytes?: number;
}

/**
 * One input gate's buffer-debloating metrics as of the end of the last period (Flink's task
 * metrics `debloatedBufferSize` and `estimatedTimeToConsumeBuffersMs`, plus what they come from).
 */
export interface DebloatMetrics {
  /** Usable bytes per channel last announced to the producers (starts at maxBytes). */
  readonly debloatedBufferSize: number;
  /** Time the subtask needs to consume the data in flight: inFlightBytes / throughput, ms (throughput ≥ 1 B/s, as in Flink); 0 before the first period. */
  readonly estimatedTimeToConsumeBuffersMs: number;
  /** The largest estimatedTimeToConsumeBuffersMs measured so far. */
  readonly maxEstimatedTimeToConsumeBuffersMs: number;
  /** Bytes waiting in the gate's channel rings (published, not yet consumed). */
  readonly inFlightBytes: number;
  /** The subtask's busy throughput over the last period, bytes/s. */
  readonly throughputBytesPerSecond: number;
}

/** Receives a gate's metrics after every period (TaskControl implements it). */
export interface DebloatMetricsSink {
  reportDebloat(metrics: DebloatMetrics): void;
}

export class DebloatDriver {
  readonly #rings: readonly SharedArrayBuffer[];
  readonly #ended: boolean[];
  readonly #debloater: BufferDebloater;
  readonly #clock: () => number;
  #open: number;
  /** The debloater's period count when the metrics were last measured. */
  #measuredPeriods = 0;
  #metrics: DebloatMetrics;
  #sink: DebloatMetricsSink | undefined;

  /** `clock` returns milliseconds (default performance.now); tests inject a fake one. */
  constructor(rings: readonly SharedArrayBuffer[], settings: DebloatSettings = {}, clock: () => number = () => performance.now()) {
    if (rings.length === 0) throw new WeirError('WEIR_INVALID_ARGUMENT', 'DebloatDriver needs at least one input ring');
    // usableCapacity() validates each ring; every ring of a gate normally has options.ringBytes.
    let capacity = Infinity;
    for (const ring of rings) {
      usableCapacity(ring);
      capacity = Math.min(capacity, ring.byteLength - RING_HEADER_BYTES);
    }
    const maxBytes = settings.maxBytes ?? capacity;
    if (maxBytes > capacity) {
      throw new WeirError('WEIR_INVALID_OPTION', `options.debloat.maxBytes must be at most the ring capacity ${capacity}, got ${maxBytes}`, {
        context: { option: 'debloat.maxBytes' },
      });
    }
    const minBytes = settings.minBytes ?? Math.min(RING_MIN_CAPACITY, maxBytes);
    this.#rings = rings;
    this.#ended = rings.map(() => false);
    this.#open = rings.length;
    this.#clock = clock;
    this.#debloater = new BufferDebloater({
      channels: rings.length,
      targetMs: settings.targetMs ?? DEBLOAT_DEFAULTS.targetMs,
      periodMs: settings.periodMs ?? DEBLOAT_DEFAULTS.periodMs,
      samples: settings.samples ?? DEBLOAT_DEFAULTS.samples,
      thresholdPercent: settings.thresholdPercent ?? DEBLOAT_DEFAULTS.thresholdPercent,
      minBytes,
      maxBytes,
      startMs: clock(),
    });
    // The debloater starts at maxBytes: make the rings agree when it is below their capacity.
    for (const ring of rings) if (usableCapacity(ring) !== maxBytes) setUsableCapacity(ring, maxBytes);
    this.#metrics = {
      debloatedBufferSize: maxBytes,
      estimatedTimeToConsumeBuffersMs: 0,
      maxEstimatedTimeToConsumeBuffersMs: 0,
      inFlightBytes: 0,
      throughputBytesPerSecond: 0,
    };
  }

  /** The metrics as of the last period (a new object each period; never mutated). */
  get metrics(): DebloatMetrics {
    return this.#metrics;
  }

  /** Publishes the metrics to `sink` now and after every period from now on (one sink; a second call replaces it). */
  publishTo(sink: DebloatMetricsSink): void {
    this.#sink = sink;
    sink.reportDebloat(this.#metrics);
  }

  /** Per-channel usable bytes last announced. Metric `debloatedBufferSize`. */
  get currentSizeBytes(): number {
    return this.#debloater.currentSizeBytes;
  }

  /** Busy throughput of the gate over the last period, bytes/s. */
  get throughputBytesPerSecond(): number {
    return this.#debloater.throughputBytesPerSecond;
  }

  /** Metric `estimatedTimeToConsumeBuffersMs`: bytes in flight at the last period / throughput, ms. */
  get estimatedTimeToConsumeMs(): number {
    return this.#metrics.estimatedTimeToConsumeBuffersMs;
  }

  /** Bytes in the gate's rings at the last period. */
  get inFlightBytes(): number {
    return this.#metrics.inFlightBytes;
  }

  /** Bytes consumed from `channel` so far. */
  consumedBytes(channel: number): number {
    return this.#debloater.consumedBytes(channel);
  }

  /**
   * Hot path: the gate read `bytes` of ring (frames and PADs) from `channel`; call once per
   * drained batch. Bytes after a pause resume the measurement (as Flink's incoming data does), so
   * the subtask loop need only pause it; the batch's own time then counts as idle, a slight
   * overestimate of the throughput of a consumer that keeps running dry (one that is not
   * backpressured, where the size matters least).
   */
  recordConsumed(channel: number, bytes: number): void {
    if (bytes === 0) return;
    if (this.#debloater.paused) this.#debloater.resumeMeasurement(this.#clock());
    this.#debloater.recordConsumed(channel, bytes);
  }

  /** `channel` delivered end-of-partition: its ring is left alone and the others share the target. */
  channelEnded(channel: number): void {
    if (this.#ended[channel] === false) {
      this.#ended[channel] = true;
      this.#open--;
    }
  }

  /** The subtask ran out of input (about to spin or sleep): idle time is not throughput time. */
  pauseMeasurement(nowMs?: number): void {
    if (!this.#debloater.paused) this.#debloater.pauseMeasurement(nowMs ?? this.#clock());
  }

  /** Counts time as busy again (recordConsumed does this by itself). */
  resumeMeasurement(nowMs?: number): void {
    if (this.#debloater.paused) this.#debloater.resumeMeasurement(nowMs ?? this.#clock());
  }

  /**
   * Cheap unless a period has passed: then recomputes the size and, if it is announced, sets it
   * as the usable capacity of every open channel's ring and returns it; and measures and
   * publishes the metrics (whether or not a size was announced).
   */
  maybeUpdate(nowMs: number = this.#clock()): number | undefined {
    const size = this.#debloater.maybeUpdate(nowMs, this.#open);
    if (size !== undefined) {
      for (let c = 0; c < this.#rings.length; c++) {
        if (!this.#ended[c]) setUsableCapacity(this.#rings[c]!, size);
      }
    }
    if (this.#debloater.updates !== this.#measuredPeriods) this.#measure();
    return size;
  }

  /**
   * Once per period: the bytes waiting in the rings now, and how long the last period's
   * throughput takes to consume them (Flink's estimate uses the buffers in use the same way).
   * The gate calls maybeUpdate after releasing what it read, so the rings' read indices are current.
   */
  #measure(): void {
    this.#measuredPeriods = this.#debloater.updates;
    let inFlightBytes = 0;
    for (const ring of this.#rings) inFlightBytes += ringFill(ring);
    const throughputBytesPerSecond = this.#debloater.throughputBytesPerSecond;
    const estimate = (inFlightBytes * 1000) / Math.max(1, throughputBytesPerSecond);
    this.#metrics = {
      debloatedBufferSize: this.#debloater.currentSizeBytes,
      estimatedTimeToConsumeBuffersMs: estimate,
      maxEstimatedTimeToConsumeBuffersMs: Math.max(this.#metrics.maxEstimatedTimeToConsumeBuffersMs, estimate),
      inFlightBytes,
      throughputBytesPerSecond,
    };
    this.#sink?.reportDebloat(this.#metrics);
  }
}
