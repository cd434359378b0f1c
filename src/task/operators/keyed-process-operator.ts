/**
 * Runs a user's KeyedProcessFunction: open with a RuntimeContext for state, then
 * processElement per record with the record's key in scope. Subtask worker thread.
 */
import type { Collector, KeyedContext, KeyedProcessFunction } from '../functions.ts';
import { isWeirError, rejectPromise } from './stream-operator.ts';
import { KeyedOperator } from './keyed-operator.ts';

export class KeyedProcessOperator extends KeyedOperator<unknown, unknown> implements Collector<unknown>, KeyedContext<unknown> {
  #fn!: KeyedProcessFunction<unknown, unknown, unknown>;

  override async open(): Promise<void> {
    this.#fn = (this.node.transformation as { fn: KeyedProcessFunction<unknown, unknown, unknown> }).fn;
    try {
      await this.#fn.open?.(this.runtimeContext());
    } catch (error) {
      throw this.userError(error, 'open');
    }
  }

  processKeyedElement(record: unknown, keyGroup: number): void {
    this.recordsIn++;
    this.setKeyOf(record, keyGroup);
    let returned: unknown;
    try {
      returned = this.#fn.processElement(record, this, this);
    } catch (error) {
      // Errors from operators downstream of collect() are already attributed.
      throw isWeirError(error) ? error : this.userError(error);
    }
    if (returned !== undefined) rejectPromise(returned, (error) => this.userError(error));
  }

  /** Collector: the function's output. */
  collect(record: unknown): void {
    this.recordsOut++;
    this.output.collect(record);
  }

  /** KeyedContext. */
  getCurrentKey(): unknown {
    return this.currentKey;
  }

  override async close(): Promise<void> {
    try {
      await this.#fn?.close?.();
    } catch (error) {
      throw this.userError(error, 'close');
    } finally {
      await super.close();
    }
  }
}
