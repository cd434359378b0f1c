/**
 * The base of every operator in a chain, and the Output it emits into. Operators in one chain
 * call each other directly (`output.collect` → next operator's `processElement`), all on the
 * subtask's worker thread. Errors thrown by user code are wrapped once, at the operator that
 * ran it, with the operator and subtask named; errors from further down pass through unchanged.
 */
import { WeirError } from '../../errors.ts';
import type { StreamNode } from '../../graph/job-graph.ts';
import type { KeyGroupRange } from '../../state/key-groups.ts';
import type { KeyGroupBlock } from '../../state/keyed-state-backend.ts';
import type { StateBackendConfig } from '../../state/state-backend-factory.ts';
import type { PersistedSstFiles } from '../../state/lsm/incremental-snapshots.ts';
import type { SharedFileStore } from '../../storage/checkpoint-storage.ts';
import type { SstSnapshot } from '../checkpoint-messages.ts';
import type { RecordTime } from '../../channels/output-writer.ts';
import type { ProcessingTimeService } from '../time/processing-time-service.ts';

/** What an operator's synchronous snapshot phase hands to the task's async phase. */
export interface OperatorSnapshotData {
  readonly uid: string;
  /** Keyed operators: the key groups they own, and one block per non-empty key group. */
  readonly keyGroupRange?: KeyGroupRange;
  readonly keyedBlocks?: readonly KeyGroupBlock[];
  /** Keyed operators on an LSM tree: the asynchronous phase that places its SST files in `shared/`. */
  readonly sstFiles?: (store: SharedFileStore) => Promise<PersistedSstFiles>;
  /** Operator list state (source splits, sink committables): plain entries, redistributable. */
  readonly operatorState?: readonly unknown[];
}

/** State given back to an operator before open() when a job restores from a checkpoint. */
export interface RestoredOperatorState {
  readonly keyedBlocks: readonly KeyGroupBlock[];
  /** Keyed state as SST sets of old subtasks whose key groups overlap this one's. */
  readonly sstSnapshots: readonly SstSnapshot[];
  /** Where shared files are (file-system checkpoint storage only). */
  readonly shared: SharedFileStore | undefined;
  readonly operatorState: readonly unknown[];
}

/** Where an operator emits: records (with the timestamp in `OperatorContext.time`), event time, side outputs. */
export interface Output<T> {
  collect(record: T): void;
  /** Event time reached `timestamp` (called only with increasing values). */
  emitWatermark(timestamp: number): void;
  /** The operator's input went idle, or active again. */
  emitWatermarkStatus(idle: boolean): void;
  /** A record for side output `tag`; dropped when no stream reads that side output. */
  collectSide(tag: string, record: unknown): void;
}

export interface OperatorContext {
  /** True when the job takes checkpoints (sinks then commit in two phases). */
  readonly checkpointing: boolean;
  /** Which keyed state backend keyed operators open. */
  readonly stateBackend: StateBackendConfig;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly params: Readonly<Record<string, string>>;
  /** The event timestamp of the record in flight (NaN: none), shared by the chain and its writers. */
  readonly time: RecordTime;
  /** The subtask's processing-time callbacks (timers, periodic watermarks). */
  readonly processingTime: ProcessingTimeService;
  /** Milliseconds between periodic watermarks (Flink's auto-watermark interval). */
  readonly autoWatermarkIntervalMs: number;
}

export abstract class StreamOperator<I, O> {
  recordsIn = 0;
  recordsOut = 0;
  readonly node: StreamNode;
  readonly context: OperatorContext;
  protected readonly output: Output<O>;

  constructor(node: StreamNode, context: OperatorContext, output: Output<O>) {
    this.node = node;
    this.context = context;
    this.output = output;
  }

  open(): void | Promise<void> {}
  abstract processElement(record: I): void;
  /** Event time advanced to `timestamp`; the default hands it on. */
  processWatermark(timestamp: number): void {
    this.output.emitWatermark(timestamp);
  }
  /** The input went idle or active; the default hands it on. */
  processWatermarkStatus(idle: boolean): void {
    this.output.emitWatermarkStatus(idle);
  }
  /** End of input: emit whatever is still buffered. */
  finish(): void | Promise<void> {}
  /** Release resources; runs after success and after failure. */
  close(): void | Promise<void> {}

  /** First of all, before restore and open: set up state storage (may be asynchronous). */
  initializeState(): void | Promise<void> {}

  /** Before open(), when restoring: the state this subtask owns in the checkpoint. */
  restoreState(_state: RestoredOperatorState): void | Promise<void> {}

  /** Synchronous snapshot phase at a barrier; undefined for stateless operators. */
  snapshotState(_checkpointId: number): OperatorSnapshotData | undefined {
    return undefined;
  }

  /** The checkpoint completed (every task acknowledged and its metadata is durable). */
  notifyCheckpointComplete(_checkpointId: number): void | Promise<void> {}

  /** Wraps an error thrown by this operator's user code. */
  protected userError(error: unknown, phase = 'processElement'): WeirError {
    return wrapUserError(error, this.node, this.context.subtaskIndex, phase, 'WEIR_USER_FUNCTION_FAILED');
  }
}

/**
 * Per-record user functions are synchronous. If one returned a promise, its work would finish
 * after the record was acknowledged and its errors would be lost: fail instead, and keep the
 * promise's own rejection from surfacing as an unhandled one.
 */
export function rejectPromise(returned: unknown, toError: (error: unknown) => WeirError): void {
  if (typeof (returned as { then?: unknown })?.then !== 'function') return;
  (returned as Promise<unknown>).then(undefined, () => {});
  throw toError(new TypeError('processElement must be synchronous, but it returned a promise (do async work in open())'));
}

/** True for a WeirError from any copy of weir (built or source), i.e. already attributed. */
export function isWeirError(error: unknown): error is WeirError {
  return error instanceof Error && error.name === 'WeirError' && typeof (error as WeirError).code === 'string';
}

export function wrapUserError(
  error: unknown,
  node: StreamNode,
  subtaskIndex: number,
  phase: string,
  code: 'WEIR_USER_FUNCTION_FAILED' | 'WEIR_SOURCE_FAILED' | 'WEIR_SINK_FAILED',
): WeirError {
  if (isWeirError(error)) {
    if (error.context.operatorId === undefined) {
      Object.assign(error.context, { operatorId: node.uid, operatorName: node.name, subtaskIndex });
    }
    return error;
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new WeirError(
    code,
    `operator '${node.uid}' (${node.name}) subtask ${subtaskIndex} failed in ${phase}: ${detail}`,
    { cause: error, context: { operatorId: node.uid, operatorName: node.name, subtaskIndex } },
  );
}
