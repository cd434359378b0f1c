/**
 * `weir run`: turns command-line flags into run options, runs the job and prints a short
 * summary (records per sink, where file output went). Main thread of the CLI process.
 */
import { relative } from 'node:path';
import { run } from '../api/run.ts';
import type { RunOptions } from '../api/options.ts';
import type { CheckpointingOptions } from '../checkpoint/checkpoint-config.ts';
import { parseDuration, parseRestartStrategyFlag } from '../coordinator/restart-strategy.ts';
import { LiveStatus } from './live-status.ts';
import type { CheckpointStats } from '../checkpoint/checkpoint-coordinator.ts';
import { WeirError } from '../errors.ts';

/** A command-line mistake (a malformed flag value): exit 2 with a pointer to --help. */
export class UsageError extends WeirError {
  constructor(message: string) {
    super('WEIR_INVALID_ARGUMENT', message);
  }
}

export interface RunFlags {
  parallelism?: string | number;
  maxParallelism?: string | number;
  param?: string | string[];
  ringBytes?: string | number;
  recordCodec?: string;
  checkpointDir?: string;
  checkpointInterval?: string | number;
  mode?: string;
  unaligned?: boolean;
  alignedTimeout?: string;
  debloat?: boolean;
  debloatTarget?: string | number;
  resume?: boolean;
  from?: string;
  jobName?: string;
  numRetained?: string | number;
  stateBackend?: string;
  lsmMemoryBudget?: string | number;
  lsmIncremental?: string | boolean;
  restartStrategy?: string;
  quiet?: boolean;
}

function integerFlag(flag: string, value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new UsageError(`--${flag} expects an integer, got ${JSON.stringify(String(value))}`);
  }
  return n;
}

