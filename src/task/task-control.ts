/**
 * Control words shared between the coordinator (main thread) and one subtask (its worker
 * thread): the coordinator requests cancellation by a store here plus a doorbell wake-up, so
 * a subtask notices it even while blocked on a full or empty ring, without any message port.
 */

const CANCEL = 0;
const WORDS = 16; // one 64-byte line

export function createTaskControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(WORDS * Int32Array.BYTES_PER_ELEMENT);
}

export class TaskControl {
  readonly #words: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    this.#words = new Int32Array(sab);
  }

  requestCancel(): void {
    Atomics.store(this.#words, CANCEL, 1);
  }

  get cancelRequested(): boolean {
    return Atomics.load(this.#words, CANCEL) !== 0;
  }
}
