/**
 * FsCheckpointStorage: checkpoints on the local file system under `<directory>/<jobName>/`
 * (`chk-<id>/` with `_metadata`, `_stats.json` and the checkpoint's exclusive state files, `shared/`,
 * `taskowned/`, and the classic-level catalog in `_catalog/`). The checkpoint coordinator uses it
 * on the main thread for metadata; subtask worker threads use their own instances for state files
 * (those never open the catalog: it is opened lazily, by metadata operations only).
 *
 * Durability: every file is written to a hidden temp file in its final dir, fsynced, then renamed.
 * State files' dir entries are made durable by the fsync of the chk dir at commit, which happens
 * after the `_metadata` rename; the job dir is fsynced too, for the chk dir's own entry.
 */
import { linkOrCopy, syncDirectory, writeFileSynced } from './durable-file.ts';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { WeirError } from '../errors.ts';
import { CheckpointCatalog, type CatalogEntry } from '../checkpoint/checkpoint-catalog.ts';
import type { CheckpointMetadata } from '../checkpoint/metadata.ts';
import type { CheckpointStats } from '../checkpoint/checkpoint-stats.ts';
import {
  BaseCheckpointStorage,
  checkpointDirName,
  isSafeRelativePath,
  METADATA_FILE,
  parseCheckpointDirName,
  SHARED_DIR,
  verifyState,
  type CheckpointInfo,
  type CheckpointListing,
  type SharedFileStore,
  type StateHandle,
  type StorageOptions,
} from './checkpoint-storage.ts';
import { loadChecksum } from './state-file.ts';

/** The file-system calls the storage makes; injectable so tests can observe fsyncs or fail a rename. */
export interface CheckpointFs {
  /** Creates a dir and its parents; fine if it exists. */
  mkdir(path: string): Promise<void>;
  /** Creates or truncates `path`, writes all of `bytes`, fsyncs and closes it. */
  writeFileSynced(path: string, bytes: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** fsyncs a directory, making the entries created/renamed in it durable. */
  syncDir(path: string): Promise<void>;
  /** Rejects with code ENOENT (or ENOTDIR) when there is no such file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Rejects with code ENOENT when there is no such dir. */
  readdir(path: string): Promise<string[]>;
  /** Removes a file; fine if it does not exist. */
  unlink(path: string): Promise<void>;
  /** Removes a dir tree; fine if it does not exist. */
  rmDir(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Size in bytes; rejects with ENOENT when there is no such file. */
  size(path: string): Promise<number>;
  /** Hard-links `from` as `to`, falling back to a copy where links are not possible; fails if `to` exists. */
  linkOrCopy(from: string, to: string): Promise<void>;
}

export const nodeCheckpointFs: CheckpointFs = {
  async mkdir(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  writeFileSynced,
  rename: (from, to) => fsp.rename(from, to),
  syncDir: syncDirectory,
  readFile: (path) => fsp.readFile(path),
  readdir: (path) => fsp.readdir(path),
  unlink: (path) => fsp.rm(path, { force: true }),
  rmDir: (path) => fsp.rm(path, { recursive: true, force: true }),
  size: async (path) => (await fsp.stat(path)).size,
  linkOrCopy,
  async exists(path) {
    try {
      await fsp.stat(path);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  },
};

export interface FsCheckpointStorageOptions extends StorageOptions {
  /** The checkpoint root (`--checkpoint-dir`); the job's dir is `<directory>/<jobName>`. */
  readonly directory: string;
  /** Default: node:fs/promises. */
  readonly fs?: CheckpointFs;
  /** Keep the classic-level catalog (default true). Worker-side instances never open it anyway. */
  readonly catalog?: boolean;
}

/** Where an external checkpoint path (`--from`) points: `<directory>/<jobName>/chk-<id>[/_metadata]`. */
export function parseExternalCheckpointPath(path: string): { directory: string; jobName: string; checkpointId: number } | undefined {
  let dir = resolve(path);
  if (basename(dir) === METADATA_FILE) dir = dirname(dir);
  const checkpointId = parseCheckpointDirName(basename(dir));
  if (checkpointId === undefined) return undefined;
  const jobDir = dirname(dir);
  return { directory: dirname(jobDir), jobName: basename(jobDir), checkpointId };
}

const SHARED_NAME_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export class FsCheckpointStorage extends BaseCheckpointStorage implements SharedFileStore {
  readonly description: string;
  readonly jobDir: string;
  /** For incremental state: files referenced by several checkpoints (shared-state-registry.ts). */
  readonly sharedDir: string;
  /** For state the tasks own (never deleted by checkpoint subsumption); created, not used yet. */
  readonly taskOwnedDir: string;
  readonly catalogDir: string;
  readonly #fs: CheckpointFs;
  readonly #useCatalog: boolean;
  #layout: Promise<void> | undefined;
  #catalog: Promise<CheckpointCatalog | undefined> | undefined;
  /** Why the catalog could not be opened, when it could not (a lock vs. something to repair). */
  #catalogLocked = false;

  constructor(options: FsCheckpointStorageOptions) {
    super(options);
    if (typeof options.directory !== 'string' || options.directory === '') {
      throw new WeirError('WEIR_INVALID_OPTION', 'directory must be a non-empty path', { context: { option: 'directory' } });
    }
    this.jobDir = resolve(options.directory, this.jobName);
    this.description = this.jobDir;
    this.sharedDir = join(this.jobDir, 'shared');
    this.taskOwnedDir = join(this.jobDir, 'taskowned');
    this.catalogDir = join(this.jobDir, '_catalog');
    this.#fs = options.fs ?? nodeCheckpointFs;
    this.#useCatalog = options.catalog ?? true;
  }

  get shared(): SharedFileStore {
    return this;
  }

  async putShared(source: string, name: string, byteLength: number, checksum: string): Promise<StateHandle> {
    if (typeof name !== 'string' || !SHARED_NAME_PATTERN.test(name)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `shared file name must match ${SHARED_NAME_PATTERN}, got ${JSON.stringify(name)}`);
    }
    await this.#ensureLayout();
    const path = `${SHARED_DIR}/${name}`;
    const target = this._externalPath(path);
    await this.#io('link', target, () => this.#fs.linkOrCopy(source, target));
    return { path, bytes: byteLength, checksum };
  }

  async syncShared(): Promise<void> {
    await this.#ensureLayout();
    await this.#io('fsync', this.sharedDir, () => this.#fs.syncDir(this.sharedDir));
  }

  async materializeShared(handle: StateHandle, target: string): Promise<void> {
    if (handle?.inline !== undefined || typeof handle?.path !== 'string' || !handle.path.startsWith(`${SHARED_DIR}/`) || !isSafeRelativePath(handle.path)) {
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `shared state handle ${JSON.stringify(handle?.path)} is not a file in ${this.sharedDir}`);
    }
    const source = this._externalPath(handle.path);
    await this.checkStateSize(handle);
    await this.#io('link', target, () => this.#fs.linkOrCopy(source, target));
    await loadChecksum();
    const bytes = await this.#io('read', target, () => this.#fs.readFile(target));
    try {
      verifyState(handle, bytes, `shared state file ${source}`);
    } catch (error) {
      await this.#fs.unlink(target).catch(() => {});
      throw error;
    }
  }

  async listShared(): Promise<string[]> {
    const names = await this.#io('list', this.sharedDir, async () => {
      try {
        return await this.#fs.readdir(this.sharedDir);
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
    });
    return names.filter((name) => SHARED_NAME_PATTERN.test(name)).map((name) => `${SHARED_DIR}/${name}`);
  }

  async deleteShared(path: string): Promise<void> {
    if (!path.startsWith(`${SHARED_DIR}/`) || !isSafeRelativePath(path)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `${JSON.stringify(path)} is not a shared file path`);
    }
    await this._removeFile(path);
  }

