/**
 * The messages of the checkpoint protocol between the coordinator (main thread) and a subtask
 * (its worker thread), sent over the subtask's MessagePort. Plain data only.
 */
import type { Barrier } from '../channels/frame-codec.ts';
import type { WorkerFaultPoint } from '../fault-points.ts';
import type { SharedFileRef, StateHandle } from '../storage/checkpoint-storage.ts';
export type { StateStoreDescriptor } from '../storage/state-store.ts';
import type { KeyGroupRange } from '../state/key-groups.ts';

/** Coordinator → subtask. */
export type ToSubtask =
  /** Sources only: take a checkpoint now and send the barrier downstream. */
  | { readonly type: 'trigger'; readonly barrier: Barrier }
  /** The checkpoint completed: two-phase-commit sinks commit what is pending up to it. */
  | { readonly type: 'complete'; readonly checkpointId: number }
  /** The checkpoint was aborted (expired, declined, subsumed). */
  | { readonly type: 'abort'; readonly checkpointId: number }
  /** @internal Fault injection: end this thread at the n-th time it reaches `point`. */
  | { readonly type: 'fault'; readonly point: WorkerFaultPoint; readonly occurrence: number };

/** One operator's persisted snapshot, as acknowledged. */
export interface OperatorAck {
  readonly uid: string;
  readonly keyGroupRange?: KeyGroupRange;
  readonly keyed?: StateHandle;
  /** Incremental keyed state: the LSM tree's files in `shared/`. */
  readonly sstFiles?: readonly SharedFileRef[];
  readonly operatorState?: StateHandle;
  /** Unaligned checkpoints, on the chain's first operator: the input channels' in-flight frames. */
  readonly inputChannelState?: StateHandle;
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
      /** Bytes this checkpoint wrote (new shared files, exclusive files; default stateBytes); stateBytes counts reused shared files too. */
      readonly persistedBytes?: number;
      /** Unaligned checkpoints: bytes of in-flight data stored (Flink's persisted_data). */
      readonly inFlightBytes?: number;
      /** This subtask took the checkpoint unaligned (configured, or switched after the aligned timeout). */
      readonly unaligned?: boolean;
      /** From the first input barrier to the snapshot, and the input bytes processed meanwhile. */
      readonly alignmentMs?: number;
      readonly processedBytes?: number;
    }
  | { readonly type: 'decline'; readonly checkpointId: number; readonly reason: string };


/** Incremental keyed state of one old subtask: its key-group range and its tree's files. */
export interface SstSnapshot {
  readonly keyGroupRange: KeyGroupRange;
  readonly files: readonly SharedFileRef[];
}

/** What a subtask restores: per operator uid, its keyed state (files or SST sets) and its dealt list state. */
export interface SubtaskRestore {
  readonly checkpointId: number;
  readonly operators: Readonly<
    Record<
      string,
      {
        readonly keyed: readonly StateHandle[];
        readonly sstSnapshots: readonly SstSnapshot[];
        readonly operatorState: readonly unknown[];
        /** Unaligned checkpoints: this subtask's input channel state (same parallelism only). */
        readonly inputChannelState?: StateHandle;
      }
    >
  >;
}
