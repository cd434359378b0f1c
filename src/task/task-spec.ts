/**
 * What the coordinator sends a worker to run one subtask, and what comes back. Both are
 * structured-clone-safe (SharedArrayBuffers are shared, not copied). Built on the main thread
 * by the coordinator, read on the worker thread by the subtask runner.
 */
import type { DebloatSettings } from '../channels/debloat-driver.ts';
import type { MessagePort } from 'node:worker_threads';
import type { ErrorRecord } from '../errors.ts';
import type { StateStoreDescriptor } from '../storage/state-store.ts';
import type { StateBackendConfig } from '../state/state-backend-factory.ts';
import type { SubtaskRestore } from './checkpoint-messages.ts';
import type { PlanConfig } from '../graph/job-definition.ts';
import type { OutputChannel } from '../channels/output-writer.ts';

export interface TaskSpec {
  readonly jobUrl: string;
  readonly planConfig: PlanConfig;
  readonly vertexIndex: number;
  /** The vertex name the coordinator saw, to catch job modules that build different graphs per thread. */
  readonly vertexName: string;
  readonly subtaskIndex: number;
  readonly recordCodec: string;
  /** Buffer debloating of this subtask's input gate (absent: off). */
  readonly debloat?: DebloatSettings;
  /** TaskControl words (cancellation), written by the coordinator. */
  readonly control: SharedArrayBuffer;
  /** This subtask's doorbell: producers and the coordinator ring it to wake the subtask. */
  readonly doorbell: SharedArrayBuffer;
  /** Input rings in gate order: edge by edge, producer subtask by producer subtask. */
  readonly inputs: readonly SharedArrayBuffer[];
  /** Per input ring, the input of the head operator it feeds (0, or 1 for a two-input operator's second). */
  readonly inputOf: readonly number[];
  /** Per output edge (in vertex.outputs order), its channels indexed by consumer channel. */
  readonly outputs: ReadonlyArray<readonly OutputChannel[]>;
  /** Which keyed state backend keyed operators open. */
  readonly stateBackend: StateBackendConfig;
  /** Present when the job checkpoints: the mode and where state goes. */
  readonly checkpointing: TaskCheckpointing | undefined;
  /** Present when this attempt restores from a checkpoint. */
  readonly restore: SubtaskRestore | undefined;
  /** The checkpoint protocol's channel to the coordinator (transferred; only when checkpointing). */
  readonly port: MessagePort | undefined;
}

export interface TaskCheckpointing {
  readonly mode: 'exactly-once' | 'at-least-once';
  readonly store: StateStoreDescriptor;
  /** Aligned checkpoints switch to unaligned this many ms after their trigger (absent: never). */
  readonly alignedTimeout?: number;
}

export interface OperatorMetrics {
  readonly uid: string;
  readonly recordsIn: number;
  readonly recordsOut: number;
}

export type TaskStatus = 'finished' | 'canceled' | 'failed';

export interface TaskResult {
  readonly status: TaskStatus;
  readonly error?: ErrorRecord;
  readonly operators: readonly OperatorMetrics[];
  /** Values sink writers returned from `result()`, by sink uid. */
  readonly sinkResults: ReadonlyArray<{ readonly uid: string; readonly value: unknown }>;
  readonly backpressuredMs: number;
  /** Checkpointing jobs: what sinks pre-committed at end of input, for the coordinator to commit. */
  readonly finalCommittables: ReadonlyArray<{ readonly uid: string; readonly committables: readonly unknown[] }>;
}
