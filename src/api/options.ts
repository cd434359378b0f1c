/**
 * Run options: their defaults and their validation. Bad options fail fast, before any thread
 * starts, with a message naming the option. Main thread; used by run() and the CLI.
 */
import { WeirError } from '../errors.ts';
import { UPPER_BOUND_MAX_PARALLELISM } from '../state/key-groups.ts';
import { resolveCheckpointing, type CheckpointConfig, type CheckpointingOptions } from '../checkpoint/checkpoint-config.ts';
import type { JobProgress } from '../coordinator/job-coordinator.ts';
import { FAULT_POINTS, type FaultInjection } from '../coordinator/fault-injector.ts';
import { BufferDebloater } from '../channels/buffer-debloater.ts';
import type { DebloatSettings } from '../channels/debloat-driver.ts';
import type { CheckpointStats } from '../checkpoint/checkpoint-coordinator.ts';
import { validateRestartStrategy, type RestartStrategyOptions } from '../coordinator/restart-strategy.ts';

export interface RunOptions {
  /** Parallelism of every operator that sets none. Default 1. */
  parallelism?: number;
  /** Number of key groups (fixed for the job's lifetime). Default: Flink's, 128 for parallelism ≤ 85. */
  maxParallelism?: number;
  /** Values the job reads as `env.params` (CLI: `--param key=value`). Default {}. */
  params?: Record<string, string>;
  /** Capacity of each channel ring in bytes, a power of two (the largest record is a quarter of it). Default 256 KiB. */
  ringBytes?: number;
  /** Record codec on channels: 'binary' (default), 'json' or 'v8'. */
  recordCodec?: string;
  /** Aborting it cancels the job: `run()` then resolves with status 'CANCELED'. */
  signal?: AbortSignal;
  /** Milliseconds cancelled subtasks get to stop cooperatively before their threads are terminated. Default 5000. */
  cancelGraceMs?: number;
  /** Keyed state backend: 'heap' (default; Flink's HashMap backend) or 'lsm' (Weir's LSM tree). */
  stateBackend?: 'heap' | 'lsm';
  /**
   * Buffer debloating (Flink's): each input channel's usable ring bytes follow about `targetMs`
   * of the consuming subtask's throughput, so in-flight data (and aligned checkpoint time under
   * backpressure) stays bounded. `true` takes Flink's defaults. Default off.
   */
  debloat?: boolean | DebloatSettings;
  /** LSM backend settings. */
  lsm?: {
    /** Bytes of memtable plus block cache per keyed subtask. Default 64 MiB. */
    memoryBudget?: number;
    /** Where LSM working files go (deleted when the job ends). Default: the OS temp directory. */
    directory?: string;
    /**
     * With file-system checkpoints, checkpoint the tree's SST files into the job's `shared/` dir
     * and upload only the files created since the last confirmed checkpoint. `false`: every
     * checkpoint uploads all files (full snapshots of the same files). Default true.
     */
    incremental?: boolean;
  };
  /** Turns on checkpoints (and exactly-once sinks); see docs/checkpointing.md. Default: off. */
  checkpointing?: CheckpointingOptions;
  /** What to do when the job fails. Default: exponential-delay with checkpointing, none without. */
  restartStrategy?: RestartStrategyOptions;
  /** Called with each warning while the job runs (restarts, skipped checkpoints). */
  onWarning?: (message: string) => void;
  /** Called after each completed checkpoint with its statistics. */
  onCheckpoint?: (stats: CheckpointStats) => void;
  /** Called every half second while the job runs with the sources' throughput. */
  onProgress?: (progress: JobProgress) => void;
  /** @internal Chaos testing: kill subtask threads at seeded random moments. */
  faultInjection?: FaultInjection;
}

export const RUN_OPTION_DEFAULTS = {
  parallelism: 1,
  ringBytes: 256 * 1024,
  cancelGraceMs: 5_000,
} as const;

const KNOWN = new Set([
  'parallelism', 'maxParallelism', 'params', 'ringBytes', 'recordCodec', 'signal', 'cancelGraceMs',
  'debloat', 'stateBackend', 'lsm', 'checkpointing', 'restartStrategy', 'onWarning', 'onCheckpoint', 'onProgress', 'faultInjection',
]);

