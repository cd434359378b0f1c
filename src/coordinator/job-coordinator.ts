/**
 * The JobCoordinator: runs one job from module to result on the main thread. It builds the
 * job graph and runs attempts (execution.ts) of it: on a failure the restart strategy decides
 * whether to restart, from the latest completed checkpoint (restore-assignment.ts) or from the
 * start; with checkpointing it owns the CheckpointCoordinator, resumes from retained
 * checkpoints, and commits a bounded job's final sink output.
 */
import type { DebloatSettings } from '../channels/debloat-driver.ts';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StateBackendConfig } from '../state/state-backend-factory.ts';
import { WeirError } from '../errors.ts';
import type { CheckpointConfig } from '../checkpoint/checkpoint-config.ts';
import { CheckpointCoordinator, type CheckpointStats } from '../checkpoint/checkpoint-coordinator.ts';
import { planRestore, type LoadedCheckpoint, type RestorePlan } from '../checkpoint/restore-assignment.ts';
import { buildJobGraph, type JobGraph } from '../graph/job-graph.ts';
import { loadJobDefinition, type PlanConfig } from '../graph/job-definition.ts';
import type { ToSubtask } from '../task/checkpoint-messages.ts';
import type { TaskResult } from '../task/task-spec.ts';
import { isWeirError } from '../task/operators/stream-operator.ts';
import { Execution } from './execution.ts';
import { FaultInjector, type FaultInjection } from './fault-injector.ts';
import { sampleDebloatMetrics, summarize, type JobResult, type SubtaskDebloatMetrics } from './job-result.ts';
import { TaskControl } from '../task/task-control.ts';
import {
  commitFinal,
  commitFinalCommittables,
  commitRestoredSinks,
  reconcileSharedState,
  findStartingCheckpoint,
  loadCheckpoint,
  openCheckpointStorage,
  type OpenedStorage,
} from './job-checkpointing.ts';
import { createRestartStrategy, type RestartStrategy, type RestartStrategyOptions } from './restart-strategy.ts';
import { SubtaskScheduler } from './scheduler.ts';
import { deployTasks, type SubtaskDeployment } from './task-deployment.ts';

export interface JobConfig {
  readonly jobUrl: string;
  readonly parallelism: number;
  readonly maxParallelism: number | undefined;
  readonly params: Readonly<Record<string, string>>;
  readonly ringBytes: number;
  readonly recordCodec: string;
  /** Buffer debloating of every input gate; undefined: off. */
  readonly debloat: DebloatSettings | undefined;
  /** How long cancelled subtasks get to stop by themselves before their threads are terminated. */
  readonly cancelGraceMs: number;
  readonly signal: AbortSignal | undefined;
  readonly checkpointing: CheckpointConfig | undefined;
  readonly restartStrategy: RestartStrategyOptions | undefined;
  /** 'heap' or 'lsm' (with its memory budget per keyed subtask, and where working files go). */
  readonly stateBackend:
    | { readonly kind: 'heap' }
    | { readonly kind: 'lsm'; readonly memoryBudget: number; readonly directory: string | undefined; readonly incremental: boolean };
  /** Warnings while the job runs (a skipped checkpoint, a restart): the CLI prints them. */
  readonly onWarning: ((message: string) => void) | undefined;
  readonly onCheckpoint: ((stats: CheckpointStats) => void) | undefined;
  /** Called every half second while subtasks run, with the sources' throughput. */
  readonly onProgress: ((progress: JobProgress) => void) | undefined;
  /** @internal */
  readonly faultInjection: FaultInjection | undefined;
}

/** Live progress of a running job (sampled from the sources' subtasks). */
export interface JobProgress {
  /** Records the sources emitted in the current attempt. */
  readonly records: number;
  /** Over the last sampling period. */
  readonly recordsPerSecond: number;
  readonly restarts: number;
  /**
   * With `debloat` on: per subtask with an input gate, its debloat metrics as of its last
   * debloat period (every `debloat.periodMs`); absent when debloating is off.
   */
  readonly debloat?: readonly SubtaskDebloatMetrics[];
}

const PROGRESS_PERIOD_MS = 500;

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
  const run = new JobRun(jobId, graph, planConfig, config, started);
  try {
    return await run.execute();
  } finally {
    await run.close();
  }
}

