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
  /**
   * Two-phase commit, phase one (Flink's SinkWriter.prepareCommit): at a checkpoint barrier, or
   * at end of input when the job checkpoints, make everything written so far durable but not
   * visible, and describe it as committables (plain, structured-clone-safe data). The runtime
   * stores them in the checkpoint and has the sink's committer commit them once the checkpoint
   * completes. Writers without it are not transactional (at-least-once at best).
   */
  prepareCommit?(checkpointId: number): unknown[];
}

/** Phase two of two-phase commit; runs on the subtask thread or on the main thread. */
export interface Committer {
  /**
   * Makes the committables visible. Must be idempotent: after a failure the same committables
   * are committed again (some of them may already be).
   */
  commit(committables: readonly unknown[]): void | Promise<void>;
  /**
   * Before a restored job starts: removes what uncommitted attempts left behind, keeping
   * everything `keep` (the restored committables) refers to.
   */
  cleanup?(keep: readonly unknown[]): void | Promise<void>;
}

export interface Sink<T> {
  /** Called once per sink subtask, on that subtask's worker thread. */
  createWriter(context: SinkContext): SinkWriter<T>;
  /** Transactional sinks: the committer for the committables their writers prepare. */
  createCommitter?(): Committer;
}