  /** Absolute path of checkpoint `checkpointId`'s dir. */
  checkpointDir(checkpointId: number): string {
    return join(this.jobDir, checkpointDirName(checkpointId));
  }

  /** The opened catalog (for the shared-file registry); undefined when there is none. */
  catalog(): Promise<CheckpointCatalog | undefined> {
    return this.#openCatalog();
  }

  /** The catalog's entries, newest first; undefined when there is no usable catalog. */
  async catalogEntries(): Promise<CatalogEntry[] | undefined> {
    return (await this.#openCatalog())?.list();
  }

  /**
   * Rebuilds the catalog from the `_metadata` files: after it was deleted, damaged, or missed an
   * entry (crash between the metadata rename and the index write). An unreadable catalog dir is
   * deleted and created afresh; a locked one is left alone (reported as a warning).
   */
  async rebuildCatalog(): Promise<CheckpointListing> {
    if ((await this.#openCatalog()) === undefined && this.#useCatalog && !this.#catalogLocked) {
      this.#catalog = undefined;
      await this.#io('delete', this.catalogDir, () => this.#fs.rmDir(this.catalogDir));
    }
    const listing = await this.listCheckpoints();
    const catalog = await this.#openCatalog();
    if (catalog !== undefined) await catalog.replaceAll(listing.checkpoints.map(catalogEntry));
    return listing;
  }

  override async commitCheckpoint(metadata: CheckpointMetadata, stats?: CheckpointStats): Promise<string> {
    await this.#ensureLayout();
    return super.commitCheckpoint(metadata, stats);
  }

  protected async _writeFile(path: string, bytes: Uint8Array): Promise<void> {
    await this.#ensureLayout();
    await this.#writeAtomically(this._externalPath(path), bytes);
  }

  protected async _commitFile(path: string, bytes: Uint8Array): Promise<void> {
    const target = this._externalPath(path);
    await this.#writeAtomically(target, bytes);
    await this.#io('fsync', dirname(target), () => this.#fs.syncDir(dirname(target)));
    await this.#io('fsync', this.jobDir, () => this.#fs.syncDir(this.jobDir));
  }

  protected async _readFile(path: string): Promise<Uint8Array | undefined> {
    return this.#readOrUndefined(this._externalPath(path));
  }

  protected async _fileSize(path: string): Promise<number | undefined> {
    const file = this._externalPath(path);
    return this.#io('stat', file, async () => {
      try {
        return await this.#fs.size(file);
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    });
  }

  protected async _exists(path: string): Promise<boolean> {
    const file = this._externalPath(path);
    return this.#io('stat', file, () => this.#fs.exists(file));
  }

  protected async _listCheckpointIds(): Promise<number[]> {
    const names = await this.#io('list', this.jobDir, async () => {
      try {
        return await this.#fs.readdir(this.jobDir);
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
    });
    return names.map(parseCheckpointDirName).filter((id): id is number => id !== undefined);
  }

