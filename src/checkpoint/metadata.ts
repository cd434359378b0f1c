/**
 * The `_metadata` codec: what a completed checkpoint consists of (operators, subtasks, state
 * handles), as bytes. Pure; runs on the main thread, called by checkpoint storage when it commits
 * or loads a checkpoint (and by tools that inspect one).
 *
 * Layout (integers little-endian):
 *
 *   metadata := magic version bodyLength body checksum
 *   magic    := "WEIRCHK1"                     8 bytes
 *   version  := u32 = 1                        4 bytes
 *   bodyLength := u32                          4 bytes
 *   body     := UTF-8 JSON, bodyLength bytes:  keys in the fixed order of `canonical()` below,
 *               absent optional fields omitted, inline state bytes as base64 strings
 *   checksum := u64 xxHash64 of magic‖version‖bodyLength‖body    8 bytes
 *
 * The encoding is deterministic (same metadata → same bytes), so two writes can be compared
 * byte for byte. Anything wrong on decode is WEIR_CHECKPOINT_CORRUPT naming the source file.
 */
import { WeirError } from '../errors.ts';
import { checksum64, loadChecksum } from '../storage/state-file.ts';
import { isSafeRelativePath, type SharedFileRef, type StateHandle } from '../storage/checkpoint-storage.ts';
import { MAX_LEVELS } from '../state/lsm/manifest.ts';

export type { SharedFileRef, StateHandle };

export const METADATA_MAGIC = 'WEIRCHK1';
export const METADATA_VERSION = 1;
const PREFIX_BYTES = 16;
const CHECKSUM_BYTES = 8;

export type CheckpointKind = 'checkpoint' | 'savepoint' | 'final';

export interface CheckpointMetadata {
  readonly version: 1;
  readonly jobName: string;
  readonly checkpointId: number;
  readonly kind: CheckpointKind;
  /** Epoch ms. */
  readonly triggerTimestamp: number;
  readonly completedTimestamp: number;
  readonly maxParallelism: number;
  /** One per stateful operator, by uid. */
  readonly operators: readonly OperatorSnapshot[];
  readonly stats: { readonly stateBytes: number; readonly durationMs: number };
}

export interface OperatorSnapshot {
  readonly uid: string;
  readonly parallelism: number;
  /** Index = subtask index when the snapshot was taken. */
  readonly subtasks: readonly SubtaskSnapshot[];
}

export interface SubtaskSnapshot {
  readonly keyGroupRange?: { readonly start: number; readonly end: number };
  /** Keyed state file (format: storage/state-file.ts). */
  readonly keyed?: StateHandle;
  /**
   * Keyed state as the SST files of an LSM tree (incremental checkpoints): files in `shared/`,
   * L0 newest first, then deeper levels. A file may be listed by several checkpoints.
   */
  readonly sstFiles?: readonly SharedFileRef[];
  /** Operator (list) state: source splits, sink committables. */
  readonly operatorState?: StateHandle;
  /** Unaligned checkpoints, on a chain's first operator: its input channels' in-flight frames. */
  readonly inputChannelState?: StateHandle;
}

const KINDS: readonly string[] = ['checkpoint', 'savepoint', 'final'];
export const JOB_NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

/** Encodes metadata; throws WEIR_INVALID_ARGUMENT naming the field when it is not well formed. */
export async function encodeCheckpointMetadata(metadata: CheckpointMetadata): Promise<Uint8Array> {
  await loadChecksum();
  const body = new TextEncoder().encode(JSON.stringify(canonical(metadata, invalid)));
  const out = new Uint8Array(PREFIX_BYTES + body.byteLength + CHECKSUM_BYTES);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = METADATA_MAGIC.charCodeAt(i);
  view.setUint32(8, METADATA_VERSION, true);
  view.setUint32(12, body.byteLength, true);
  out.set(body, PREFIX_BYTES);
  view.setBigUint64(PREFIX_BYTES + body.byteLength, checksum64(out.subarray(0, PREFIX_BYTES + body.byteLength)), true);
  return out;
}

