/**
 * The piscina task a worker thread runs: one long-lived subtask per call. The coordinator's
 * pool loads this file in each worker; the task resolves with a TaskResult (failures included,
 * as plain error records), and rejects only when the worker itself breaks.
 */
import { runSubtask } from './subtask-runner.ts';
import type { TaskResult, TaskSpec } from './task-spec.ts';

export default function runTask(spec: TaskSpec): Promise<TaskResult> {
  return runSubtask(spec);
}
