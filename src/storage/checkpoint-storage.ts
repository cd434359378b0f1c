/**
 * The CheckpointStorage interface, its shared types, and `BaseCheckpointStorage`, which holds
 * every semantic rule (validation, inlining, checksums, what counts as a completed checkpoint)
 * so implementations only provide small `_hook` I/O methods, as abstract-level does. Metadata
 * operations run on the main thread (checkpoint coordinator, CLI); state writes and reads run on
 * subtask worker threads (state backends, sources, sinks).
 */
import { WeirError } from '../errors.ts';
import {
  decodeCheckpointMetadata,
  encodeCheckpointMetadata,
  JOB_NAME_PATTERN,
  type CheckpointKind,
  type CheckpointMetadata,
} from '../checkpoint/metadata.ts';
import { decodeCheckpointStats, encodeCheckpointStats, type CheckpointStats } from '../checkpoint/checkpoint-stats.ts';
import { checksumHex, loadChecksum } from './state-file.ts';

/** A reference to persisted state, stored in `_metadata`. */
export interface StateHandle {
  /** Relative to the job dir, e.g. 'chk-7/op-count-1.state'; '' when inline. */
  readonly path: string;
  /** Size on storage (of the inline bytes when inline). */
  readonly bytes: number;
  /** xxHash64 of the stored bytes, 16 lowercase hex digits. */
  readonly checksum: string;
  /** Small state (< the inline limit, default 20 KiB) kept inside `_metadata` instead of a file. */
  readonly inline?: Uint8Array;
}

/**
 * A file of incremental keyed state (an LSM SST) in the job's `shared/` dir: referenced by every
 * checkpoint that still needs it, deleted once none does (checkpoint/shared-state-registry.ts).
 */
export interface SharedFileRef {
  /** `path` is `shared/<name>`; never inline. */
  readonly handle: StateHandle;
  /** The LSM level the file had in that checkpoint's tree. */
  readonly level: number;
}

/** Prefix of every shared file's path, relative to the job dir. */
export const SHARED_DIR = 'shared';

/**
 * The name under which checkpoint `checkpointId` uploads a file: `c<id>-<owner>-<session>-<local>`.
 * The id prefix lets the registry recognise files of aborted checkpoints; owner (operator uid
 * and subtask) and session (one per tree instance) make names unique across subtasks and attempts.
 */
export function sharedFileName(checkpointId: number, owner: string, session: string, localName: string): string {
  return `c${checkpointId}-${owner}-${session}-${localName}`;
}

/** The id of the checkpoint that uploaded a shared file (from its name), or undefined. */
export function uploadingCheckpointOf(path: string): number | undefined {
  const match = /(?:^|\/)c(0|[1-9][0-9]{0,15})-[^/]*$/.exec(path);
  return match === null ? undefined : Number(match[1]);
}

/**
 * The shared-file operations of a storage that keeps files (FsCheckpointStorage). Worker threads
 * put and materialize files; the coordinator lists and deletes them.
 */
export interface SharedFileStore {
  /**
   * Places the local file `source` as `shared/<name>` (a hard link where the file system allows,
   * else a copy) and returns its handle; `byteLength` and `checksum` describe the file (computed
   * when it was written). Not durable until `syncShared()`. Fails if `shared/<name>` exists.
   */
  putShared(source: string, name: string, byteLength: number, checksum: string): Promise<StateHandle>;
  /** Makes the dir entries of the files put so far durable. */
  syncShared(): Promise<void>;
  /** Puts a verified (size and checksum) copy of a shared file at `target`: link, else copy. */
  materializeShared(handle: StateHandle, target: string): Promise<void>;
  /** Paths (`shared/<name>`) of every file in the shared dir. */
  listShared(): Promise<string[]>;
  /** Deletes one shared file; idempotent. */
  deleteShared(path: string): Promise<void>;
}

/** A completed checkpoint as listed; read from its `_metadata`, never from state files. */
export interface CheckpointInfo {
  readonly checkpointId: number;
  readonly kind: CheckpointKind;
  /** External path of the chk dir (what `--from` accepts). */
  readonly path: string;
  readonly metadataBytes: number;
  readonly stateBytes: number;
  readonly triggerTimestamp: number;
  readonly completedTimestamp: number;
  readonly durationMs: number;
}