export function parseParams(values: string | string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const entry of values === undefined ? [] : Array.isArray(values) ? values : [values]) {
    const text = String(entry);
    const eq = text.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param expects key=value, got ${JSON.stringify(text)}`);
    params[text.slice(0, eq)] = text.slice(eq + 1);
  }
  return params;
}

export function flagsToOptions(flags: RunFlags): RunOptions {
  const options: RunOptions = { params: parseParams(flags.param) };
  const parallelism = integerFlag('parallelism', flags.parallelism);
  if (parallelism !== undefined) options.parallelism = parallelism;
  const maxParallelism = integerFlag('max-parallelism', flags.maxParallelism);
  if (maxParallelism !== undefined) options.maxParallelism = maxParallelism;
  const ringBytes = integerFlag('ring-bytes', flags.ringBytes);
  if (ringBytes !== undefined) options.ringBytes = ringBytes;
  if (flags.recordCodec !== undefined) options.recordCodec = String(flags.recordCodec);
  if (flags.stateBackend !== undefined) {
    const backend = String(flags.stateBackend);
    if (backend !== 'heap' && backend !== 'lsm') throw new UsageError(`--state-backend must be heap or lsm, got ${JSON.stringify(backend)}`);
    options.stateBackend = backend;
  }
  const budget = integerFlag('lsm-memory-budget', flags.lsmMemoryBudget);
  if (budget !== undefined) {
    if (options.stateBackend !== 'lsm') throw new UsageError('--lsm-memory-budget needs --state-backend lsm');
    options.lsm = { memoryBudget: budget };
  }
  if (flags.lsmIncremental !== undefined) {
    const value = String(flags.lsmIncremental);
    if (value !== 'true' && value !== 'false') throw new UsageError(`--lsm-incremental must be true or false, got ${JSON.stringify(value)}`);
    if (options.stateBackend !== 'lsm') throw new UsageError('--lsm-incremental needs --state-backend lsm');
    options.lsm = { ...options.lsm, incremental: value === 'true' };
  }
  if (flags.debloatTarget !== undefined) {
    // A target implies debloating; the other debloat settings keep Flink's defaults.
    const targetMs = parseDuration(String(flags.debloatTarget), '--debloat-target');
    if (targetMs <= 0) throw new UsageError(`--debloat-target must be a positive duration, got ${JSON.stringify(String(flags.debloatTarget))}`);
    options.debloat = { targetMs };
  } else if (flags.debloat === true) {
    options.debloat = true;
  }
  const checkpointing = checkpointingFromFlags(flags);
  if (checkpointing !== undefined) options.checkpointing = checkpointing;
  if (flags.restartStrategy !== undefined) options.restartStrategy = parseRestartStrategyFlag(String(flags.restartStrategy));
  return options;
}

function checkpointingFromFlags(flags: RunFlags): CheckpointingOptions | undefined {
  const wanted =
    flags.checkpointDir !== undefined || flags.checkpointInterval !== undefined || flags.resume === true || flags.from !== undefined;
  if (!wanted) {
    for (const [flag, value] of [['--mode', flags.mode], ['--job-name', flags.jobName], ['--num-retained', flags.numRetained], ['--unaligned', flags.unaligned], ['--aligned-timeout', flags.alignedTimeout]] as const) {
      if (value !== undefined) throw new UsageError(`${flag} needs checkpointing: add --checkpoint-dir or --checkpoint-interval`);
    }
    return undefined;
  }
  if (flags.resume === true && flags.from !== undefined) throw new UsageError('--resume and --from exclude each other');
  if (flags.resume === true && flags.checkpointDir === undefined) throw new UsageError('--resume needs --checkpoint-dir (it resumes from the latest checkpoint there)');
  const options: CheckpointingOptions = {
    interval: flags.checkpointInterval === undefined ? 1000 : parseDuration(String(flags.checkpointInterval), '--checkpoint-interval'),
  };
  if (flags.checkpointDir !== undefined) options.directory = String(flags.checkpointDir);
  if (flags.mode !== undefined) options.mode = String(flags.mode) as CheckpointingOptions['mode'];
  if (flags.unaligned === true) options.unaligned = true;
  if (flags.alignedTimeout !== undefined) options.alignedTimeout = parseDuration(String(flags.alignedTimeout), '--aligned-timeout');
  if (flags.jobName !== undefined) options.jobName = String(flags.jobName);
  const numRetained = integerFlag('num-retained', flags.numRetained);
  if (numRetained !== undefined) options.numRetained = numRetained;
  if (flags.resume === true) options.resumeFrom = 'latest';
  if (flags.from !== undefined) options.resumeFrom = String(flags.from);
  return options;
}

export async function runCommand(job: string, flags: RunFlags): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const status = new LiveStatus(process.stderr, flags.quiet !== true);
  try {
    const options = flagsToOptions(flags);
    const result = await run(job, {
      ...options,
      signal: controller.signal,
      onWarning: (message) => status.warn(message),
      onProgress: (progress) => status.progress(progress.recordsPerSecond),
      ...(options.checkpointing === undefined ? {} : { onCheckpoint: (stats: CheckpointStats) => status.checkpoint(stats) }),
    });
    status.stop();
    if (result.status === 'CANCELED') {
      process.stderr.write('weir: job canceled\n');
      return 130;
    }
    if (!flags.quiet) printSummary(result);
    return 0;
  } finally {
    status.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function printSummary(result: Awaited<ReturnType<typeof run>>): void {
  const seconds = (result.metrics.durationMs / 1000).toFixed(2);
  const restarts = result.restarts > 0 ? `, after ${result.restarts} restart(s)` : '';
  const checkpoints = result.checkpoints.length > 0 ? `, ${result.checkpoints.length} checkpoint(s)` : '';
  const lines = [`Job finished in ${seconds} s${restarts}${checkpoints}.`];
  for (const [uid, stats] of Object.entries(result.metrics.operators)) {
    lines.push(`  ${uid.padEnd(24)} in ${String(stats.recordsIn).padStart(10)}  out ${String(stats.recordsOut).padStart(10)}  (parallelism ${stats.parallelism})`);
  }
  for (const [uid, reports] of Object.entries(result.outputs)) {
    const files = reports.flatMap((r) => (isFileReport(r) ? r.files : []));
    const directory = reports.find(isFileReport)?.directory;
    if (directory !== undefined) {
      lines.push(`Output of '${uid}': ${files.length} file(s) in ${relative(process.cwd(), directory) || '.'}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function isFileReport(value: unknown): value is { directory: string; files: string[] } {
  return typeof value === 'object' && value !== null && typeof (value as { directory?: unknown }).directory === 'string';
}
