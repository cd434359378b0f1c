/**
 * assignTimestampsAndWatermarks: gives each record the event time its strategy assigns and
 * generates watermarks from them every auto-watermark interval, replacing the watermarks from
 * upstream (only the final +∞ of the end of input passes, as in Flink). Subtask worker thread.
 */
import { schedulePeriodicEmit, WatermarkEmitter, type WatermarkStrategy } from '../time/watermark-strategy.ts';
import { StreamOperator } from './stream-operator.ts';

export class TimestampsOperator extends StreamOperator<unknown, unknown> {
  #emitter!: WatermarkEmitter<unknown>;
  #periodic: { stop(): void } | undefined;

  override open(): void {
    const strategy = (this.node.transformation as { strategy: WatermarkStrategy<unknown> }).strategy;
    const { processingTime, autoWatermarkIntervalMs, subtaskIndex } = this.context;
    this.#emitter = new WatermarkEmitter(strategy, this.output, () => processingTime.now(), () => `operator '${this.node.uid}' (${this.node.name}) subtask ${subtaskIndex}`);
    this.#periodic = schedulePeriodicEmit(processingTime, autoWatermarkIntervalMs, () => this.#emitter.onPeriodicEmit());
  }

  processElement(record: unknown): void {
    this.recordsIn++;
    const time = this.context.time;
    time.value = this.#emitter.onRecord(record, time.value);
    this.recordsOut++;
    this.output.collect(record);
  }

  override processWatermark(timestamp: number): void {
    if (timestamp === Infinity) {
      this.#periodic?.stop();
      this.#emitter.onEnd();
    }
  }

  override processWatermarkStatus(): void {}

  override close(): void {
    this.#periodic?.stop();
  }
}