export interface CheckpointListing {
  /** Completed checkpoints, newest (highest id) first. */
  readonly checkpoints: CheckpointInfo[];
  /** Ids of chk dirs without `_metadata` (aborted or crashed mid-way): candidates for `discardIncomplete`. */
  readonly incomplete: number[];
  /** One line per skipped dir (incomplete or corrupt) and per catalog problem. */
  readonly warnings: string[];
}

export interface CheckpointStorage {
  /** For messages, e.g. the job dir path. */
  readonly description: string;
  /**
   * Writes state bytes of checkpoint `checkpointId` as `chk-<id>/<name>.state`; bytes shorter
   * than the inline limit (default 20 KiB) come back inline, without a file. Computes the
   * checksum. Atomic: a crash leaves either no file or a complete one. `name` must be unique
   * within the checkpoint (writing a name twice replaces the file).
   */
  writeState(checkpointId: number, name: string, bytes: Uint8Array): Promise<StateHandle>;
  /** Reads and verifies (size + checksum): WEIR_CHECKPOINT_CORRUPT / WEIR_CHECKPOINT_NOT_FOUND naming the file. */
  readState(handle: StateHandle): Promise<Uint8Array>;
  /** Checks a state file exists with the right size, without reading it (for large shared files). */
  checkStateSize(handle: StateHandle): Promise<void>;
  /** Present when the storage keeps files that checkpoints can share (incremental state). */
  readonly shared?: SharedFileStore;
  /**
   * Writes `_metadata` atomically (the checkpoint exists iff this succeeded), then indexes it.
   * With `stats`, first writes them as `_stats.json` (so a completed checkpoint has them).
   * Returns the chk dir's external path.
   */
  commitCheckpoint(metadata: CheckpointMetadata, stats?: CheckpointStats): Promise<string>;
  /**
   * The statistics stored with checkpoint `checkpointId` (`_stats.json`); undefined when it has
   * none (taken before they were stored, or a `final` checkpoint). A damaged file is
   * WEIR_CHECKPOINT_CORRUPT naming it; it does not make the checkpoint unusable.
   */
  loadStats(checkpointId: number): Promise<CheckpointStats | undefined>;
  /** Completed checkpoints newest first, verified `_metadata` only; skipped dirs are reported as warnings. */
  listCheckpoints(): Promise<CheckpointListing>;
  /** Loads and verifies a `_metadata`, by id or by external path (a chk dir or its `_metadata` file). */
  loadMetadata(idOrPath: number | string): Promise<CheckpointMetadata>;
  /** Deletes a checkpoint's dir (exclusive files) and its catalog entry; idempotent. */
  discardCheckpoint(checkpointId: number): Promise<void>;
  /** Deletes the files of a checkpoint that has no `_metadata`; idempotent; refuses a completed one. */
  discardIncomplete(checkpointId: number): Promise<void>;
  /** The highest id of any checkpoint dir, whatever its state (0 when none). */
  highestCheckpointId(): Promise<number>;
  close(): Promise<void>;
}

export const DEFAULT_INLINE_LIMIT = 20 * 1024;
export const METADATA_FILE = '_metadata';
/** A checkpoint's statistics, next to its `_metadata` (format: checkpoint/checkpoint-stats.ts). */
export const STATS_FILE = '_stats.json';
const STATE_NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const RELATIVE_PATH_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export function validateJobName(jobName: unknown): string {
  if (typeof jobName !== 'string' || !JOB_NAME_PATTERN.test(jobName) || jobName === '.' || jobName === '..') {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `jobName must match ${JOB_NAME_PATTERN} (and not be . or ..), got ${JSON.stringify(jobName)}`);
  }
  return jobName;
}

export function validateCheckpointId(checkpointId: unknown): number {
  if (typeof checkpointId !== 'number' || !Number.isSafeInteger(checkpointId) || checkpointId < 0) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `checkpointId must be a non-negative integer, got ${String(checkpointId)}`);
  }
  return checkpointId;
}

/** `chk-<id>`: the dir of checkpoint `id`, relative to the job dir. */
export function checkpointDirName(checkpointId: number): string {
  return `chk-${checkpointId}`;
}

/** The id of a `chk-<id>` dir name, or undefined for any other name (incl. `chk-007`). */
export function parseCheckpointDirName(name: string): number | undefined {
  const match = /^chk-(0|[1-9][0-9]{0,15})$/.exec(name);
  const id = match === null ? NaN : Number(match[1]);
  return Number.isSafeInteger(id) ? id : undefined;
}