export interface ResolvedRunOptions {
  readonly parallelism: number;
  readonly maxParallelism: number | undefined;
  readonly params: Readonly<Record<string, string>>;
  readonly ringBytes: number;
  readonly debloat: DebloatSettings | undefined;
  readonly recordCodec: string | undefined;
  readonly signal: AbortSignal | undefined;
  readonly cancelGraceMs: number;
  readonly stateBackend:
    | { readonly kind: 'heap' }
    | { readonly kind: 'lsm'; readonly memoryBudget: number; readonly directory: string | undefined; readonly incremental: boolean };
  readonly checkpointing: CheckpointConfig | undefined;
  readonly restartStrategy: RestartStrategyOptions | undefined;
  readonly onWarning: ((message: string) => void) | undefined;
  readonly onCheckpoint: ((stats: CheckpointStats) => void) | undefined;
  readonly onProgress: ((progress: JobProgress) => void) | undefined;
  readonly faultInjection: FaultInjection | undefined;
}

function invalid(option: string, expected: string, got: unknown): WeirError {
  const shown = typeof got === 'string' ? JSON.stringify(got) : String(got);
  const name = option === '' ? 'options' : `options.${option}`;
  return new WeirError('WEIR_INVALID_OPTION', `${name} must be ${expected}, got ${shown}`, {
    context: { option: option === '' ? 'options' : option },
  });
}

