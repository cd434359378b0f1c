/**
 * Keyed reduce: folds each key's records with the user's function in a ValueState and emits
 * the updated value for every record (Flink's StreamGroupedReduceOperator). Subtask worker thread.
 */
import type { ReduceFunction, ValueState } from '../../state/state.ts';
import { KeyedOperator } from './keyed-operator.ts';

const STATE_NAME = '_reduce';

export class ReduceOperator extends KeyedOperator<unknown, unknown> {
  #fn!: ReduceFunction<unknown>;
  #state!: ValueState<unknown>;

  override open(): void {
    this.#fn = (this.node.transformation as { fn: ReduceFunction<unknown> }).fn;
    this.#state = this.backend.getValueState(STATE_NAME);
  }

  processKeyedElement(record: unknown, keyGroup: number): void {
    this.recordsIn++;
    this.setKeyOf(record, keyGroup);
    const current = this.#state.value();
    let next: unknown;
    if (current === undefined) {
      next = record;
    } else {
      try {
        next = this.#fn(current, record);
      } catch (error) {
        throw this.userError(error, 'reduce');
      }
    }
    this.#state.update(next);
    this.recordsOut++;
    this.output.collect(next);
  }
}
