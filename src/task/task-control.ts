/**
 * Control words shared between the coordinator (main thread) and one subtask (its worker
 * thread): the coordinator requests cancellation by a store here plus a doorbell wake-up, so
 * a subtask notices it even while blocked on a full or empty ring, without any message port;
 * the subtask publishes its progress (records its source emitted) for live status, and its input
 * gate's buffer-debloating metrics for progress and the job's result.
 *
 *   line 0  bytes 0–3     cancel flag (i32, Atomics)              written by the coordinator
 *           bytes 8–15    records emitted by the source (f64)     written by the subtask after each batch
 *   line 1  bytes 64–67   debloat sequence (i32, Atomics)         seqlock, written by the subtask:
 *                         0 = never reported; odd while the fields below are being written
 *           bytes 72–111  debloat metrics, 5 × f64                written by the subtask once per
 *                         debloatedBufferSize, estimatedTimeToConsumeBuffersMs,    debloat period
 *                         maxEstimatedTimeToConsumeBuffersMs, inFlightBytes, throughputBytesPerSecond
 *
 * The debloat metrics are several words that must be read together, hence the seqlock (as the
 * rings' barrier announcements): the writer makes the sequence odd, writes, makes it even; a
 * reader that sees the same even sequence before and after reading the fields has a consistent set.
 */
import type { DebloatMetrics, DebloatMetricsSink } from '../channels/debloat-driver.ts';

const CANCEL = 0;
const PROGRESS = 1; // index in the Float64 view
/** Int32 index of the debloat sequence (byte 64). */
const DEBLOAT_SEQ = 16;
/** Float64 index of the first debloat metric (byte 72). */
const DEBLOAT_FIELDS = 9;
const BYTES = 128; // two cache lines: the coordinator's reads of line 1 never touch the cancel word's line

/** Reads that find the writer mid-write before giving up (it writes five words once per period). */
const READ_ATTEMPTS = 100;

export function createTaskControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(BYTES);
}

export class TaskControl implements DebloatMetricsSink {
  readonly #words: Int32Array;
  readonly #floats: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.#words = new Int32Array(sab);
    this.#floats = new Float64Array(sab);
  }

  /**
   * Subtask side. A plain store: only the subtask writes it, and a reader that sees a value one
   * batch old (or, in theory, torn on a 32-bit platform) only misreports a status line.
   */
  reportProgress(records: number): void {
    this.#floats[PROGRESS] = records;
  }

  get progress(): number {
    return this.#floats[PROGRESS]!;
  }

  /** Subtask side: its input gate's debloat metrics (DebloatDriver.publishTo(control) calls this). */
  reportDebloat(metrics: DebloatMetrics): void {
    const words = this.#words;
    const floats = this.#floats;
    const seq = words[DEBLOAT_SEQ]!; // only this thread writes it
    Atomics.store(words, DEBLOAT_SEQ, (seq + 1) | 0);
    floats[DEBLOAT_FIELDS] = metrics.debloatedBufferSize;
    floats[DEBLOAT_FIELDS + 1] = metrics.estimatedTimeToConsumeBuffersMs;
    floats[DEBLOAT_FIELDS + 2] = metrics.maxEstimatedTimeToConsumeBuffersMs;
    floats[DEBLOAT_FIELDS + 3] = metrics.inFlightBytes;
    floats[DEBLOAT_FIELDS + 4] = metrics.throughputBytesPerSecond;
    Atomics.store(words, DEBLOAT_SEQ, (seq + 2) | 0);
  }

  /** Coordinator side: the last debloat metrics the subtask reported; undefined if it never did (no input gate, debloating off). */
  get debloat(): DebloatMetrics | undefined {
    const words = this.#words;
    const floats = this.#floats;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const before = Atomics.load(words, DEBLOAT_SEQ);
      if (before === 0) return undefined;
      if ((before & 1) !== 0) continue; // being written: a few stores away
      const metrics: DebloatMetrics = {
        debloatedBufferSize: floats[DEBLOAT_FIELDS]!,
        estimatedTimeToConsumeBuffersMs: floats[DEBLOAT_FIELDS + 1]!,
        maxEstimatedTimeToConsumeBuffersMs: floats[DEBLOAT_FIELDS + 2]!,
        inFlightBytes: floats[DEBLOAT_FIELDS + 3]!,
        throughputBytesPerSecond: floats[DEBLOAT_FIELDS + 4]!,
      };
      if (Atomics.load(words, DEBLOAT_SEQ) === before) return metrics;
    }
    return undefined;
  }

  requestCancel(): void {
    Atomics.store(this.#words, CANCEL, 1);
  }

  get cancelRequested(): boolean {
    return Atomics.load(this.#words, CANCEL) !== 0;
  }
}
