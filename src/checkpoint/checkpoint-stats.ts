/**
 * Checkpoint statistics (Flink's REST names where they apply) and their file, `_stats.json`,
 * which the checkpoint coordinator writes into a checkpoint's dir just before `_metadata`, so
 * `weir checkpoints` can show them later. Pure; main thread (coordinator, CLI).
 *
 * `_stats.json` is UTF-8 JSON, pretty-printed so it can be read with `cat`:
 *
 *   { "version": 1,                      this format; a reader refuses other versions
 *     "id", "status": "COMPLETED",
 *     "triggerTimestamp", "latestAckTimestamp",                      epoch ms
 *     "endToEndDurationMs", "maxSyncMs", "maxAsyncMs", "maxStartDelayMs",   ms
 *     "stateSize", "checkpointedSize", "persistedData",              bytes
 *     "unaligned", "numAcknowledgedSubtasks",
 *     "subtasks": [ { "subtask": "v/s", "name"?, "ackTimestamp", "startDelayMs", "alignmentMs",
 *                     "processedBytes", "persistedBytes", "syncMs", "asyncMs",
 *                     "checkpointedSize", "unaligned" }, … ] }
 *
 * Unknown keys are ignored (a later version may add some). Statistics are observations, not
 * part of the checkpoint: `_metadata` alone says whether a checkpoint exists and what it holds,
 * a checkpoint from before this file existed has none, and a damaged one spoils nothing else.
 */
import { WeirError } from '../errors.ts';

/** Statistics of one checkpoint, with Flink's REST names where they apply. */
export interface CheckpointStats {
  readonly id: number;
  readonly status: 'COMPLETED' | 'FAILED';
  readonly triggerTimestamp: number;
  readonly latestAckTimestamp: number;
  readonly endToEndDurationMs: number;
  readonly stateSize: number;
  /** Bytes this checkpoint wrote (Flink's checkpointed_size): less than stateSize when it reuses shared files. */
  readonly checkpointedSize: number;
  /** In-flight data stored by an unaligned checkpoint (Flink's persisted_data). */
  readonly persistedData: number;
  /** Barriers overtook in-flight data (Flink's unaligned). */
  readonly unaligned: boolean;
  /** Per subtask (completed checkpoints), in acknowledgement order; Flink's per-subtask names in comments. */
  readonly subtasks: readonly SubtaskCheckpointStats[];
  readonly numAcknowledgedSubtasks: number;
  readonly externalPath?: string;
  readonly failureMessage?: string;
  /** Slowest synchronous and asynchronous phases and barrier arrival among the subtasks. */
  readonly maxSyncMs: number;
  readonly maxAsyncMs: number;
  readonly maxStartDelayMs: number;
}

/** One subtask's part in a completed checkpoint (Flink's REST API checkpoint subtask details). */
export interface SubtaskCheckpointStats {
  /** `vertexIndex/subtaskIndex`. */
  readonly subtask: string;
  /** The subtask's job vertex (its operator chain), e.g. `running-count -> slow`. */
  readonly name?: string;
  /** ack_timestamp (epoch ms). */
  readonly ackTimestamp: number;
  /** start_delay: from the trigger to the barrier's arrival. */
  readonly startDelayMs: number;
  /** alignment.duration. */
  readonly alignmentMs: number;
  /** alignment.processed (processed_data). */
  readonly processedBytes: number;
  /** alignment.persisted (persisted_data). */
  readonly persistedBytes: number;
  /** checkpoint.sync / checkpoint.async. */
  readonly syncMs: number;
  readonly asyncMs: number;
  /** checkpointed_size. */
  readonly checkpointedSize: number;
  /** unaligned_checkpoint. */
  readonly unaligned: boolean;
}

export const STATS_FILE_VERSION = 1;

const NUMBERS = [
  'id',
  'triggerTimestamp',
  'latestAckTimestamp',
  'endToEndDurationMs',
  'stateSize',
  'checkpointedSize',
  'persistedData',
  'numAcknowledgedSubtasks',
  'maxSyncMs',
  'maxAsyncMs',
  'maxStartDelayMs',
] as const;
const SUBTASK_NUMBERS = [
  'ackTimestamp',
  'startDelayMs',
  'alignmentMs',
  'processedBytes',
  'persistedBytes',
  'syncMs',
  'asyncMs',
  'checkpointedSize',
] as const;

