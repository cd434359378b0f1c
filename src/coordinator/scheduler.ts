/**
 * Starts every subtask of a job on its own worker thread and owns those threads' lives, using
 * a piscina pool sized to the job (one long-lived task per worker; all must run at once, since
 * a subtask that is not running would stall its producers). Main thread, used by the job
 * coordinator.
 */
import { Piscina } from 'piscina';
import { fileURLToPath } from 'node:url';
import type { Transferable } from 'node:worker_threads';
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

  start(spec: TaskSpec, transferList: Transferable[] = []): ScheduledSubtask {
    const abort = new AbortController();
    const result = this.#pool.run(spec, { signal: abort.signal, transferList: transferList as never });
    return { result, kill: () => abort.abort() };
  }

  /** Ends every worker thread of the pool. */
  async destroy(): Promise<void> {
    await this.#pool.destroy();
  }
}
