/**
 * The contract between the runtime and a source connector (after Flink's FLIP-27 SourceReader).
 * The `Source` object is built by the job module on every thread; each source subtask calls
 * `createReader` once on its worker thread and then drives the reader with `pollNext`.
 */

/** Where a source subtask runs: its index and the source's parallelism. */
export interface SourceReaderContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  /** The operator's uid, for error messages. */
  readonly operatorId: string;
  /**
   * After a restore: the state entries (splits) dealt to this subtask from the checkpoint, which
   * replace the reader's initial assignment (possibly none: then it has nothing to read).
   * Undefined on a fresh start.
   */
  readonly restoredState?: readonly unknown[];
}

/** Receives the records a reader emits; forwards them synchronously down the chain. */
export interface SourceOutput<T> {
  collect(record: T): void;
  /**
   * False when the channels downstream are full (backpressure): a reader emitting a batch should
   * then stop and return `'more'`, so the subtask waits between records — where it still takes
   * part in checkpoints — instead of blocking inside `collect`. The runtime's output always
   * provides it; it is optional only so a test can pass a plain `{ collect }`.
   */
  hasRoom?(): boolean;
}

/**
 * What `pollNext` reports: `'more'` (call again soon), `'end'` (this subtask's input is
 * exhausted), or a number of milliseconds to wait before the next call (nothing available yet,
 * for example a rate limit).
 */
export type PollStatus = 'more' | 'end' | number;

export interface SourceReader<T> {
  /** Called once before the first `pollNext`; may be async (open files, connect). */
  open?(): void | Promise<void>;
  /**
   * Emits a bounded batch of records (the runtime regains control between calls, so keep a
   * batch to about a thousand records or a few milliseconds) and reports what comes next.
   */
  pollNext(output: SourceOutput<T>): PollStatus;
  /**
   * At a checkpoint: the reader's position as a list of plain (structured-clone-safe) entries,
   * typically one per split with its offset. A restore deals the entries of all subtasks out
   * round robin over the new parallelism, so each entry must stand on its own. A reader without
   * this method cannot be checkpointed: the first checkpoint fails the job with
   * WEIR_SOURCE_FAILED naming the source.
   */
  snapshotState?(checkpointId: number): unknown[];
  /** Called once when the subtask ends, normally or not. */
  close?(): void | Promise<void>;
}

export interface Source<T> {
  /** Called once per source subtask, on that subtask's worker thread. */
  createReader(context: SourceReaderContext): SourceReader<T>;
}
