/**
 * The JobCoordinator: runs one job from module to result on the main thread. It builds the
 * job graph, deploys one subtask per worker thread, waits for all to finish, and on the first
 * failure (or on cancellation) stops every other subtask — cooperatively through their control
 * words, then by terminating threads after a grace period — so nothing hangs or leaks.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { fromErrorRecord, WeirError } from '../errors.ts';
import { Doorbell } from '../channels/ring-buffer.ts';
import { buildJobGraph, type JobGraph } from '../graph/job-graph.ts';
import { loadJobDefinition, type PlanConfig } from '../graph/job-definition.ts';
import { TaskControl } from '../task/task-control.ts';
import type { TaskResult } from '../task/task-spec.ts';
import { isWeirError } from '../task/operators/stream-operator.ts';
import { SubtaskScheduler, type ScheduledSubtask } from './scheduler.ts';
import { deployTasks, type SubtaskDeployment } from './task-deployment.ts';

export interface JobConfig {
  readonly jobUrl: string;
  readonly parallelism: number;
  readonly maxParallelism: number | undefined;
  readonly params: Readonly<Record<string, string>>;
  readonly ringBytes: number;
  readonly recordCodec: string;
  /** How long cancelled subtasks get to stop by themselves before their threads are terminated. */
  readonly cancelGraceMs: number;
  readonly signal: AbortSignal | undefined;
}

export interface OperatorStats {
  readonly name: string;
  readonly parallelism: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
}

/** A completed checkpoint as `run()` reports it. */
export interface CheckpointSummary {
  readonly checkpointId: number;
  readonly durationMs: number;
  readonly stateBytes: number;
}

export interface JobResult {
  readonly jobId: string;
  readonly status: 'FINISHED' | 'CANCELED';
  /** Completed checkpoints, oldest first (empty: this job ran without checkpointing). */
  readonly checkpoints: readonly CheckpointSummary[];
  readonly metrics: {
    readonly durationMs: number;
    /** Summed over subtasks, by operator uid. */
    readonly operators: Readonly<Record<string, OperatorStats>>;
    /** Time subtasks spent blocked on full output rings, summed over subtasks. */
    readonly backpressuredMs: number;
  };
  /** Records of collect sinks (sinks whose writers return arrays), by sink uid, subtask by subtask. */
  readonly collected: Readonly<Record<string, unknown[]>>;
  /** Other sinks' reports (a FileSink: its directory and committed files), by sink uid, one per subtask. */
  readonly outputs: Readonly<Record<string, unknown[]>>;
}

interface Running {
  readonly deployment: SubtaskDeployment;
  readonly subtask: ScheduledSubtask;
}

export async function executeJob(config: JobConfig): Promise<JobResult> {
  const started = performance.now();
  const jobId = randomUUID();
  const planConfig: PlanConfig = {
    parallelism: config.parallelism,
    maxParallelism: config.maxParallelism,
    params: config.params,
  };
  const definition = await loadJobDefinition(config.jobUrl);
  let graph: JobGraph;
  try {
    graph = buildJobGraph(definition.buildPlan(planConfig));
  } catch (error) {
    if (isWeirError(error)) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new WeirError('WEIR_INVALID_JOB', `the job module's defineJob builder threw: ${detail}`, { cause: error });
  }
  const deployments = deployTasks(graph, {
    jobUrl: config.jobUrl,
    planConfig,
    ringBytes: config.ringBytes,
    recordCodec: config.recordCodec,
  });
  if (config.signal?.aborted === true) {
    return summarize(jobId, graph, deployments, [], true, performance.now() - started);
  }
  const scheduler = new SubtaskScheduler(deployments.length);
  const execution = new Execution(deployments, scheduler, config.cancelGraceMs);
  const onAbort = () => execution.cancel();
  config.signal?.addEventListener('abort', onAbort, { once: true });
  let results: Array<TaskResult | undefined>;
  try {
    results = await execution.run();
  } finally {
    config.signal?.removeEventListener('abort', onAbort);
    await scheduler.destroy();
  }
  if (execution.failure !== undefined) throw execution.failure;
  return summarize(jobId, graph, deployments, results, execution.canceled, performance.now() - started);
}

/** The subtasks of one job run, and how they end together. */
class Execution {
  failure: Error | undefined;
  canceled = false;
  readonly #deployments: readonly SubtaskDeployment[];
  readonly #scheduler: SubtaskScheduler;
  readonly #graceMs: number;
  #running: Running[] = [];
  #killTimer: NodeJS.Timeout | undefined;

  constructor(deployments: readonly SubtaskDeployment[], scheduler: SubtaskScheduler, graceMs: number) {
    this.#deployments = deployments;
    this.#scheduler = scheduler;
    this.#graceMs = graceMs;
  }

  async run(): Promise<Array<TaskResult | undefined>> {
    this.#running = this.#deployments.map((deployment) => ({
      deployment,
      subtask: this.#scheduler.start(deployment.spec),
    }));
    try {
      return await Promise.all(this.#running.map((running) => this.#await(running)));
    } finally {
      clearTimeout(this.#killTimer);
    }
  }

  /** User cancellation: every subtask stops; the job ends CANCELED. */
  cancel(): void {
    if (this.canceled || this.failure !== undefined) return;
    this.canceled = true;
    this.#stopAll();
  }

  async #await(running: Running): Promise<TaskResult | undefined> {
    const { deployment } = running;
    try {
      const result = await running.subtask.result;
      if (result.status === 'failed') {
        this.#fail(fromErrorRecord(result.error ?? { name: 'Error', message: 'subtask failed without an error' }));
      }
      return result;
    } catch (error) {
      // The worker itself broke (crash, process.exit, out of memory) or was terminated by us.
      if (!this.#stopping) {
        const detail = error instanceof Error ? error.message : inspect(error, { depth: 2, breakLength: Infinity });
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
    if (this.#stopping) return;
    this.failure = error;
    this.#stopAll();
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

function summarize(
  jobId: string,
  graph: JobGraph,
  deployments: readonly SubtaskDeployment[],
  results: Array<TaskResult | undefined>,
  canceled: boolean,
  durationMs: number,
): JobResult {
  const operators: Record<string, { name: string; parallelism: number; recordsIn: number; recordsOut: number }> = {};
  for (const node of graph.nodes) {
    operators[node.uid] = { name: node.name, parallelism: node.parallelism, recordsIn: 0, recordsOut: 0 };
  }
  const collected: Record<string, unknown[]> = {};
  const outputs: Record<string, unknown[]> = {};
  let backpressuredMs = 0;
  // Deployments are vertex by vertex, subtask by subtask: collected output is in subtask order.
  deployments.forEach((_, i) => {
    const result = results[i];
    if (result === undefined) return;
    backpressuredMs += result.backpressuredMs;
    for (const m of result.operators) {
      const stats = operators[m.uid]!;
      stats.recordsIn += m.recordsIn;
      stats.recordsOut += m.recordsOut;
    }
    for (const { uid, value } of result.sinkResults) {
      if (Array.isArray(value)) {
        const list = (collected[uid] ??= []);
        for (const v of value) list.push(v);
      } else {
        (outputs[uid] ??= []).push(value);
      }
    }
  });
  return {
    jobId,
    status: canceled ? 'CANCELED' : 'FINISHED',
    checkpoints: [],
    metrics: { durationMs, operators, backpressuredMs },
    collected,
    outputs,
  };
}
