/**
 * Hands records to a sink connector's writer; at end of input asks it to finish (commit).
 * Subtask worker thread.
 */
import type { SinkWriter, Sink } from '../sink.ts';
import { StreamOperator, wrapUserError } from './stream-operator.ts';

export class SinkOperator extends StreamOperator<unknown, never> {
  #writer: SinkWriter<unknown> | undefined;

  override async open(): Promise<void> {
    const sink = (this.node.transformation as { sink: Sink<unknown> }).sink;
    try {
      this.#writer = sink.createWriter({
        subtaskIndex: this.context.subtaskIndex,
        parallelism: this.context.parallelism,
        operatorId: this.node.uid,
      });
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

  override async finish(): Promise<void> {
    try {
      await this.#writer?.finish?.();
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