export interface StorageOptions {
  readonly jobName: string;
  /** State shorter than this many bytes is inlined into `_metadata`. Default 20 KiB; 0 disables inlining. */
  readonly inlineLimit?: number;
  /** Called with each warning as it happens (they are also returned by the next `listCheckpoints`). */
  readonly onWarning?: (message: string) => void;
}

/**
 * The shared semantics. Public methods validate and decide; the `_hooks` only move bytes. Hooks
 * take paths relative to the job dir with '/' separators, and return `undefined` for "no such file".
 */
export abstract class BaseCheckpointStorage implements CheckpointStorage {
  abstract readonly description: string;
  readonly jobName: string;
  readonly inlineLimit: number;
  readonly #onWarning: ((message: string) => void) | undefined;
  #pendingWarnings: string[] = [];

  constructor(options: StorageOptions) {
    this.jobName = validateJobName(options.jobName);
    const limit = options.inlineLimit ?? DEFAULT_INLINE_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new WeirError('WEIR_INVALID_OPTION', `inlineLimit must be a non-negative integer, got ${String(limit)}`, { context: { option: 'inlineLimit' } });
    }
    this.inlineLimit = limit;
    this.#onWarning = options.onWarning;
  }

  protected abstract _writeFile(path: string, bytes: Uint8Array): Promise<void>;
  /** Like `_writeFile`, and durable once it resolves: the file, its dir entry and the chk dir's entry. */
  protected abstract _commitFile(path: string, bytes: Uint8Array): Promise<void>;
  protected abstract _readFile(path: string): Promise<Uint8Array | undefined>;
  /** Size of a file, or undefined when there is none. */
  protected abstract _fileSize(path: string): Promise<number | undefined>;
  protected abstract _exists(path: string): Promise<boolean>;
  /** Ids of all `chk-<id>` dirs, in any order. */
  protected abstract _listCheckpointIds(): Promise<number[]>;
  protected abstract _removeFile(path: string): Promise<void>;
  protected abstract _removeDir(path: string): Promise<void>;
  protected abstract _externalPath(path: string): string;
  /** Reads a `_metadata` given by external path; `source` is how to name it in messages. */
  protected abstract _readExternal(path: string): Promise<{ bytes: Uint8Array | undefined; source: string }>;
  protected abstract _close(): Promise<void>;
  /** Catalog hooks: no-ops unless the implementation keeps an index. */
  protected async _index(_info: CheckpointInfo): Promise<void> {}
  protected async _unindex(_checkpointId: number): Promise<void> {}
  protected async _reconcileIndex(_checkpoints: readonly CheckpointInfo[]): Promise<void> {}

  async writeState(checkpointId: number, name: string, bytes: Uint8Array): Promise<StateHandle> {
    validateCheckpointId(checkpointId);
    if (typeof name !== 'string' || !STATE_NAME_PATTERN.test(name)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `state name must match ${STATE_NAME_PATTERN}, got ${JSON.stringify(name)}`);
    }
    if (!(bytes instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', `state bytes of ${name} must be a Uint8Array`);
    await loadChecksum();
    const checksum = checksumHex(bytes);
    if (bytes.byteLength < this.inlineLimit) {
      return { path: '', bytes: bytes.byteLength, checksum, inline: new Uint8Array(bytes) }; // a copy: Buffer#slice would alias
    }
    const path = `${checkpointDirName(checkpointId)}/${name}.state`;
    await this._writeFile(path, bytes);
    return { path, bytes: bytes.byteLength, checksum };
  }

  async readState(handle: StateHandle): Promise<Uint8Array> {
    if (handle === null || typeof handle !== 'object' || typeof handle.path !== 'string') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'readState needs a StateHandle');
    }
    await loadChecksum();
    if (handle.inline !== undefined) return verifyState(handle, handle.inline, `inline state in ${this.description}`);
    if (!isSafeRelativePath(handle.path)) {
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `state handle path ${JSON.stringify(handle.path)} is not a path inside ${this.description}`);
    }
    const source = this._externalPath(handle.path);
    const bytes = await this._readFile(handle.path);
    if (bytes === undefined) {
      throw new WeirError('WEIR_CHECKPOINT_NOT_FOUND', `state file ${source} does not exist`, { context: { path: source } });
    }
    return verifyState(handle, bytes, `state file ${source}`);
  }

  async checkStateSize(handle: StateHandle): Promise<void> {
    if (handle.inline !== undefined) return;
    if (!isSafeRelativePath(handle.path)) {
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `state handle path ${JSON.stringify(handle.path)} is not a path inside ${this.description}`);
    }
    const source = this._externalPath(handle.path);
    const size = await this._fileSize(handle.path);
    if (size === undefined) throw new WeirError('WEIR_CHECKPOINT_NOT_FOUND', `state file ${source} does not exist`, { context: { path: source } });
    if (size !== handle.bytes) {
      const what = size < handle.bytes ? 'truncated' : 'too long';
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `state file ${source} is corrupt: ${what}, ${size} bytes instead of ${handle.bytes}`, { context: { path: source } });
    }
  }

  async commitCheckpoint(metadata: CheckpointMetadata, stats?: CheckpointStats): Promise<string> {
    if (metadata?.jobName !== this.jobName) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `metadata.jobName ${JSON.stringify(metadata?.jobName)} does not match the storage's job ${JSON.stringify(this.jobName)}`);
    }
    const checkpointId = validateCheckpointId(metadata.checkpointId);
    const encoded = await encodeCheckpointMetadata(metadata);
    if (stats !== undefined && stats?.id !== checkpointId) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `stats.id ${String(stats?.id)} does not match metadata.checkpointId ${checkpointId}`, { context: { checkpointId } });
    }
    const encodedStats = stats === undefined ? undefined : encodeCheckpointStats(stats);
    const dir = checkpointDirName(checkpointId);
    const path = `${dir}/${METADATA_FILE}`;
    if (await this._exists(path)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `checkpoint ${checkpointId} is already committed (${this._externalPath(path)} exists)`, { context: { checkpointId } });
    }
    // Statistics first: committing `_metadata` makes the chk dir's entries durable (its fsync),
    // `_stats.json`'s included, and a crash in between leaves an incomplete checkpoint.
    if (encodedStats !== undefined) await this._writeFile(`${dir}/${STATS_FILE}`, encodedStats);
    await this._commitFile(path, encoded);
    // From here on the checkpoint exists; indexing is best effort (listCheckpoints repairs it).
    try {
      await this._index(this.#info(metadata, encoded.byteLength));
    } catch (error) {
      this.warn(`checkpoint ${checkpointId} was committed but not indexed in the catalog: ${describe(error)}`);
    }
    return this._externalPath(dir);
  }

  /** The highest id of any `chk-<id>` dir, complete, incomplete or corrupt (0 when none): new ids go above it. */
  async highestCheckpointId(): Promise<number> {
    return Math.max(0, ...(await this._listCheckpointIds()));
  }

  async listCheckpoints(): Promise<CheckpointListing> {
    const checkpoints: CheckpointInfo[] = [];
    const incomplete: number[] = [];
    const warnings: string[] = [];
    const ids = (await this._listCheckpointIds()).sort((a, b) => b - a);
    for (const checkpointId of ids) {
      const dir = checkpointDirName(checkpointId);
      const bytes = await this._readFile(`${dir}/${METADATA_FILE}`);
      if (bytes === undefined) {
        incomplete.push(checkpointId);
        warnings.push(`${this._externalPath(dir)} has no ${METADATA_FILE}: incomplete checkpoint ignored`);
        continue;
      }
      try {
        const metadata = await this.#decode(bytes, checkpointId);
        checkpoints.push(this.#info(metadata, bytes.byteLength));
      } catch (error) {
        if (!(error instanceof WeirError) || error.code !== 'WEIR_CHECKPOINT_CORRUPT') throw error;
        warnings.push(`${error.message}; checkpoint ${checkpointId} skipped`);
      }
    }
    try {
      await this._reconcileIndex(checkpoints);
    } catch (error) {
      this.warn(`checkpoint catalog could not be brought up to date: ${describe(error)}`);
    }
    return { checkpoints, incomplete, warnings: [...this.#takeWarnings(), ...warnings] };
  }

  async loadMetadata(idOrPath: number | string): Promise<CheckpointMetadata> {
    if (typeof idOrPath === 'string') {
      const { bytes, source } = await this._readExternal(idOrPath);
      if (bytes === undefined) throw notFound(source);
      return decodeCheckpointMetadata(bytes, source);
    }
    const checkpointId = validateCheckpointId(idOrPath);
    const bytes = await this._readFile(`${checkpointDirName(checkpointId)}/${METADATA_FILE}`);
    if (bytes === undefined) throw notFound(this._externalPath(`${checkpointDirName(checkpointId)}/${METADATA_FILE}`), checkpointId);
    return this.#decode(bytes, checkpointId);
  }

  async loadStats(checkpointId: number): Promise<CheckpointStats | undefined> {
    const dir = checkpointDirName(validateCheckpointId(checkpointId));
    const bytes = await this._readFile(`${dir}/${STATS_FILE}`);
    if (bytes === undefined) return undefined;
    return decodeCheckpointStats(bytes, this._externalPath(`${dir}/${STATS_FILE}`), checkpointId, this._externalPath(dir));
  }

  async discardCheckpoint(checkpointId: number): Promise<void> {
    const dir = checkpointDirName(validateCheckpointId(checkpointId));
    // `_metadata` goes first: a crash part-way leaves an incomplete dir, never a "complete" one with missing files.
    await this._removeFile(`${dir}/${METADATA_FILE}`);
    await this._removeDir(dir);
    await this._unindex(checkpointId);
  }

  async discardIncomplete(checkpointId: number): Promise<void> {
    const dir = checkpointDirName(validateCheckpointId(checkpointId));
    if (await this._exists(`${dir}/${METADATA_FILE}`)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `checkpoint ${checkpointId} is complete (${this._externalPath(dir)} has ${METADATA_FILE}); use discardCheckpoint`, { context: { checkpointId } });
    }
    await this._removeDir(dir);
  }

  async close(): Promise<void> {
    await this._close();
  }

  /** Records a warning for the next `listCheckpoints` and passes it to `onWarning`. */
  protected warn(message: string): void {
    this.#pendingWarnings.push(message);
    this.#onWarning?.(message);
  }

  #takeWarnings(): string[] {
    const out = this.#pendingWarnings;
    this.#pendingWarnings = [];
    return out;
  }

  async #decode(bytes: Uint8Array, checkpointId: number): Promise<CheckpointMetadata> {
    const source = this._externalPath(`${checkpointDirName(checkpointId)}/${METADATA_FILE}`);
    const metadata = await decodeCheckpointMetadata(bytes, source);
    if (metadata.checkpointId !== checkpointId) {
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `checkpoint metadata ${source} is corrupt: it describes checkpoint ${metadata.checkpointId}`, { context: { path: source, checkpointId } });
    }
    return metadata;
  }

  #info(metadata: CheckpointMetadata, metadataBytes: number): CheckpointInfo {
    return {
      checkpointId: metadata.checkpointId,
      kind: metadata.kind,
      path: this._externalPath(checkpointDirName(metadata.checkpointId)),
      metadataBytes,
      stateBytes: metadata.stats.stateBytes,
      triggerTimestamp: metadata.triggerTimestamp,
      completedTimestamp: metadata.completedTimestamp,
      durationMs: metadata.stats.durationMs,
    };
  }
}

/** Size first (names truncation plainly), then the checksum. */
export function verifyState(handle: StateHandle, bytes: Uint8Array, source: string): Uint8Array {
  if (bytes.byteLength !== handle.bytes) {
    const what = bytes.byteLength < handle.bytes ? 'truncated' : 'too long';
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `${source} is corrupt: ${what}, ${bytes.byteLength} bytes instead of ${handle.bytes}`, { context: { path: source } });
  }
  const actual = checksumHex(bytes);
  if (actual !== handle.checksum) {
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `${source} is corrupt: checksum mismatch (xxHash64 ${actual}, expected ${handle.checksum})`, { context: { path: source } });
  }
  return bytes;
}

function notFound(source: string, checkpointId?: number): WeirError {
  return new WeirError('WEIR_CHECKPOINT_NOT_FOUND', `checkpoint metadata ${source} does not exist`, {
    context: checkpointId === undefined ? { path: source } : { path: source, checkpointId },
  });
}

/** A handle path must stay inside the job dir: '/'-separated plain names, no '.', '..' or absolute paths. */
export function isSafeRelativePath(path: string): boolean {
  return path !== '' && path.split('/').every((segment) => RELATIVE_PATH_SEGMENT.test(segment) && segment !== '..');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