/** Decodes and verifies `_metadata` bytes; `source` (the file) is named in every error. */
export async function decodeCheckpointMetadata(bytes: Uint8Array, source: string): Promise<CheckpointMetadata> {
  await loadChecksum();
  const fail = (what: string, cause?: unknown): never => {
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpoint metadata ${source} is corrupt: ${what}`, {
      context: { path: source },
      ...(cause === undefined ? {} : { cause }),
    });
  };
  if (bytes.byteLength < PREFIX_BYTES + CHECKSUM_BYTES) fail(`truncated (${bytes.byteLength} bytes)`);
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== METADATA_MAGIC.charCodeAt(i)) fail(`bad magic (expected ${METADATA_MAGIC})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== METADATA_VERSION) fail(`unsupported version ${version} (expected ${METADATA_VERSION})`);
  const bodyLength = view.getUint32(12, true);
  const expected = PREFIX_BYTES + bodyLength + CHECKSUM_BYTES;
  if (bytes.byteLength < expected) fail(`truncated (${bytes.byteLength} of ${expected} bytes)`);
  if (bytes.byteLength > expected) fail(`${bytes.byteLength - expected} unexpected trailing bytes`);
  const stored = view.getBigUint64(PREFIX_BYTES + bodyLength, true);
  if (checksum64(bytes.subarray(0, PREFIX_BYTES + bodyLength)) !== stored) fail('checksum mismatch');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + bodyLength)));
  } catch (cause) {
    fail('body is not valid JSON', cause);
  }
  return fromJson(json, fail);
}

function invalid(what: string): never {
  throw new WeirError('WEIR_INVALID_ARGUMENT', `checkpoint metadata is not well formed: ${what}`);
}

type Fail = (what: string) => never;

/** The JSON body in its canonical key order; validates as it goes (`fail` names the field). */
function canonical(m: CheckpointMetadata, fail: Fail): unknown {
  if (m === null || typeof m !== 'object') fail('metadata must be an object');
  if (m.version !== METADATA_VERSION) fail(`version must be ${METADATA_VERSION}, got ${String(m.version)}`);
  if (typeof m.jobName !== 'string' || !JOB_NAME_PATTERN.test(m.jobName)) fail(`jobName must match ${JOB_NAME_PATTERN}, got ${String(m.jobName)}`);
  if (!KINDS.includes(m.kind)) fail(`kind must be one of ${KINDS.join(', ')}, got ${String(m.kind)}`);
  if (!Array.isArray(m.operators)) fail('operators must be an array');
  if (m.stats === null || typeof m.stats !== 'object') fail('stats must be an object');
  return {
    version: m.version,
    jobName: m.jobName,
    checkpointId: count(m.checkpointId, 'checkpointId', fail),
    kind: m.kind,
    triggerTimestamp: count(m.triggerTimestamp, 'triggerTimestamp', fail),
    completedTimestamp: count(m.completedTimestamp, 'completedTimestamp', fail),
    maxParallelism: count(m.maxParallelism, 'maxParallelism', fail),
    operators: m.operators.map((op, i) => canonicalOperator(op, `operators[${i}]`, fail)),
    stats: {
      stateBytes: count(m.stats.stateBytes, 'stats.stateBytes', fail),
      durationMs: count(m.stats.durationMs, 'stats.durationMs', fail),
    },
  };
}

function canonicalOperator(op: OperatorSnapshot, at: string, fail: Fail): unknown {
  if (op === null || typeof op !== 'object') fail(`${at} must be an object`);
  if (typeof op.uid !== 'string' || op.uid === '') fail(`${at}.uid must be a non-empty string`);
  if (!Array.isArray(op.subtasks)) fail(`${at}.subtasks must be an array`);
  return {
    uid: op.uid,
    parallelism: count(op.parallelism, `${at}.parallelism`, fail),
    subtasks: op.subtasks.map((s, i) => canonicalSubtask(s, `${at}.subtasks[${i}]`, fail)),
  };
}

function canonicalSubtask(s: SubtaskSnapshot, at: string, fail: Fail): unknown {
  if (s === null || typeof s !== 'object') fail(`${at} must be an object`);
  const out: Record<string, unknown> = {};
  if (s.keyGroupRange !== undefined) {
    const r = s.keyGroupRange;
    if (r === null || typeof r !== 'object') fail(`${at}.keyGroupRange must be an object`);
    out.keyGroupRange = { start: count(r.start, `${at}.keyGroupRange.start`, fail), end: count(r.end, `${at}.keyGroupRange.end`, fail) };
  }
  if (s.keyed !== undefined) out.keyed = canonicalHandle(s.keyed, `${at}.keyed`, fail);
  if (s.sstFiles !== undefined) {
    if (!Array.isArray(s.sstFiles)) fail(`${at}.sstFiles must be an array`);
    out.sstFiles = s.sstFiles.map((f, i) => {
      const where = `${at}.sstFiles[${i}]`;
      if (f === null || typeof f !== 'object') fail(`${where} must be an object`);
      const handle = canonicalHandle(f.handle, `${where}.handle`, fail) as { path: string; inline?: string };
      if (handle.inline !== undefined || !handle.path.startsWith('shared/') || !isSafeRelativePath(handle.path)) fail(`${where}.handle must be a file in shared/`);
      const level = count(f.level, `${where}.level`, fail);
      if (level >= MAX_LEVELS) fail(`${where}.level must be below ${MAX_LEVELS}, got ${level}`);
      return { handle, level };
    });
  }
  if (s.operatorState !== undefined) out.operatorState = canonicalHandle(s.operatorState, `${at}.operatorState`, fail);
  if (s.inputChannelState !== undefined) out.inputChannelState = canonicalHandle(s.inputChannelState, `${at}.inputChannelState`, fail);
  return out;
}

