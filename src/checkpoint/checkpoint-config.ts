/**
 * Checkpointing options (Flink's names in camelCase, Flink's defaults) and their validation.
 * Main thread; used by run() and the CLI.
 */
import { WeirError } from '../errors.ts';

export type CheckpointingMode = 'exactly-once' | 'at-least-once';
export type CheckpointRetention = 'delete-on-cancel' | 'retain-on-cancel';

export interface CheckpointingOptions {
  /** Milliseconds between checkpoint triggers (at least 10). Required to enable checkpointing. */
  interval: number;
  /** A checkpoint not completed within this many ms is aborted. Default 600000 (10 min). */
  timeout?: number;
  /** Minimum ms between the end of one checkpoint and the trigger of the next. Default 0. */
  minPause?: number;
  /** Checkpoints in flight at once. Default 1. */
  maxConcurrent?: number;
  /** Consecutive checkpoint failures tolerated before the job fails. Default 0. */
  tolerableFailures?: number;
  /** Keep retained checkpoints when the job is cancelled? Default 'delete-on-cancel'. */
  retention?: CheckpointRetention;
  /** Completed checkpoints kept. Default 1. */
  numRetained?: number;
  /** Default 'exactly-once' (aligned barriers). */
  mode?: CheckpointingMode;
  /**
   * Unaligned checkpoints: barriers overtake in-flight data, which is stored with the checkpoint
   * and replayed first on restore. Exactly-once mode and maxConcurrent 1 only. Default false.
   */
  unaligned?: boolean;
  /**
   * Start each checkpoint aligned and switch a subtask to unaligned once its alignment runs this
   * many ms past the checkpoint's trigger (Flink's aligned-checkpoint-timeout). Exactly-once mode
   * and maxConcurrent 1 only. Default: never.
   */
  alignedTimeout?: number;
  /** Root directory for checkpoint files (`<directory>/<jobName>/chk-<n>/…`); omitted: in memory. */
  directory?: string;
  /** Stable name of the job under `directory`. Default: the job module's file name without extension. */
  jobName?: string;
  /** Start from the latest retained checkpoint in `directory` ('latest'), or from a checkpoint path. */
  resumeFrom?: 'latest' | string;
}

export interface CheckpointConfig {
  readonly interval: number;
  readonly timeout: number;
  readonly minPause: number;
  readonly maxConcurrent: number;
  readonly tolerableFailures: number;
  readonly retention: CheckpointRetention;
  readonly numRetained: number;
  readonly mode: CheckpointingMode;
  readonly unaligned: boolean;
  readonly alignedTimeout: number | undefined;
  readonly directory: string | undefined;
  readonly jobName: string | undefined;
  readonly resumeFrom: string | undefined;
}

export const CHECKPOINT_DEFAULTS = {
  timeout: 600_000,
  minPause: 0,
  maxConcurrent: 1,
  tolerableFailures: 0,
  retention: 'delete-on-cancel',
  numRetained: 1,
  mode: 'exactly-once',
} as const;

/** Flink's lower bound for the checkpoint interval. */
export const MIN_CHECKPOINT_INTERVAL_MS = 10;

const KNOWN = new Set([
  'interval', 'timeout', 'minPause', 'maxConcurrent', 'tolerableFailures', 'retention',
  'numRetained', 'mode', 'unaligned', 'alignedTimeout', 'directory', 'jobName', 'resumeFrom',
]);

function invalid(field: string, expected: string, got: unknown): WeirError {
  const shown = typeof got === 'string' ? JSON.stringify(got) : String(got);
  return new WeirError('WEIR_INVALID_OPTION', `options.checkpointing.${field} must be ${expected}, got ${shown}`, {
    context: { option: `checkpointing.${field}` },
  });
}

function integer(field: string, value: unknown, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(field, `an integer ≥ ${min}`, value);
  }
  return value;
}

export function resolveCheckpointing(options: unknown): CheckpointConfig | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new WeirError('WEIR_INVALID_OPTION', `options.checkpointing must be an object, got ${String(options)}`, {
      context: { option: 'checkpointing' },
    });
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) {
      throw new WeirError('WEIR_INVALID_OPTION', `unknown option 'checkpointing.${key}' (known: ${[...KNOWN].join(', ')})`, {
        context: { option: `checkpointing.${key}` },
      });
    }
  }
  if (o.interval === undefined) throw invalid('interval', 'set (milliseconds) to enable checkpointing', o.interval);
  const interval = integer('interval', o.interval, MIN_CHECKPOINT_INTERVAL_MS, 0);
  const retention = o.retention ?? CHECKPOINT_DEFAULTS.retention;
  if (retention !== 'delete-on-cancel' && retention !== 'retain-on-cancel') {
    throw invalid('retention', "'delete-on-cancel' or 'retain-on-cancel'", retention);
  }
  const mode = o.mode ?? CHECKPOINT_DEFAULTS.mode;
  if (mode !== 'exactly-once' && mode !== 'at-least-once') throw invalid('mode', "'exactly-once' or 'at-least-once'", mode);
  for (const field of ['directory', 'jobName', 'resumeFrom'] as const) {
    if (o[field] !== undefined && (typeof o[field] !== 'string' || o[field] === '')) throw invalid(field, 'a non-empty string', o[field]);
  }
  if (o.jobName !== undefined && !/^[A-Za-z0-9._-]+$/.test(o.jobName as string)) {
    throw invalid('jobName', "letters, digits, '.', '_' or '-'", o.jobName);
  }
  if (o.resumeFrom === 'latest' && o.directory === undefined) {
    throw invalid('resumeFrom', "used with checkpointing.directory ('latest' looks there)", o.resumeFrom);
  }
  const maxConcurrent = integer('maxConcurrent', o.maxConcurrent, 1, CHECKPOINT_DEFAULTS.maxConcurrent);
  const unaligned = o.unaligned ?? false;
  if (typeof unaligned !== 'boolean') throw invalid('unaligned', 'a boolean', unaligned);
  if (unaligned && mode !== 'exactly-once') throw invalid('unaligned', "used with mode 'exactly-once' (at-least-once never aligns)", unaligned);
  if (unaligned && maxConcurrent !== 1) throw invalid('unaligned', 'used with maxConcurrent 1', unaligned);
  const alignedTimeout = o.alignedTimeout === undefined ? undefined : integer('alignedTimeout', o.alignedTimeout, 0, 0);
  if (alignedTimeout !== undefined && mode !== 'exactly-once') throw invalid('alignedTimeout', "used with mode 'exactly-once'", alignedTimeout);
  if (alignedTimeout !== undefined && maxConcurrent !== 1) throw invalid('alignedTimeout', 'used with maxConcurrent 1', alignedTimeout);
  return {
    interval,
    timeout: integer('timeout', o.timeout, 1, CHECKPOINT_DEFAULTS.timeout),
    minPause: integer('minPause', o.minPause, 0, CHECKPOINT_DEFAULTS.minPause),
    maxConcurrent,
    tolerableFailures: integer('tolerableFailures', o.tolerableFailures, 0, CHECKPOINT_DEFAULTS.tolerableFailures),
    retention,
    numRetained: integer('numRetained', o.numRetained, 1, CHECKPOINT_DEFAULTS.numRetained),
    mode,
    unaligned,
    alignedTimeout,
    directory: o.directory as string | undefined,
    jobName: o.jobName as string | undefined,
    resumeFrom: o.resumeFrom as string | undefined,
  };
}