/** The bytes of `_stats.json` for a completed checkpoint's statistics (externalPath is left out: it is the file's dir). */
export function encodeCheckpointStats(stats: CheckpointStats): Uint8Array {
  if (stats.status !== 'COMPLETED') {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `only a completed checkpoint's statistics are stored, got status ${String(stats.status)}`);
  }
  const body: Record<string, unknown> = { version: STATS_FILE_VERSION, id: stats.id, status: stats.status };
  for (const key of NUMBERS) body[key] = finite(stats[key], key, invalid);
  body.unaligned = bool(stats.unaligned, 'unaligned', invalid);
  if (!Array.isArray(stats.subtasks)) invalid('subtasks must be an array');
  body.subtasks = stats.subtasks.map((s, i) => subtask(s, `subtasks[${i}]`, invalid));
  return new TextEncoder().encode(`${JSON.stringify(body, null, 2)}\n`);
}

/**
 * Reads `_stats.json` bytes of checkpoint `checkpointId`; `source` (the file) is named in every
 * error, each WEIR_CHECKPOINT_CORRUPT. `externalPath` is set to the checkpoint's dir.
 */
export function decodeCheckpointStats(bytes: Uint8Array, source: string, checkpointId: number, externalPath: string): CheckpointStats {
  const fail = (what: string, cause?: unknown): never => {
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpoint statistics ${source} are corrupt: ${what}`, {
      context: { path: source, checkpointId },
      ...(cause === undefined ? {} : { cause }),
    });
  };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    fail('not valid JSON', cause);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('not a JSON object');
  const body = json as Record<string, unknown>;
  if (body.version !== STATS_FILE_VERSION) fail(`unsupported version ${String(body.version)} (expected ${STATS_FILE_VERSION})`);
  if (body.status !== 'COMPLETED') fail(`status must be "COMPLETED", got ${String(body.status)}`);
  const stats: Record<string, unknown> = { status: 'COMPLETED' };
  for (const key of NUMBERS) stats[key] = finite(body[key], key, fail);
  if (stats.id !== checkpointId) fail(`they describe checkpoint ${String(stats.id)}`);
  stats.unaligned = bool(body.unaligned, 'unaligned', fail);
  if (!Array.isArray(body.subtasks)) fail('subtasks is not an array');
  stats.subtasks = (body.subtasks as unknown[]).map((s, i) => subtask(s as SubtaskCheckpointStats, `subtasks[${i}]`, fail));
  stats.externalPath = externalPath;
  return stats as unknown as CheckpointStats;
}

type Fail = (what: string) => never;

function invalid(what: string): never {
  throw new WeirError('WEIR_INVALID_ARGUMENT', `checkpoint statistics are not well formed: ${what}`);
}

function subtask(s: SubtaskCheckpointStats, at: string, fail: Fail): SubtaskCheckpointStats {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) fail(`${at} is not an object`);
  if (typeof s.subtask !== 'string' || !/^\d+\/\d+$/.test(s.subtask)) fail(`${at}.subtask must be "vertex/subtask", got ${String(s.subtask)}`);
  const out: Record<string, unknown> = { subtask: s.subtask };
  if (s.name !== undefined) {
    if (typeof s.name !== 'string') fail(`${at}.name must be a string`);
    out.name = s.name;
  }
  for (const key of SUBTASK_NUMBERS) out[key] = finite(s[key], `${at}.${key}`, fail);
  out.unaligned = bool(s.unaligned, `${at}.unaligned`, fail);
  return out as unknown as SubtaskCheckpointStats;
}

function finite(value: unknown, at: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${at} must be a finite number, got ${String(value)}`);
  return value as number;
}

function bool(value: unknown, at: string, fail: Fail): boolean {
  if (typeof value !== 'boolean') fail(`${at} must be true or false, got ${String(value)}`);
  return value as boolean;
}
