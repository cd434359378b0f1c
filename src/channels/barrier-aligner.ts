/**
 * Barrier alignment for one input gate (Flink's CheckpointBarrierHandler family). Exactly-once
 * (aligned): a channel that delivered barrier n is blocked until every open channel delivered
 * it; then the checkpoint is taken and all channels unblock. At-least-once: nothing blocks; the
 * checkpoint is taken when the last channel delivers the barrier (records that overtook it on
 * faster channels are in the snapshot and are replayed too, hence duplicates). A newer barrier
 * cancels an unfinished older alignment. Consumer subtask's worker thread; used by InputGate.
 */
import type { Barrier } from './frame-codec.ts';

export type AlignmentMode = 'aligned' | 'at-least-once';

export class BarrierAligner {
  readonly mode: AlignmentMode;
  /** Per channel: true while the channel waits for the others to deliver the current barrier. */
  readonly blocked: boolean[];
  #current: Barrier | undefined;
  #seen: number;
  /** Highest checkpoint id whose alignment completed or was cancelled; older barriers are stale. */
  #done = -1;
  #blockedCount = 0;

  constructor(channels: number, mode: AlignmentMode) {
    this.mode = mode;
    this.blocked = new Array<boolean>(channels).fill(false);
    this.#seen = 0;
  }

  /** True while some channel is blocked. */
  get aligning(): boolean {
    return this.#blockedCount > 0;
  }

  /**
   * A barrier arrived on `channel`; `open` is the number of channels that have not ended.
   * Returns the barrier when the checkpoint must be taken now, else undefined.
   */
  onBarrier(channel: number, barrier: Barrier, open: number): Barrier | undefined {
    const id = barrier.checkpointId;
    if (id <= this.#done) return undefined;
    if (this.#current === undefined || id > this.#current.checkpointId) {
      this.#unblockAll();
      this.#current = barrier;
      this.#seen = 0;
    } else if (id < this.#current.checkpointId) {
      return undefined;
    }
    this.#seen++;
    if (this.mode === 'aligned' && !this.blocked[channel]) {
      this.blocked[channel] = true;
      this.#blockedCount++;
    }
    return this.#completeIfAll(open);
  }

  /** A channel ended: it will deliver no barrier, so the current alignment may now be complete. */
  onEndOfPartition(open: number): Barrier | undefined {
    return this.#current === undefined ? undefined : this.#completeIfAll(open);
  }

  #completeIfAll(open: number): Barrier | undefined {
    const barrier = this.#current!;
    // Blocked channels cannot end, so `open` counts every channel that delivered the barrier.
    if (this.#seen < open) return undefined;
    this.#done = barrier.checkpointId;
    this.#current = undefined;
    this.#seen = 0;
    this.#unblockAll();
    return barrier;
  }

  #unblockAll(): void {
    if (this.#blockedCount === 0) return;
    this.blocked.fill(false);
    this.#blockedCount = 0;
  }
}