/** One job's life: its attempts, restarts and checkpoints. */
class JobRun {
  readonly #jobId: string;
  readonly #graph: JobGraph;
  readonly #planConfig: PlanConfig;
  readonly #config: JobConfig;
  readonly #started: number;
  readonly #restartStrategy: RestartStrategy;
  #storage: OpenedStorage | undefined;
  #checkpoints: CheckpointCoordinator | undefined;
  #execution: Execution | undefined;
  /**
   * One pool for all attempts: a restart reuses the surviving worker threads, whose module
   * caches already hold the runtime and the job module (a fresh thread spends 1–2 s on 2 cores
   * loading them, most of a restart), and piscina replaces the ones that died.
   */
  #scheduler: SubtaskScheduler | undefined;
  readonly #faults: FaultInjector | undefined;
  #lsmDirectory: string | undefined;
  readonly #warnings: string[] = [];
  #restarts = 0;

  constructor(jobId: string, graph: JobGraph, planConfig: PlanConfig, config: JobConfig, started: number) {
    this.#jobId = jobId;
    this.#graph = graph;
    this.#planConfig = planConfig;
    this.#config = config;
    this.#started = started;
    this.#restartStrategy = createRestartStrategy(config.restartStrategy, config.checkpointing !== undefined);
    this.#faults = config.faultInjection === undefined ? undefined : new FaultInjector(config.faultInjection);
  }