function canonicalHandle(h: StateHandle, at: string, fail: Fail): unknown {
  if (h === null || typeof h !== 'object') fail(`${at} must be an object`);
  if (typeof h.path !== 'string') fail(`${at}.path must be a string`);
  if (typeof h.checksum !== 'string' || !/^[0-9a-f]{16}$/.test(h.checksum)) fail(`${at}.checksum must be 16 hex digits`);
  const out: Record<string, unknown> = { path: h.path, bytes: count(h.bytes, `${at}.bytes`, fail), checksum: h.checksum };
  if (h.inline !== undefined) {
    if (!(h.inline instanceof Uint8Array)) fail(`${at}.inline must be a Uint8Array`);
    if (h.path !== '') fail(`${at} has inline bytes and a path`);
    out.inline = Buffer.from(h.inline.buffer, h.inline.byteOffset, h.inline.byteLength).toString('base64');
  } else if (h.path === '') {
    fail(`${at} has neither a path nor inline bytes`);
  }
  return out;
}

function count(value: unknown, at: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(`${at} must be a non-negative integer, got ${String(value)}`);
  }
  return value as number;
}

/** Rebuilds the metadata from the parsed body; the same checks as `canonical`, reported as corruption. */
function fromJson(json: unknown, fail: Fail): CheckpointMetadata {
  const obj = (v: unknown, at: string): Record<string, unknown> => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(`${at} is not an object`);
    return v as Record<string, unknown>;
  };
  const arr = (v: unknown, at: string): unknown[] => (Array.isArray(v) ? v : fail(`${at} is not an array`));
  const handle = (v: unknown, at: string): StateHandle => {
    const h = obj(v, at);
    const base = { path: h.path, bytes: h.bytes, checksum: h.checksum };
    if (h.inline === undefined) return base as StateHandle;
    if (typeof h.inline !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(h.inline)) fail(`${at}.inline is not base64`);
    return { ...base, inline: new Uint8Array(Buffer.from(h.inline as string, 'base64')) } as StateHandle;
  };
  const m = obj(json, 'body');
  const stats = obj(m.stats, 'stats');
  const metadata = {
    version: m.version,
    jobName: m.jobName,
    checkpointId: m.checkpointId,
    kind: m.kind,
    triggerTimestamp: m.triggerTimestamp,
    completedTimestamp: m.completedTimestamp,
    maxParallelism: m.maxParallelism,
    operators: arr(m.operators, 'operators').map((o, i) => {
      const op = obj(o, `operators[${i}]`);
      return {
        uid: op.uid,
        parallelism: op.parallelism,
        subtasks: arr(op.subtasks, `operators[${i}].subtasks`).map((x, j) => {
          const at = `operators[${i}].subtasks[${j}]`;
          const s = obj(x, at);
          const out: Record<string, unknown> = {};
          if (s.keyGroupRange !== undefined) out.keyGroupRange = obj(s.keyGroupRange, `${at}.keyGroupRange`);
          if (s.keyed !== undefined) out.keyed = handle(s.keyed, `${at}.keyed`);
          if (s.sstFiles !== undefined) {
            out.sstFiles = arr(s.sstFiles, `${at}.sstFiles`).map((f, k) => {
              const file = obj(f, `${at}.sstFiles[${k}]`);
              return { handle: handle(file.handle, `${at}.sstFiles[${k}].handle`), level: file.level };
            });
          }
          if (s.operatorState !== undefined) out.operatorState = handle(s.operatorState, `${at}.operatorState`);
          if (s.inputChannelState !== undefined) out.inputChannelState = handle(s.inputChannelState, `${at}.inputChannelState`);
          return out;
        }),
      };
    }),
    stats: { stateBytes: stats.stateBytes, durationMs: stats.durationMs },
  } as unknown as CheckpointMetadata;
  canonical(metadata, fail); // validates every field with the encoder's rules
  return metadata;
}