function positiveInteger(option: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(option, max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer between 1 and ${max}`, value);
  }
  return value;
}

export function resolveRunOptions(options: RunOptions = {}): ResolvedRunOptions {
  if (typeof options !== 'object' || options === null) throw invalid('', 'an object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new WeirError('WEIR_INVALID_OPTION', `unknown option '${key}' (known: ${[...KNOWN].join(', ')})`, {
        context: { option: key },
      });
    }
  }
  const parallelism = options.parallelism === undefined ? RUN_OPTION_DEFAULTS.parallelism : positiveInteger('parallelism', options.parallelism, 1024);
  const maxParallelism =
    options.maxParallelism === undefined ? undefined : positiveInteger('maxParallelism', options.maxParallelism, UPPER_BOUND_MAX_PARALLELISM);
  if (maxParallelism !== undefined && maxParallelism < parallelism) {
    throw invalid('maxParallelism', `at least options.parallelism (${parallelism})`, maxParallelism);
  }
  const params: Record<string, string> = {};
  if (options.params !== undefined) {
    if (typeof options.params !== 'object' || options.params === null || Array.isArray(options.params)) {
      throw invalid('params', 'an object of strings', options.params);
    }
    for (const [key, value] of Object.entries(options.params)) {
      if (typeof value !== 'string') throw invalid(`params.${key}`, 'a string', value);
      params[key] = value;
    }
  }
  const ringBytes = options.ringBytes === undefined ? RUN_OPTION_DEFAULTS.ringBytes : options.ringBytes;
  if (!Number.isSafeInteger(ringBytes) || ringBytes < 1024 || ringBytes > 2 ** 30 || (ringBytes & (ringBytes - 1)) !== 0) {
    throw invalid('ringBytes', 'a power of two between 1024 and 2^30', ringBytes);
  }
  if (options.recordCodec !== undefined && typeof options.recordCodec !== 'string') {
    throw invalid('recordCodec', 'a codec name', options.recordCodec);
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw invalid('signal', 'an AbortSignal', options.signal);
  }
  const cancelGraceMs = options.cancelGraceMs === undefined ? RUN_OPTION_DEFAULTS.cancelGraceMs : options.cancelGraceMs;
  if (typeof cancelGraceMs !== 'number' || !Number.isFinite(cancelGraceMs) || cancelGraceMs < 0) {
    throw invalid('cancelGraceMs', 'a non-negative number of milliseconds', cancelGraceMs);
  }
  if (options.onWarning !== undefined && typeof options.onWarning !== 'function') throw invalid('onWarning', 'a function', options.onWarning);
  if (options.onCheckpoint !== undefined && typeof options.onCheckpoint !== 'function') throw invalid('onCheckpoint', 'a function', options.onCheckpoint);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw invalid('onProgress', 'a function', options.onProgress);
  return {
    parallelism,
    maxParallelism,
    params,
    ringBytes,
    debloat: resolveDebloat(options.debloat, ringBytes),
    recordCodec: options.recordCodec,
    signal: options.signal,
    cancelGraceMs,
    stateBackend: resolveStateBackend(options.stateBackend, options.lsm),
    checkpointing: resolveCheckpointing(options.checkpointing),
    restartStrategy: options.restartStrategy === undefined ? undefined : validateRestartStrategy(options.restartStrategy),
    onWarning: options.onWarning,
    onCheckpoint: options.onCheckpoint,
    onProgress: options.onProgress,
    faultInjection: resolveFaultInjection(options.faultInjection),
  };
}

export const DEFAULT_LSM_MEMORY_BUDGET = 64 * 1024 * 1024;

const DEBLOAT_KEYS = ['targetMs', 'periodMs', 'samples', 'thresholdPercent', 'minBytes', 'maxBytes'] as const;

function resolveDebloat(value: unknown, ringBytes: number): DebloatSettings | undefined {
  if (value === undefined || value === false) return undefined;
  if (value !== true && (typeof value !== 'object' || value === null)) throw invalid('debloat', 'a boolean or an object', value);
  const settings = (value === true ? {} : value) as Record<string, unknown>;
  for (const key of Object.keys(settings)) {
    if (!(DEBLOAT_KEYS as readonly string[]).includes(key)) {
      throw new WeirError('WEIR_INVALID_OPTION', `unknown option 'debloat.${key}' (known: ${DEBLOAT_KEYS.join(', ')})`, { context: { option: `debloat.${key}` } });
    }
  }
  const resolved = { ...settings } as DebloatSettings;
  const maxBytes = resolved.maxBytes ?? ringBytes;
  if (typeof maxBytes !== 'number' || maxBytes > ringBytes) throw invalid('debloat.maxBytes', `at most ringBytes (${ringBytes})`, maxBytes);
  // The debloater validates every field (WEIR_INVALID_OPTION naming it); built once here to fail early.
  new BufferDebloater({ channels: 1, ...resolved, minBytes: resolved.minBytes ?? Math.min(1024, maxBytes), maxBytes });
  return resolved;
}

function resolveStateBackend(kind: unknown, lsm: unknown): ResolvedRunOptions['stateBackend'] {
  if (kind !== undefined && kind !== 'heap' && kind !== 'lsm') throw invalid('stateBackend', "'heap' or 'lsm'", kind);
  if (lsm !== undefined && (typeof lsm !== 'object' || lsm === null)) throw invalid('lsm', 'an object', lsm);
  const o = (lsm ?? {}) as { memoryBudget?: unknown; directory?: unknown; incremental?: unknown };
  for (const key of Object.keys(o)) {
    if (key !== 'memoryBudget' && key !== 'directory' && key !== 'incremental') {
      throw new WeirError('WEIR_INVALID_OPTION', `unknown option 'lsm.${key}' (known: memoryBudget, directory, incremental)`, { context: { option: `lsm.${key}` } });
    }
  }
  if (kind !== 'lsm') {
    if (lsm !== undefined) throw invalid('lsm', "used with stateBackend: 'lsm'", JSON.stringify(lsm));
    return { kind: 'heap' };
  }
  const memoryBudget = o.memoryBudget ?? DEFAULT_LSM_MEMORY_BUDGET;
  if (typeof memoryBudget !== 'number' || !Number.isSafeInteger(memoryBudget) || memoryBudget < 64 * 1024) {
    throw invalid('lsm.memoryBudget', 'an integer number of bytes ≥ 65536', memoryBudget);
  }
  if (o.directory !== undefined && (typeof o.directory !== 'string' || o.directory === '')) throw invalid('lsm.directory', 'a non-empty path', o.directory);
  if (o.incremental !== undefined && typeof o.incremental !== 'boolean') throw invalid('lsm.incremental', 'a boolean', o.incremental);
  return { kind: 'lsm', memoryBudget, directory: o.directory as string | undefined, incremental: o.incremental ?? true };
}

function resolveFaultInjection(value: unknown): FaultInjection | undefined {
  if (value === undefined) return undefined;
  const v = value as FaultInjection;
  const ok = typeof v === 'object' && v !== null && Number.isSafeInteger(v.seed) && Number.isSafeInteger(v.kills) && v.kills >= 0
    && typeof v.maxDelayMs === 'number' && v.maxDelayMs > 0;
  if (!ok) throw invalid('faultInjection', '{ seed, kills ≥ 0, maxDelayMs > 0 }', JSON.stringify(value));
  const points = v.points ?? ['random'];
  if (!Array.isArray(points) || points.length === 0 || !points.every((p) => FAULT_POINTS.includes(p))) {
    throw invalid('faultInjection.points', `a non-empty list of ${FAULT_POINTS.map((p) => `'${p}'`).join(', ')}`, JSON.stringify(v.points));
  }
  const crash = v.processCrash;
  if (crash !== undefined && !(typeof crash === 'object' && crash !== null && (crash.point === 'registry-update' || crash.point === 'shared-delete') && Number.isSafeInteger(crash.occurrence) && crash.occurrence >= 1)) {
    throw invalid('faultInjection.processCrash', "{ point: 'registry-update' | 'shared-delete', occurrence ≥ 1 }", JSON.stringify(crash));
  }
  return { seed: v.seed, kills: v.kills, maxDelayMs: v.maxDelayMs, points: [...points], ...(crash === undefined ? {} : { processCrash: { point: crash.point, occurrence: crash.occurrence } }) };
}
