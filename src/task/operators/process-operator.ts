/**
 * Runs a ProcessFunction on a stream that is not keyed: per record, with its timestamp, the
 * operator's clocks and side outputs; no keyed state, no timers. Subtask worker thread.
 */
import { WeirError } from '../../errors.ts';
import type { Collector, OutputTag, ProcessContext, ProcessFunction, RuntimeContext } from '../functions.ts';
import { isWeirError, rejectPromise, StreamOperator } from './stream-operator.ts';

export class ProcessOperator extends StreamOperator<unknown, unknown> implements Collector<unknown> {
  #fn!: ProcessFunction<unknown, unknown>;
  #watermark = -Infinity;
  /** The context of every call (one object: nothing allocated per record). */
  readonly #ctx: ProcessContext = {
    timestamp: () => {
      const value = this.context.time.value;
      return value === value ? value : undefined;
    },
    currentWatermark: () => this.#watermark,
    currentProcessingTime: () => this.context.processingTime.now(),
    output: (tag: OutputTag<unknown>, value: unknown) => this.output.collectSide(tag.id, value),
  };

  override async open(): Promise<void> {
    this.#fn = (this.node.transformation as { fn: ProcessFunction<unknown, unknown> }).fn;
    try {
      await this.#fn.open?.(this.#runtimeContext());
    } catch (error) {
      throw this.userError(error, 'open');
    }
  }

  processElement(record: unknown): void {
    this.recordsIn++;
    let returned: unknown;
    try {
      returned = this.#fn.processElement(record, this.#ctx, this);
    } catch (error) {
      throw isWeirError(error) ? error : this.userError(error);
    }
    if (returned !== undefined) rejectPromise(returned, (error) => this.userError(error));
  }

  override processWatermark(timestamp: number): void {
    this.#watermark = timestamp;
    this.output.emitWatermark(timestamp);
  }

  collect(record: unknown): void {
    this.recordsOut++;
    this.output.collect(record);
  }

  override async close(): Promise<void> {
    try {
      await this.#fn?.close?.();
    } catch (error) {
      throw this.userError(error, 'close');
    }
  }

  #runtimeContext(): RuntimeContext {
    const { subtaskIndex, parallelism, maxParallelism, params } = this.context;
    const noState = (): never => {
      throw new WeirError(
        'WEIR_STATE_ACCESS_OUTSIDE_KEY',
        `operator '${this.node.uid}' runs a ProcessFunction on a stream that is not keyed: keyed state needs keyBy(...).process(KeyedProcessFunction)`,
      );
    };
    return {
      operatorId: this.node.uid,
      operatorName: this.node.name,
      subtaskIndex,
      parallelism,
      maxParallelism,
      params,
      getValueState: noState,
      getListState: noState,
      getMapState: noState,
      getReducingState: noState,
      getAggregatingState: noState,
    };
  }
}
