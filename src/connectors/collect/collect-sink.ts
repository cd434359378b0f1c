/**
 * CollectSink: keeps every record in memory and hands them back from `run()`, for tests and
 * programmatic use. The constructor runs wherever the job module is evaluated; each writer runs
 * on its sink subtask's worker thread.
 */

import type { Sink, SinkContext, SinkWriter } from '../../task/sink.ts';

/**
 * Collects records into an array per subtask (in arrival order); the runtime concatenates the
 * subtasks' arrays into `run()`'s result. It holds everything in memory until the job ends, so
 * use it for bounded jobs of modest size, and with records that survive structured clone (the
 * arrays cross from the worker threads to the caller).
 */
export class CollectSink<T> implements Sink<T> {
  createWriter(_context: SinkContext): CollectSinkWriter<T> {
    return new CollectSinkWriter<T>();
  }
}

export class CollectSinkWriter<T> implements SinkWriter<T> {
  readonly #records: T[] = [];

  write(record: T): void {
    this.#records.push(record);
  }

  /** Every record written, in arrival order. */
  result(): T[] {
    return this.#records;
  }
}
