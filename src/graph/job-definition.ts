/**
 * The bridge between a job module and the runtime: a job module's default export is a
 * JobDefinition (made by `defineJob` in the API layer), which builds the logical plan for a
 * given configuration. Used on the main thread and on every worker thread; loading a module
 * that is written in TypeScript registers tsx first.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { WeirError } from '../errors.ts';
import type { LogicalPlan } from './transformation.ts';

/** Symbol.for so that two copies of weir (built and source) recognise each other's jobs. */
export const JOB_DEFINITION = Symbol.for('weir.jobDefinition');

export interface PlanConfig {
  readonly parallelism: number;
  readonly maxParallelism: number | undefined;
  readonly params: Readonly<Record<string, string>>;
}

export interface JobDefinition {
  readonly [JOB_DEFINITION]: true;
  buildPlan(config: PlanConfig): LogicalPlan;
}

export function isJobDefinition(value: unknown): value is JobDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[JOB_DEFINITION] === true;
}

/** Turns a path (relative to cwd) or URL into the file URL both threads import. */
export function jobModuleUrl(job: string | URL): string {
  if (job instanceof URL) return job.href;
  if (/^(file|data):/.test(job)) return job;
  return pathToFileURL(resolve(job)).href;
}

/** Shared through globalThis so that every copy of this module (and worker-entry.ts) sees it. */
const TSX_REGISTERED = Symbol.for('weir.tsxRegistered');

/**
 * Node 20 does not apply ESM loader hooks registered by `--import tsx` inside worker threads
 * (measured: `import()` of a .ts file fails there with ERR_UNKNOWN_FILE_EXTENSION), so workers
 * always register tsx themselves; the main thread only when no tsx flag is active.
 */
function needsTypeScriptLoader(url: string): boolean {
  if (!/\.(ts|mts|cts|tsx)$/.test(new URL(url).pathname)) return false;
  if ((globalThis as Record<symbol, unknown>)[TSX_REGISTERED] === true) return false;
  if (!isMainThread) return true;
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  return !/\btsx\b/.test(flags);
}

/** Imports a job module (registering tsx for TypeScript when no loader is active) and checks its export. */
export async function loadJobDefinition(url: string): Promise<JobDefinition> {
  if (needsTypeScriptLoader(url)) {
    const tsx = await import('tsx/esm/api');
    if ((globalThis as Record<symbol, unknown>)[TSX_REGISTERED] !== true) {
      tsx.register();
      (globalThis as Record<symbol, unknown>)[TSX_REGISTERED] = true;
    }
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new WeirError('WEIR_JOB_MODULE_LOAD_FAILED', `cannot load job module ${url}: ${detail}`, { cause });
  }
  const definition = module.default;
  if (!isJobDefinition(definition)) {
    throw new WeirError(
      'WEIR_INVALID_JOB',
      `job module ${url} must have a default export made by defineJob(...), got ${definition === undefined ? 'no default export' : typeof definition}`,
    );
  }
  return definition;
}
