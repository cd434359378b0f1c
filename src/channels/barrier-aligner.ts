/**
 * Barrier alignment for one input gate (Flink's CheckpointBarrierHandler family). Exactly-once
 * (aligned): a channel that delivered barrier n is blocked until every channel delivered it (or
 * ended); then the checkpoint is taken and all channels unblock. At-least-once: nothing blocks;
 * the checkpoint is taken when the last channel delivers the barrier (records that overtook it
 * on faster channels are in the snapshot and are replayed too, hence duplicates). A newer
 * barrier cancels an unfinished older alignment. Consumer subtask's worker thread; used by
 * InputGate.
 */
import type { Barrier } from './frame-codec.ts';

export type AlignmentMode = 'aligned' | 'at-least-once';

export class BarrierAligner {
  readonly mode: AlignmentMode;
  /** Per channel: true while the channel waits for the others to deliver the current barrier. */
  readonly blocked: boolean[];
  /** Per channel: delivered the current barrier. */
  readonly #delivered: boolean[];
  /** Per channel: delivered end-of-partition (counts as having delivered every later barrier). */
  readonly #ended: boolean[];
  #current: Barrier | undefined;
  /** Highest checkpoint id whose alignment completed or was cancelled; older barriers are stale. */
  #done = -1;
  #blockedCount = 0;

  constructor(channels: number, mode: AlignmentMode) {
    this.mode = mode;
    this.blocked = new Array<boolean>(channels).fill(false);
    this.#delivered = new Array<boolean>(channels).fill(false);
    this.#ended = new Array<boolean>(channels).fill(false);
  }

  /** Highest checkpoint id whose alignment completed or was cancelled. */
  get done(): number {
    return this.#done;
  }

  /** The barrier being aligned, if any. */
  get current(): Barrier | undefined {
    return this.#current;
  }

  /**
   * Gives up aligning the current barrier (it switches to unaligned): unblocks every channel and
   * returns which channels had delivered it; later copies of it are stale here.
   */
  abandon(): boolean[] {
    const delivered = this.#delivered.map((d, c) => d || this.#ended[c]!);
    if (this.#current !== undefined) this.#done = this.#current.checkpointId;
    this.#current = undefined;
    this.#reset();
    return delivered;
  }

  /** True while some channel is blocked. */
  get aligning(): boolean {
    return this.#blockedCount > 0;
  }

  /** A barrier arrived on `channel`. Returns the barrier when the checkpoint must be taken now. */
  onBarrier(channel: number, barrier: Barrier): Barrier | undefined {
    const id = barrier.checkpointId;
    if (id <= this.#done) return undefined;
    if (this.#current === undefined || id > this.#current.checkpointId) {
      this.#reset();
      this.#current = barrier;
    } else if (id < this.#current.checkpointId) {
      return undefined;
    }
    this.#delivered[channel] = true;
    if (this.mode === 'aligned' && !this.blocked[channel]) {
      this.blocked[channel] = true;
      this.#blockedCount++;
    }
    return this.#completeIfAll();
  }

  /** `channel` ended: it will deliver no barrier, so the current alignment may now be complete. */
  onEndOfPartition(channel: number): Barrier | undefined {
    this.#ended[channel] = true;
    return this.#current === undefined ? undefined : this.#completeIfAll();
  }

  #completeIfAll(): Barrier | undefined {
    for (let c = 0; c < this.#delivered.length; c++) {
      if (!this.#delivered[c] && !this.#ended[c]) return undefined;
    }
    const barrier = this.#current!;
    this.#done = barrier.checkpointId;
    this.#current = undefined;
    this.#reset();
    return barrier;
  }

  #reset(): void {
    this.#delivered.fill(false);
    if (this.#blockedCount === 0) return;
    this.blocked.fill(false);
    this.#blockedCount = 0;
  }
}
