/**
 * The contract between the runtime and a sink connector. The `Sink` object is built by the job
 * module on every thread; each sink subtask calls `createWriter` once on its worker thread.
 */

export interface SinkContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** The sink operator's uid, for error messages and result keys. */
  readonly operatorId: string;
}

export interface SinkWriter<T> {
  /** Called once before the first record; may be async (open files, connect). */
  open?(): void | Promise<void>;
  /** Called for every record, synchronously on the subtask's thread. */
  write(record: T): void;
  /**
   * Called when all input has arrived (end of a bounded job): make everything written durable
   * and visible.
   */
  finish?(): void | Promise<void>;
  /** Called once when the subtask ends, normally or not: release resources. */
  close?(): void | Promise<void>;
  /**
   * Optional plain (structured-clone-safe) value the subtask hands back to `run()` when it
   * finishes; the collect sink returns its records this way.
   */
  result?(): unknown;
}

export interface Sink<T> {
  /** Called once per sink subtask, on that subtask's worker thread. */
  createWriter(context: SinkContext): SinkWriter<T>;
}
