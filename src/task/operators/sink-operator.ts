/**
 * Hands records to a sink connector's writer and drives its two-phase commit: at each barrier
 * the writer pre-commits (prepareCommit) and the committables are kept, keyed by checkpoint id,
 * in this operator's state; when a checkpoint completes, everything pending up to it is
 * committed through the sink's committer. At end of input a checkpointing job pre-commits once
 * more and hands the final committables to the coordinator, which commits them after every
 * subtask finished; a job without checkpoints lets the writer finish (commit) by itself.
 * Subtask worker thread.
 */
import { WeirError } from '../../errors.ts';
import type { Committer, Sink, SinkWriter } from '../sink.ts';
import { StreamOperator, wrapUserError, type OperatorSnapshotData, type RestoredOperatorState } from './stream-operator.ts';

/** The checkpoint id under which end-of-input committables are prepared. */
export const FINAL_CHECKPOINT_ID = Number.MAX_SAFE_INTEGER;

export class SinkOperator extends StreamOperator<unknown, never> {
  #writer: SinkWriter<unknown> | undefined;
  #committer: Committer | undefined;
  /** Pre-committed, not yet committed: checkpoint id → committables, ids ascending. */
  readonly #pending = new Map<number, readonly unknown[]>();
  /** Committables prepared at end of input (checkpointing jobs), for the coordinator. */
  finalCommittables: readonly unknown[] | undefined;

  get #sink(): Sink<unknown> {
    return (this.node.transformation as { sink: Sink<unknown> }).sink;
  }

  /** True when the sink takes part in checkpoints (two-phase commit). */
  get transactional(): boolean {
    return this.context.checkpointing && typeof this.#sink.createCommitter === 'function';
  }

  override restoreState(state: RestoredOperatorState): void {
    // Committables of the restored checkpoint are committed by the coordinator before the job
    // starts (it must also clean up what failed attempts left); nothing is pending here.
    if (state.operatorState.length > 0) {
      throw new WeirError('WEIR_INTERNAL', `sink '${this.node.uid}' was handed committables to restore; the coordinator commits them`);
    }
  }

  override async open(): Promise<void> {
    try {
      this.#writer = this.#sink.createWriter({
        subtaskIndex: this.context.subtaskIndex,
        parallelism: this.context.parallelism,
        operatorId: this.node.uid,
      });
      if (this.transactional) {
        if (typeof this.#writer.prepareCommit !== 'function') {
          throw new TypeError('the sink has a committer but its writer has no prepareCommit()');
        }
        this.#committer = this.#sink.createCommitter!();
      }
      await this.#writer.open?.();
    } catch (error) {
      throw this.#error(error, 'open');
    }
  }

  processElement(record: unknown): void {
    this.recordsIn++;
    try {
      this.#writer!.write(record);
    } catch (error) {
      throw this.#error(error, 'write');
    }
  }

  override snapshotState(checkpointId: number): OperatorSnapshotData | undefined {
    if (!this.transactional) return undefined;
    let committables: unknown[];
    try {
      committables = this.#writer!.prepareCommit!(checkpointId);
    } catch (error) {
      throw this.#error(error, 'prepareCommit');
    }
    if (committables.length > 0) this.#pending.set(checkpointId, committables);
    // Everything not yet committed belongs in the checkpoint: an earlier checkpoint's
    // notification may be lost, and restoring this one must commit those too.
    return { uid: this.node.uid, operatorState: [...this.#pending.values()].flat() };
  }

  override async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const due: unknown[] = [];
    for (const [id, committables] of this.#pending) {
      if (id > checkpointId) continue;
      due.push(...committables);
      this.#pending.delete(id);
    }
    if (due.length === 0) return;
    try {
      await this.#committer!.commit(due);
    } catch (error) {
      throw this.#error(error, 'commit');
    }
  }

  override async finish(): Promise<void> {
    try {
      if (this.transactional) {
        this.finalCommittables = [...[...this.#pending.values()].flat(), ...this.#writer!.prepareCommit!(FINAL_CHECKPOINT_ID)];
        this.#pending.clear();
      } else {
        await this.#writer?.finish?.();
      }
    } catch (error) {
      throw this.#error(error, 'finish');
    }
  }

  override async close(): Promise<void> {
    try {
      await this.#writer?.close?.();
    } catch (error) {
      throw this.#error(error, 'close');
    }
  }

  /** The writer's result(), checked to be sendable to the main thread (structured clone). */
  result(): unknown {
    let value: unknown;
    try {
      value = this.#writer?.result?.();
      if (value !== undefined) structuredClone(value);
    } catch (error) {
      throw this.#error(error, 'result (its value must survive structured clone to reach run())');
    }
    return value;
  }

  #error(error: unknown, phase: string) {
    return wrapUserError(error, this.node, this.context.subtaskIndex, phase, 'WEIR_SINK_FAILED');
  }
}
