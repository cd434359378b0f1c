/**
 * What `run()` resolves with (JobResult) and how it is assembled from the subtasks' results:
 * per-operator counters summed over subtasks, collect-sink records, other sinks' reports.
 * Main thread, used by the job coordinator.
 */
import type { DebloatMetrics } from '../channels/debloat-driver.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import { TaskControl } from '../task/task-control.ts';
import type { TaskResult } from '../task/task-spec.ts';
import type { SubtaskDeployment } from './task-deployment.ts';

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

/**
 * One subtask's buffer-debloating metrics (of its input gate), as `onProgress` and JobResult
 * report them: Flink's `debloatedBufferSize` and `estimatedTimeToConsumeBuffersMs`, and what
 * they come from, as of the subtask's last debloat period.
 */
export interface SubtaskDebloatMetrics extends DebloatMetrics {
  /** `vertexIndex/subtaskIndex`. */
  readonly subtask: string;
  /** The job vertex (operator chain) name. */
  readonly name: string;
  readonly subtaskIndex: number;
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
    /**
     * With `debloat` on: per subtask with an input gate (of the last attempt), its debloat metrics
     * when it ended; absent when debloating is off.
     */
    readonly debloat?: readonly SubtaskDebloatMetrics[];
  };
  /** Records of collect sinks (sinks whose writers return arrays), by sink uid, subtask by subtask. */
  readonly collected: Readonly<Record<string, unknown[]>>;
  /** Other sinks' reports (a FileSink: its directory and committed files), by sink uid, one per subtask. */
  readonly outputs: Readonly<Record<string, unknown[]>>;
  /** How many times the job restarted after a failure. */
  readonly restarts: number;
  /** What went wrong but did not fail the job (restarts, skipped checkpoints). */
  readonly warnings: readonly string[];
}

export function summarize(
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
    restarts: 0,
    warnings: [],
  };
}

/** The debloat metrics the subtasks published in their control words, for those that did (main thread, any time). */
export function sampleDebloatMetrics(deployments: readonly SubtaskDeployment[]): SubtaskDebloatMetrics[] {
  const out: SubtaskDebloatMetrics[] = [];
  for (const d of deployments) {
    const metrics = new TaskControl(d.spec.control).debloat;
    if (metrics !== undefined) out.push({ subtask: d.key, name: d.vertex.name, subtaskIndex: d.subtaskIndex, ...metrics });
  }
  return out;
}
