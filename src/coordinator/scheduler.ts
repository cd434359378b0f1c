/**
 * Starts every subtask of a job on its own worker thread and owns those threads' lives, using
 * a piscina pool sized to the job (one long-lived task per worker; all must run at once, since
 * a subtask that is not running would stall its producers). Main thread, used by the job
 * coordinator.
 */
import { Piscina } from 'piscina';
import { fileURLToPath } from 'node:url';
import type { Transferable, Worker } from 'node:worker_threads';
import type { TaskResult, TaskSpec } from '../task/task-spec.ts';

/** The worker entry next to this file: `.ts` when running from source (tsx), `.js` when built. */
function workerEntryPath(): string {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`../task/worker-entry${extension}`, import.meta.url));
}

export interface ScheduledSubtask {
  readonly result: Promise<TaskResult>;
  /** Terminates the subtask's worker thread at once (after cooperative cancellation failed). */
  kill(): void;
}

export class SubtaskScheduler {
  readonly #pool: Piscina<TaskSpec, TaskResult>;
  /** Every worker thread seen, to wait for the exit of those the pool removes. */
  readonly #known = new Set<Worker>();

  constructor(threads: number) {
    this.#pool = new Piscina<TaskSpec, TaskResult>({
      filename: workerEntryPath(),
      name: 'default',
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: 1,
      // Subtasks are long-lived and block in Atomics themselves; piscina's own Atomics
      // waiting between tasks would freeze a worker's event loop (REFERENCE.md, piscina).
      atomics: 'disabled',
      maxQueue: threads,
      idleTimeout: 1_000,
    });
  }

  /**
   * Resolves once every worker thread this pool removed (a crash, a kill) has really exited.
   * piscina rejects a killed task at once, while the thread may still run for a moment: a
   * restart must not begin (clean up files, restore) while such a thread can still write.
   */
  async settle(): Promise<void> {
    const live = new Set(this.#pool.threads);
    const gone = [...this.#known].filter((worker) => !live.has(worker) && worker.threadId !== -1);
    await Promise.all(gone.map((worker) => new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      if (worker.threadId === -1) resolve();
    })));
    for (const worker of gone) this.#known.delete(worker);
    for (const worker of live) this.#known.add(worker);
  }

  start(spec: TaskSpec, transferList: Transferable[] = []): ScheduledSubtask {
    for (const worker of this.#pool.threads) this.#known.add(worker);
    const abort = new AbortController();
    const result = this.#pool.run(spec, { signal: abort.signal, transferList: transferList as never });
    return { result, kill: () => abort.abort() };
  }

  /** Ends every worker thread of the pool. */
  async destroy(): Promise<void> {
    await this.#pool.destroy();
  }
}
