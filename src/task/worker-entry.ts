/**
 * The piscina task a worker thread runs: one long-lived subtask per call. The coordinator's
 * pool loads this file in each worker; the task resolves with a TaskResult (failures included,
 * as plain error records), and rejects only when the worker itself breaks.
 *
 * This file deliberately has no static imports. piscina loads it with require() first; when
 * running from TypeScript sources, tsx then compiles it to CommonJS, and any module it imported
 * statically would be a CommonJS copy whose every imported binding is a getter call (measured:
 * a quarter of the consumer's time in the record decoder). So the runtime is imported here as
 * ESM, after registering tsx's ESM hooks, which Node 20 does not carry into worker threads.
 */
import type { TaskResult, TaskSpec } from './task-spec.ts';

type Runner = typeof import('./subtask-runner.ts');

const TSX_REGISTERED = Symbol.for('weir.tsxRegistered');
let runner: Promise<Runner> | undefined;

async function loadRunner(): Promise<Runner> {
  const url = new URL(`./subtask-runner${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
  const global = globalThis as Record<symbol, unknown>;
  if (url.endsWith('.ts') && global[TSX_REGISTERED] !== true) {
    const tsx = await import('tsx/esm/api');
    tsx.register();
    global[TSX_REGISTERED] = true;
  }
  return (await import(url)) as Runner;
}

export default async function runTask(spec: TaskSpec): Promise<TaskResult> {
  runner ??= loadRunner();
  return (await runner).runSubtask(spec);
}
