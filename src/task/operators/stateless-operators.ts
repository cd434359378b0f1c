/**
 * Map, filter and flatMap: one user function per record, no state. Run on the subtask's
 * worker thread as direct calls inside a chain. Each wraps only its own user call in try/catch
 * so that an error from a downstream operator is not attributed to it.
 */
import type { FilterFunction, FlatMapFunction, MapFunction } from '../functions.ts';
import { StreamOperator } from './stream-operator.ts';

export class MapOperator extends StreamOperator<unknown, unknown> {
  #fn!: MapFunction<unknown, unknown>;

  override open(): void {
    this.#fn = (this.node.transformation as { fn: MapFunction<unknown, unknown> }).fn;
  }

  processElement(record: unknown): void {
    this.recordsIn++;
    let result: unknown;
    try {
      result = this.#fn(record);
    } catch (error) {
      throw this.userError(error, 'map');
    }
    this.recordsOut++;
    this.output.collect(result);
  }
}

export class FilterOperator extends StreamOperator<unknown, unknown> {
  #fn!: FilterFunction<unknown>;

  override open(): void {
    this.#fn = (this.node.transformation as { fn: FilterFunction<unknown> }).fn;
  }

  processElement(record: unknown): void {
    this.recordsIn++;
    let keep: boolean;
    try {
      keep = this.#fn(record);
    } catch (error) {
      throw this.userError(error, 'filter');
    }
    if (keep) {
      this.recordsOut++;
      this.output.collect(record);
    }
  }
}

export class FlatMapOperator extends StreamOperator<unknown, unknown> {
  #fn!: FlatMapFunction<unknown, unknown>;

  override open(): void {
    this.#fn = (this.node.transformation as { fn: FlatMapFunction<unknown, unknown> }).fn;
  }

  processElement(record: unknown): void {
    this.recordsIn++;
    let results: Iterable<unknown>;
    try {
      results = this.#fn(record);
    } catch (error) {
      throw this.userError(error, 'flatMap');
    }
    if (Array.isArray(results)) {
      // Arrays are the common case: index them instead of allocating an iterator.
      for (let i = 0; i < results.length; i++) {
        this.recordsOut++;
        this.output.collect(results[i]);
      }
      return;
    }
    if (results === null || typeof (results as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
      throw this.userError(
        new TypeError(`the flatMap function must return an iterable, got ${results === null ? 'null' : typeof results}`),
        'flatMap',
      );
    }
    // A generator's body runs during iteration: errors there are the user's too.
    const iterator = results[Symbol.iterator]();
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        step = iterator.next();
      } catch (error) {
        throw this.userError(error, 'flatMap');
      }
      if (step.done === true) return;
      this.recordsOut++;
      this.output.collect(step.value);
    }
  }
}
