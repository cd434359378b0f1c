/**
 * Drives a source reader at the head of a chain: opens it, calls pollNext in a loop and
 * reports whether more is coming, the reader has ended, or it asked to wait. Counts the
 * records it emits. Runs on the source subtask's worker thread, called by the subtask runner.
 */
import type { StreamNode } from '../graph/job-graph.ts';
import type { OperatorContext, OperatorSnapshotData, Output, RestoredOperatorState } from './operators/stream-operator.ts';
import { wrapUserError } from './operators/stream-operator.ts';
import type { PollStatus, Source, SourceOutput, SourceReader } from './source.ts';
import { WeirError } from '../errors.ts';
import { schedulePeriodicEmit, WatermarkEmitter, type WatermarkStrategy } from './time/watermark-strategy.ts';

export class SourceDriver implements SourceOutput<unknown> {
  recordsOut = 0;
  readonly node: StreamNode;
  readonly #context: OperatorContext;
  readonly #source: Source<unknown>;
  readonly #output: Output<unknown>;
  #reader: SourceReader<unknown> | undefined;
  #restoredState: readonly unknown[] | undefined;
  readonly #outputsHaveRoom: () => boolean;
  /** Present when the source has a WatermarkStrategy: timestamps per record, periodic watermarks. */
  #emitter: WatermarkEmitter<unknown> | undefined;
  #periodic: { stop(): void } | undefined;
  #ended = false;

  constructor(
    node: StreamNode,
    context: OperatorContext,
    source: Source<unknown>,
    output: Output<unknown>,
    outputsHaveRoom: () => boolean,
  ) {
    this.node = node;
    this.#context = context;
    this.#source = source;
    this.#output = output;
    this.#outputsHaveRoom = outputsHaveRoom;
  }

  async open(): Promise<void> {
    try {
      this.#reader = this.#source.createReader({
        subtaskIndex: this.#context.subtaskIndex,
        parallelism: this.#context.parallelism,
        operatorId: this.node.uid,
        ...(this.#restoredState === undefined ? {} : { restoredState: this.#restoredState }),
      });
      await this.#reader.open?.();
    } catch (error) {
      throw this.#error(error, 'open');
    }
    const strategy = (this.node.transformation as { watermarkStrategy?: WatermarkStrategy<unknown> }).watermarkStrategy;
    if (strategy !== undefined) {
      const { processingTime, autoWatermarkIntervalMs, subtaskIndex } = this.#context;
      this.#emitter = new WatermarkEmitter(strategy, this.#output, () => processingTime.now(), () => `source '${this.node.uid}' subtask ${subtaskIndex}`);
      const emitter = this.#emitter;
      this.#periodic = schedulePeriodicEmit(processingTime, autoWatermarkIntervalMs, () => emitter.onPeriodicEmit());
    }
  }

  /** Before open(): the splits dealt to this subtask from the checkpoint. */
  restoreState(state: RestoredOperatorState): void {
    this.#restoredState = state.operatorState;
  }

  /** Synchronous snapshot phase: the reader's splits with their positions. */
  snapshotState(checkpointId: number): OperatorSnapshotData {
    const reader = this.#reader!;
    if (typeof reader.snapshotState !== 'function') {
      throw new WeirError(
        'WEIR_SOURCE_FAILED',
        `source '${this.node.uid}' cannot be checkpointed: its reader has no snapshotState()`,
        { retriable: false, context: { operatorId: this.node.uid, subtaskIndex: this.#context.subtaskIndex } },
      );
    }
    let operatorState: unknown[];
    try {
      operatorState = reader.snapshotState(checkpointId);
    } catch (error) {
      throw this.#error(error, 'snapshotState');
    }
    return { uid: this.node.uid, operatorState };
  }

  /** SourceOutput: forwards a record into the chain. */
  collect(record: unknown): void {
    this.recordsOut++;
    const emitter = this.#emitter;
    this.#context.time.value = emitter === undefined ? Number.NaN : emitter.onRecord(record, Number.NaN);
    this.#output.collect(record);
  }

  /**
   * The reader ended: event time is complete. Every source ends with the watermark +∞ (with or
   * without a strategy, as in Flink), which fires every event-time timer and window downstream.
   */
  endOfInput(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#periodic?.stop();
    if (this.#emitter !== undefined) this.#emitter.onEnd();
    else this.#output.emitWatermark(Infinity);
  }

  /** SourceOutput: whether every output channel can take another record without blocking. */
  hasRoom(): boolean {
    return this.#outputsHaveRoom();
  }

  /** One pollNext call: 'more', 'end', or milliseconds to wait. */
  poll(): PollStatus {
    let status: PollStatus;
    try {
      status = this.#reader!.pollNext(this);
    } catch (error) {
      throw this.#error(error, 'pollNext');
    }
    if (status !== 'more' && status !== 'end' && !(typeof status === 'number' && status >= 0)) {
      throw this.#error(new TypeError(`pollNext must return 'more', 'end' or a wait in ms, got ${String(status)}`), 'pollNext');
    }
    return status;
  }

  async close(): Promise<void> {
    this.#periodic?.stop();
    try {
      await this.#reader?.close?.();
    } catch (error) {
      throw this.#error(error, 'close');
    }
  }

  #error(error: unknown, phase: string): WeirError {
    return wrapUserError(error, this.node, this.#context.subtaskIndex, phase, 'WEIR_SOURCE_FAILED');
  }
}
