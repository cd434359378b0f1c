/**
 * `weir run`: turns command-line flags into run options, runs the job and prints a short
 * summary (records per sink, where file output went). Main thread of the CLI process.
 */
import { relative } from 'node:path';
import { run } from '../api/run.ts';
import type { RunOptions } from '../api/options.ts';
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
  return options;
}

export async function runCommand(job: string, flags: RunFlags): Promise<number> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await run(job, { ...flagsToOptions(flags), signal: controller.signal });
    if (result.status === 'CANCELED') {
      process.stderr.write('weir: job canceled\n');
      return 130;
    }
    if (!flags.quiet) printSummary(result);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function printSummary(result: Awaited<ReturnType<typeof run>>): void {
  const seconds = (result.metrics.durationMs / 1000).toFixed(2);
  const lines = [`Job finished in ${seconds} s.`];
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