  async execute(): Promise<JobResult> {
    const { config, graph } = { config: this.#config, graph: this.#graph };
    let restore: RestorePlan | undefined;
    if (config.checkpointing !== undefined) {
      const faults = this.#faults;
      this.#storage = openCheckpointStorage(
        config.checkpointing,
        config.jobUrl,
        (w) => this.#warn(w),
        faults === undefined ? undefined : (step) => faults.onRegistryStep(step),
      );
      const start = await findStartingCheckpoint(this.#storage, config.checkpointing, (w) => this.#warn(w));
      this.#checkpoints = this.#newCheckpointCoordinator();
      this.#checkpoints.skipIdsUpTo(await this.#storage.storage.highestCheckpointId());
      if (start !== undefined) {
        if (start.metadata.kind === 'final') {
          // The job had finished; a crash may have interrupted its final commit: finish it.
          await commitFinalCommittables(graph, finalsOf(start));
          return this.#summarize([], [], false);
        }
        // Older retained checkpoints count towards numRetained again, so the next completions
        // subsume (delete) them instead of leaving them behind forever.
        const older = config.checkpointing.resumeFrom === 'latest' ? (await this.#storage.storage.listCheckpoints()).checkpoints : [];
        for (const info of older.reverse()) {
          if (info.checkpointId >= start.metadata.checkpointId || info.kind !== 'checkpoint') continue;
          this.#checkpoints.adoptRestored(await this.#storage.storage.loadMetadata(info.checkpointId));
        }
        this.#checkpoints.adoptRestored(start.metadata);
        restore = planRestore(start, graph);
        await commitRestoredSinks(graph, restore);
      } else {
        // A fresh start: remove hidden leftovers of an earlier run that never checkpointed.
        await commitRestoredSinks(graph, { subtasks: new Map(), sinkCommittables: new Map() });
      }
      await reconcileSharedState(this.#storage, (w) => this.#warn(w), true, this.#retainedIds());
    }
    for (;;) {
      if (isAborted(config.signal)) return this.#finishCanceled([], []);
      const deployments = deployTasks(graph, {
        jobUrl: config.jobUrl,
        planConfig: this.#planConfig,
        ringBytes: config.ringBytes,
        recordCodec: config.recordCodec,
        debloat: config.debloat,
        checkpointing:
          config.checkpointing === undefined || this.#storage === undefined
            ? undefined
            : {
                mode: config.checkpointing.mode,
                store: this.#storage.descriptor,
                ...(config.checkpointing.alignedTimeout === undefined ? {} : { alignedTimeout: config.checkpointing.alignedTimeout }),
              },
        restore: restore?.subtasks,
        stateBackend: this.#stateBackend(),
      });
      const { results, execution } = await this.#runAttempt(deployments);
      if (execution.failure === undefined && !execution.canceled) {
        await this.#commitFinal(results);
        if (this.#storage !== undefined) await reconcileSharedState(this.#storage, (w) => this.#warn(w), false, new Set());
        return this.#summarize(deployments, results, false);
      }
      if (execution.failure === undefined) return this.#finishCanceled(deployments, results);
      const decision = this.#restartStrategy.onFailure(execution.failure, performance.now());
      if (!decision.restart || isAborted(config.signal)) {
        if (isWeirError(execution.failure)) Object.assign(execution.failure.context, { restarts: this.#restarts });
        throw execution.failure;
      }
      this.#restarts++;
      this.#warn(`job failed (${execution.failure.message}); restarting in ${decision.delayMs} ms (${decision.reason})`);
      await sleep(decision.delayMs, config.signal);
      restore = undefined;
      const loaded = await this.#loadLatestRestorable();
      if (loaded !== undefined) {
        restore = planRestore(loaded, graph);
        await commitRestoredSinks(graph, restore);
      } else if (this.#storage !== undefined) {
        // No checkpoint yet: start over from scratch, after removing what the attempt left.
        await commitRestoredSinks(graph, { subtasks: new Map(), sinkCommittables: new Map() });
      }
      // Uploads of the failed attempt's unfinished checkpoints: nothing writes them any more.
      await this.#storage?.sharedState?.sweep();
    }
  }

  async #runAttempt(deployments: SubtaskDeployment[]): Promise<{ results: Array<TaskResult | undefined>; execution: Execution }> {
    this.#scheduler ??= new SubtaskScheduler(deployments.length);
    const scheduler = this.#scheduler;
    const checkpoints = this.#checkpoints;
    const execution = new Execution(deployments, scheduler, this.#config.cancelGraceMs, {
      onMessage: (deployment, message) => checkpoints?.onMessage(deployment.key, message),
      onSubtaskFinished: () => checkpoints?.onSubtaskFinished(),
    });
    this.#execution = execution;
    checkpoints?.attach(
      deployments.map((d) => ({
        key: d.key,
        subtaskIndex: d.subtaskIndex,
        isSource: d.isSource,
        name: d.vertex.name,
        send: (message: ToSubtask) => {
          try {
            d.coordinatorPort?.postMessage(message);
          } catch {
            // The subtask's port is closed: it has ended.
          }
        },
      })),
    );
    const onAbort = () => execution.cancel();
    this.#config.signal?.addEventListener('abort', onAbort, { once: true });
    this.#faults?.arm(execution, deployments.length, (victim, point, occurrence) => {
      try {
        deployments[victim]?.coordinatorPort?.postMessage({ type: 'fault', point, occurrence } satisfies ToSubtask);
      } catch {
        // The subtask has ended already.
      }
    });
    const progressTimer = this.#sampleProgress(deployments);
    try {
      const results = await execution.run();
      return { results, execution };
    } finally {
      this.#faults?.disarm();
      clearInterval(progressTimer);
      checkpoints?.detach(execution.failure === undefined && !execution.canceled ? 'TASK_FINISHED' : 'JOB_FAILOVER');
      this.#config.signal?.removeEventListener('abort', onAbort);
      this.#execution = undefined;
      await scheduler.settle();
      // A checkpoint whose `_metadata` is still being written may become the latest: the restore
      // decision (and the sink clean-up it drives) must see it, or it would delete its files.
      await checkpoints?.settle();
    }
  }

  /**
   * The newest retained checkpoint that loads completely (state files present, checksums
   * right), falling back to older retained ones with a warning; undefined when there is none.
   */
  async #loadLatestRestorable(): Promise<LoadedCheckpoint | undefined> {
    if (this.#checkpoints === undefined || this.#storage === undefined) return undefined;
    const candidates = [...this.#checkpoints.retained].reverse();
    let lastError: unknown;
    for (const metadata of candidates) {
      try {
        return await loadCheckpoint(this.#storage.storage, metadata);
      } catch (error) {
        lastError = error;
        this.#warn(`cannot restore from checkpoint ${metadata.checkpointId}: ${(error as Error).message}; trying an older one`);
      }
    }
    if (lastError !== undefined) throw lastError;
    return undefined;
  }

  #sampleProgress(deployments: readonly SubtaskDeployment[]): NodeJS.Timeout | undefined {
    const onProgress = this.#config.onProgress;
    if (onProgress === undefined) return undefined;
    const sources = deployments.filter((d) => d.isSource).map((d) => new TaskControl(d.spec.control));
    let last = 0;
    let lastAt = performance.now();
    const timer = setInterval(() => {
      const records = sources.reduce((sum, control) => sum + control.progress, 0);
      const now = performance.now();
      const recordsPerSecond = Math.max(0, ((records - last) * 1000) / (now - lastAt));
      last = records;
      lastAt = now;
      const debloat = this.#config.debloat === undefined ? {} : { debloat: sampleDebloatMetrics(deployments) };
      onProgress({ records, recordsPerSecond, restarts: this.#restarts, ...debloat });
    }, PROGRESS_PERIOD_MS);
    timer.unref();
    return timer;
  }

  #newCheckpointCoordinator(): CheckpointCoordinator {
    const graph = this.#graph;
    const parallelism = new Map(graph.nodes.map((n) => [n.uid, n.parallelism]));
    return new CheckpointCoordinator(this.#config.checkpointing!, {
      storage: this.#storage!.storage,
      jobName: this.#storage!.jobName,
      ...(this.#storage!.sharedState === undefined ? {} : { sharedState: this.#storage!.sharedState }),
      maxParallelism: graph.maxParallelism,
      parallelismOf: (uid) => parallelism.get(uid) ?? 1,
      onFatal: (error) => this.#execution?.fail(error),
      onTriggered: () => this.#faults?.onTriggered(),
      beforeNotify: () => this.#faults?.beforeNotify(),
      ...(this.#config.onCheckpoint === undefined ? {} : { onCompleted: this.#config.onCheckpoint }),
    });
  }

  async #commitFinal(results: Array<TaskResult | undefined>): Promise<void> {
    if (this.#checkpoints === undefined || this.#storage === undefined) return;
    await this.#checkpoints.settle();
    const finals = new Map<string, unknown[]>();
    for (const result of results) {
      for (const { uid, committables } of result?.finalCommittables ?? []) {
        const list = finals.get(uid) ?? [];
        list.push(...committables);
        finals.set(uid, list);
      }
    }
    await commitFinal(this.#graph, this.#storage.storage, this.#storage.jobName, finals, this.#checkpoints.nextCheckpointId);
    // The final checkpoint replaces the retained ones: nothing is left to resume from.
    for (const metadata of [...this.#checkpoints.retained]) {
      await this.#storage.storage.discardCheckpoint(metadata.checkpointId).catch(() => {});
    }
  }

  async #finishCanceled(deployments: SubtaskDeployment[], results: Array<TaskResult | undefined>): Promise<JobResult> {
    if (this.#checkpoints !== undefined && this.#storage !== undefined && this.#config.checkpointing?.retention === 'delete-on-cancel') {
      for (const metadata of [...this.#checkpoints.retained]) {
        await this.#storage.storage.discardCheckpoint(metadata.checkpointId).catch(() => {});
      }
    }
    if (this.#storage !== undefined) await reconcileSharedState(this.#storage, (w) => this.#warn(w), false, new Set());
    return this.#summarize(deployments, results, true);
  }

  #summarize(deployments: readonly SubtaskDeployment[], results: Array<TaskResult | undefined>, canceled: boolean): JobResult {
    const result = summarize(this.#jobId, this.#graph, deployments, results, canceled, performance.now() - this.#started);
    const checkpoints = (this.#checkpoints?.history ?? [])
      .filter((h) => h.status === 'COMPLETED')
      .map((h) => ({ checkpointId: h.id, durationMs: h.endToEndDurationMs, stateBytes: h.stateSize }));
    const metrics = this.#config.debloat === undefined ? result.metrics : { ...result.metrics, debloat: sampleDebloatMetrics(deployments) };
    return { ...result, metrics, checkpoints, restarts: this.#restarts, warnings: [...this.#warnings] };
  }

  #retainedIds(): Set<number> {
    return new Set((this.#checkpoints?.retained ?? []).map((m) => m.checkpointId));
  }

  #warn(message: string): void {
    this.#warnings.push(message);
    this.#config.onWarning?.(message);
  }

  /** The backend config of this job; an LSM job's working files go to a directory of its own. */
  #stateBackend(): StateBackendConfig {
    const config = this.#config.stateBackend;
    if (config.kind === 'heap') return config;
    this.#lsmDirectory ??= join(config.directory ?? tmpdir(), `weir-lsm-${this.#jobId}`);
    // SST files need a storage with a shared dir; memory storage gets full key-group blocks.
    const sstFiles = this.#storage?.descriptor.kind === 'fs';
    return { kind: 'lsm', directory: this.#lsmDirectory, memoryBudget: config.memoryBudget, sstFiles, incremental: config.incremental };
  }

  async close(): Promise<void> {
    await this.#scheduler?.destroy();
    if (this.#lsmDirectory !== undefined) await rm(this.#lsmDirectory, { recursive: true, force: true });
    await this.#storage?.storage.close();
  }
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function finalsOf(loaded: LoadedCheckpoint): Map<string, unknown[]> {
  const finals = new Map<string, unknown[]>();
  for (const [uid, lists] of loaded.lists) finals.set(uid, lists.flat());
  return finals;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

