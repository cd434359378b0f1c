/**
 * One attempt of a job: starts every subtask on its worker thread, routes checkpoint messages
 * from their ports, and ends them together — on the first failure (or on cancellation) it stops
 * every other subtask, cooperatively through their control words, then by terminating threads
 * after a grace period, so nothing hangs or leaks. Main thread, driven by the job coordinator.
 */
import { inspect } from 'node:util';
import { fromErrorRecord, WeirError } from '../errors.ts';
import { Doorbell } from '../channels/doorbell.ts';
import type { FromSubtask } from '../task/checkpoint-messages.ts';
import { isWeirError } from '../task/operators/stream-operator.ts';
import { TaskControl } from '../task/task-control.ts';
import type { TaskResult } from '../task/task-spec.ts';
import type { ScheduledSubtask, SubtaskScheduler } from './scheduler.ts';
import type { SubtaskDeployment } from './task-deployment.ts';

export interface ExecutionHooks {
  /** A checkpoint protocol message from a subtask. */
  onMessage?(deployment: SubtaskDeployment, message: FromSubtask): void;
  /** A subtask finished its input and ended normally. */
  onSubtaskFinished?(deployment: SubtaskDeployment): void;
}

interface Running {
  readonly deployment: SubtaskDeployment;
  readonly subtask: ScheduledSubtask;
}

export class Execution {
  failure: Error | undefined;
  canceled = false;
  readonly #deployments: readonly SubtaskDeployment[];
  readonly #scheduler: SubtaskScheduler;
  readonly #graceMs: number;
  readonly #hooks: ExecutionHooks;
  #running: Running[] = [];
  #killTimer: NodeJS.Timeout | undefined;
  /** Subtasks we terminated on purpose (fault injection): their death is the failure to report. */
  readonly #killed = new Set<SubtaskDeployment>();

  constructor(deployments: readonly SubtaskDeployment[], scheduler: SubtaskScheduler, graceMs: number, hooks: ExecutionHooks = {}) {
    this.#deployments = deployments;
    this.#scheduler = scheduler;
    this.#graceMs = graceMs;
    this.#hooks = hooks;
  }

  get deployments(): readonly SubtaskDeployment[] {
    return this.#deployments;
  }

  async run(): Promise<Array<TaskResult | undefined>> {
    this.#running = this.#deployments.map((deployment) => {
      deployment.coordinatorPort?.on('message', (message: FromSubtask) => this.#hooks.onMessage?.(deployment, message));
      const transfer = deployment.spec.port === undefined ? [] : [deployment.spec.port];
      return { deployment, subtask: this.#scheduler.start(deployment.spec, transfer) };
    });
    try {
      return await Promise.all(this.#running.map((running) => this.#await(running)));
    } finally {
      clearTimeout(this.#killTimer);
      for (const { deployment } of this.#running) deployment.coordinatorPort?.close();
    }
  }

  /** User cancellation: every subtask stops; the attempt ends canceled. */
  cancel(): void {
    if (this.#stopping) return;
    this.canceled = true;
    this.#stopAll();
  }

  /** Fails the attempt from outside (checkpointing gave up): every subtask stops. */
  fail(error: Error): void {
    this.#fail(error);
  }

  /** Fault injection: terminates one subtask's worker thread, as a crash would. */
  kill(index: number): void {
    const running = this.#running[index];
    if (running === undefined || this.#stopping) return;
    this.#killed.add(running.deployment);
    running.subtask.kill();
  }

  async #await(running: Running): Promise<TaskResult | undefined> {
    const { deployment } = running;
    try {
      const result = await running.subtask.result;
      if (result.status === 'failed') {
        this.#fail(fromErrorRecord(result.error ?? { name: 'Error', message: 'subtask failed without an error' }));
      } else if (result.status === 'finished') {
        this.#hooks.onSubtaskFinished?.(deployment);
      }
      return result;
    } catch (error) {
      // The worker itself broke (crash, process.exit, out of memory) or was terminated.
      if (!this.#stopping || this.#killed.has(deployment)) {
        const detail = this.#killed.has(deployment)
          ? 'killed by fault injection'
          : error instanceof Error
            ? error.message
            : inspect(error, { depth: 2, breakLength: Infinity });
        this.#fail(
          new WeirError(
            'WEIR_WORKER_CRASHED',
            `the worker thread of '${deployment.vertex.name}' subtask ${deployment.subtaskIndex} died: ${detail}`,
            { cause: error, context: { operatorId: deployment.vertex.chain[0]!.uid, subtaskIndex: deployment.subtaskIndex } },
          ),
        );
      }
      return undefined;
    }
  }

  get #stopping(): boolean {
    return this.canceled || this.failure !== undefined;
  }

  #fail(error: Error): void {
    if (this.failure !== undefined) return;
    // A cancellation that raced with a failure: the failure is what happened.
    this.failure = error;
    if (!this.canceled) this.#stopAll();
  }

  #stopAll(): void {
    for (const { spec } of this.#deployments) {
      new TaskControl(spec.control).requestCancel();
      new Doorbell(spec.doorbell).wake();
    }
    this.#killTimer = setTimeout(() => {
      for (const running of this.#running) running.subtask.kill();
    }, this.#graceMs);
  }
}

/** True for errors that say the attempt was stopped by us, not that something broke. */
export function isCancellation(error: unknown): boolean {
  return isWeirError(error) && error.code === 'WEIR_JOB_CANCELED';
}