  protected async _removeFile(path: string): Promise<void> {
    const file = this._externalPath(path);
    await this.#io('delete', file, () => this.#fs.unlink(file));
  }

  protected async _removeDir(path: string): Promise<void> {
    const dir = this._externalPath(path);
    await this.#io('delete', dir, () => this.#fs.rmDir(dir));
  }

  protected _externalPath(path: string): string {
    return join(this.jobDir, ...path.split('/'));
  }

  /** Accepts a chk dir or its `_metadata` file, anywhere (another job's dir for `--from`). */
  protected async _readExternal(path: string): Promise<{ bytes: Uint8Array | undefined; source: string }> {
    const absolute = resolve(path);
    const source = basename(absolute) === METADATA_FILE ? absolute : join(absolute, METADATA_FILE);
    return { bytes: await this.#readOrUndefined(source), source };
  }

  protected async _close(): Promise<void> {
    const catalog = await this.#catalog;
    this.#catalog = undefined;
    await catalog?.close();
  }

  protected override async _index(info: CheckpointInfo): Promise<void> {
    await (await this.#openCatalog())?.put(catalogEntry(info));
  }

  protected override async _unindex(checkpointId: number): Promise<void> {
    await (await this.#openCatalog())?.delete(checkpointId);
  }

  /** The listing (from `_metadata` files) is the truth: rewrite the catalog when it disagrees. */
  protected override async _reconcileIndex(checkpoints: readonly CheckpointInfo[]): Promise<void> {
    const catalog = await this.#openCatalog();
    if (catalog === undefined) return;
    const expected = checkpoints.map(catalogEntry);
    const actual = await catalog.list();
    if (JSON.stringify(actual) !== JSON.stringify(expected)) await catalog.replaceAll(expected);
  }

  #openCatalog(): Promise<CheckpointCatalog | undefined> {
    if (!this.#useCatalog) return Promise.resolve(undefined);
    this.#catalog ??= (async () => {
      await this.#ensureLayout();
      const result = await CheckpointCatalog.open(this.catalogDir);
      if (result.warning !== undefined) {
        this.#catalogLocked = result.locked;
        this.warn(result.warning);
      }
      return result.catalog;
    })();
    return this.#catalog;
  }

  #ensureLayout(): Promise<void> {
    this.#layout ??= this.#io('create', this.jobDir, async () => {
      await this.#fs.mkdir(this.sharedDir);
      await this.#fs.mkdir(this.taskOwnedDir);
    }).catch((error: unknown) => {
      this.#layout = undefined; // let a later call retry
      throw error;
    });
    return this.#layout;
  }

  /** Temp file in the target's dir (hidden: leading '.'), fsynced, then renamed over the target. */
  async #writeAtomically(target: string, bytes: Uint8Array): Promise<void> {
    const dir = dirname(target);
    const temp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    await this.#io('create', dir, () => this.#fs.mkdir(dir));
    try {
      await this.#io('write', temp, () => this.#fs.writeFileSynced(temp, bytes));
      await this.#io('rename', target, () => this.#fs.rename(temp, target));
    } catch (error) {
      await this.#fs.unlink(temp).catch(() => {}); // best effort; discardIncomplete removes leftovers
      throw error;
    }
  }

  async #readOrUndefined(file: string): Promise<Uint8Array | undefined> {
    return this.#io('read', file, async () => {
      try {
        return await this.#fs.readFile(file);
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    });
  }

  /** Any file-system failure becomes WEIR_CHECKPOINT_IO (retriable) naming the file. */
  async #io<T>(what: string, path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof WeirError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new WeirError('WEIR_CHECKPOINT_IO', `checkpoint storage: ${what} ${path} failed${code ? ` (${code})` : ''}: ${describe(error)}`, {
        cause: error,
        context: { path },
      });
    }
  }
}

function catalogEntry(info: CheckpointInfo): CatalogEntry {
  return {
    id: info.checkpointId,
    path: checkpointDirName(info.checkpointId),
    triggerTimestamp: info.triggerTimestamp,
    completedTimestamp: info.completedTimestamp,
    stateBytes: info.stateBytes,
    durationMs: info.durationMs,
    kind: info.kind,
  };
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
