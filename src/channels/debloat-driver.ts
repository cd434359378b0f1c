/**
 * DebloatDriver: buffer debloating for one input gate. The gate reports the bytes it consumes per
 * channel; once per period the driver asks its BufferDebloater for a new per-channel size and
 * writes it into the usable-capacity word of every open channel's ring, where the producer's
 * RingWriter picks it up (ring-buffer.ts). Runs on the consumer subtask's thread; the input gate
 * owns it, the subtask loop pauses its measurement when the gate runs dry.
 */
import { WeirError } from '../errors.ts';
import { BufferDebloater, DEBLOAT_DEFAULTS } from './buffer-debloater.ts';
import { RING_HEADER_BYTES, RING_MIN_CAPACITY, setUsableCapacity, usableCapacity } from './ring-buffer.ts';

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

export class DebloatDriver {
  readonly #rings: readonly SharedArrayBuffer[];
  readonly #ended: boolean[];
  readonly #debloater: BufferDebloater;
  readonly #clock: () => number;
  #open: number;

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
  }

  /** Per-channel usable bytes last announced. Metric `debloatedBufferSize`. */
  get currentSizeBytes(): number {
    return this.#debloater.currentSizeBytes;
  }

  /** Busy throughput of the gate over the last period, bytes/s. */
  get throughputBytesPerSecond(): number {
    return this.#debloater.throughputBytesPerSecond;
  }

  /** Metric `estimatedTimeToConsumeBuffersMs`: in-flight bytes the channels may hold / throughput. */
  get estimatedTimeToConsumeMs(): number {
    return this.#debloater.estimatedTimeToConsumeMs;
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
   * as the usable capacity of every open channel's ring and returns it.
   */
  maybeUpdate(nowMs: number = this.#clock()): number | undefined {
    const size = this.#debloater.maybeUpdate(nowMs, this.#open);
    if (size === undefined) return undefined;
    for (let c = 0; c < this.#rings.length; c++) {
      if (!this.#ended[c]) setUsableCapacity(this.#rings[c]!, size);
    }
    return size;
  }
}
