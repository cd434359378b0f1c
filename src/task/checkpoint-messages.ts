/**
 * The messages of the checkpoint protocol between the coordinator (main thread) and a subtask
 * (its worker thread), sent over the subtask's MessagePort. Plain data only.
 */
import type { Barrier } from '../channels/frame-codec.ts';
import type { StateHandle } from '../storage/checkpoint-storage.ts';
export type { StateStoreDescriptor } from '../storage/state-store.ts';
import type { KeyGroupRange } from '../state/key-groups.ts';

/** Coordinator → subtask. */
export type ToSubtask =
  /** Sources only: take a checkpoint now and send the barrier downstream. */
  | { readonly type: 'trigger'; readonly barrier: Barrier }
  /** The checkpoint completed: two-phase-commit sinks commit what is pending up to it. */
  | { readonly type: 'complete'; readonly checkpointId: number }
  /** The checkpoint was aborted (expired, declined, subsumed). */
  | { readonly type: 'abort'; readonly checkpointId: number };

/** One operator's persisted snapshot, as acknowledged. */
export interface OperatorAck {
  readonly uid: string;
  readonly keyGroupRange?: KeyGroupRange;
  readonly keyed?: StateHandle;
  readonly operatorState?: StateHandle;
}

/** Subtask → coordinator. */
export type FromSubtask =
  /** Opened (and restored): the subtask can take part in checkpoints. */
  | { readonly type: 'running' }
  | {
      readonly type: 'ack';
      readonly checkpointId: number;
      readonly operators: readonly OperatorAck[];
      /** Milliseconds of the synchronous phase (freezing state) and the asynchronous one (writing it). */
      readonly syncMs: number;
      readonly asyncMs: number;
      /** Time the barrier took to arrive (ms since the trigger, by the epoch clock). */
      readonly startDelayMs: number;
      readonly stateBytes: number;
    }
  | { readonly type: 'decline'; readonly checkpointId: number; readonly reason: string };


/** What a subtask restores: per operator uid, its keyed state files and its dealt list state. */
export interface SubtaskRestore {
  readonly checkpointId: number;
  readonly operators: Readonly<
    Record<string, { readonly keyed: readonly StateHandle[]; readonly operatorState: readonly unknown[] }>
  >;
}
