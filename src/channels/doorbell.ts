/**
 * The consumer-wide wake-up word: one per consumer subtask, rung by every producer feeding it
 * (only when the consumer sleeps) and by the coordinator (cancellation, checkpoint triggers).
 * The sleep protocol and why no wake-up is lost are argued in ring-buffer.ts's header.
 * Consumer subtask thread sleeps on it; any thread rings it.
 */
import { WeirError } from '../errors.ts';
import { waitAsync } from './wait-async.ts';

export const DOORBELL_BYTES = 64;
const COUNTER = 0;
const SLEEPING = 1;

export function createDoorbell(): SharedArrayBuffer {
  return new SharedArrayBuffer(DOORBELL_BYTES);
}

/** A consumer-wide wake-up word: one per consumer subtask, shared by all rings feeding it and by the coordinator. */
export class Doorbell {
  readonly #words: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    if (!(sab instanceof SharedArrayBuffer) || sab.byteLength < 8) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'doorbell must be a SharedArrayBuffer from createDoorbell()');
    }
    this.#words = new Int32Array(sab, 0, 2);
  }

  /** Consumer: call before its final emptiness check; returns a token for sleep*. Marks the consumer as sleeping. */
  prepareToSleep(): number {
    const token = Atomics.load(this.#words, COUNTER);
    Atomics.store(this.#words, SLEEPING, 1);
    return token;
  }

  /** Consumer: the final check found data after prepareToSleep; clears the sleeping mark without waiting. */
  cancelSleep(): void {
    Atomics.store(this.#words, SLEEPING, 0);
  }

  /** Consumer: blocks (Atomics.wait) until rung or timeout, unless rung since the token; then clears the sleeping mark. */
  sleepSync(token: number, timeoutMs: number): void {
    if (timeoutMs > 0) Atomics.wait(this.#words, COUNTER, token, timeoutMs);
    Atomics.store(this.#words, SLEEPING, 0);
  }

  /** Same with Atomics.waitAsync (the worker's event loop keeps running while waiting). */
  async sleepAsync(token: number, timeoutMs: number): Promise<void> {
    if (timeoutMs > 0) await waitAsync(this.#words, COUNTER, token, timeoutMs);
    Atomics.store(this.#words, SLEEPING, 0);
  }

  /** Producer: wakes the consumer only if it is sleeping (cheap Atomics.load otherwise). */
  ring(): void {
    if (Atomics.load(this.#words, SLEEPING) !== 0) this.wake();
  }

  /** Wakes unconditionally (the coordinator uses it for control messages). */
  wake(): void {
    Atomics.add(this.#words, COUNTER, 1);
    Atomics.notify(this.#words, COUNTER);
  }
}

