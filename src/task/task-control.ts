/**
 * Control words shared between the coordinator (main thread) and one subtask (its worker
 * thread): the coordinator requests cancellation by a store here plus a doorbell wake-up, so
 * a subtask notices it even while blocked on a full or empty ring, without any message port;
 * the subtask publishes its progress (records its source emitted) for live status.
 *
 *   bytes 0–3   cancel flag (i32, Atomics)          written by the coordinator
 *   bytes 8–15  records emitted by the source (f64)  written by the subtask after each batch
 */

const CANCEL = 0;
const PROGRESS = 1; // index in the Float64 view
const BYTES = 64; // one cache line

export function createTaskControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(BYTES);
}

export class TaskControl {
  readonly #words: Int32Array;
  readonly #progress: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.#words = new Int32Array(sab);
    this.#progress = new Float64Array(sab);
  }

  /**
   * Subtask side. A plain store: only the subtask writes it, and a reader that sees a value one
   * batch old (or, in theory, torn on a 32-bit platform) only misreports a status line.
   */
  reportProgress(records: number): void {
    this.#progress[PROGRESS] = records;
  }

  get progress(): number {
    return this.#progress[PROGRESS]!;
  }

  requestCancel(): void {
    Atomics.store(this.#words, CANCEL, 1);
  }

  get cancelRequested(): boolean {
    return Atomics.load(this.#words, CANCEL) !== 0;
  }
}
