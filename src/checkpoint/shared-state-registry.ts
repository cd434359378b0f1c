/**
 * The shared-state registry (Flink's SharedStateRegistry): which checkpoints use each file in the
 * job's `shared/` dir, so a file is deleted exactly when no retained checkpoint needs it. Per
 * file it keeps the checkpoint that first listed it (`createdBy`) and the newest that lists it
 * (`lastUsed`); once the oldest retained checkpoint is newer than `lastUsed`, nothing retained
 * refers to the file any more (checkpoint ids grow, and a file a checkpoint lists stays listed
 * by every later one until compaction drops it). Main thread, driven by the checkpoint
 * coordinator.
 *
 * The `_metadata` files are the truth; the registry lives in the classic-level catalog as a
 * cache and is rebuilt from them when it is missing or disagrees. Crash safety follows from the
 * order of steps: a file is placed in `shared/` before any `_metadata` lists it, and deleted only
 * after every `_metadata` that listed it is gone, so a crash between any two steps leaves at
 * worst an unreferenced file, which `sweep` removes (files of aborted checkpoints too: their
 * names carry the id of the checkpoint that uploaded them).
 */
import type { CheckpointCatalog, SharedFileEntry } from './checkpoint-catalog.ts';
import type { CheckpointMetadata } from './metadata.ts';
import { uploadingCheckpointOf, type SharedFileStore } from '../storage/checkpoint-storage.ts';

export interface SharedStateRegistryOptions {
  readonly store: SharedFileStore;
  /** Where the registry is kept; without a catalog it lives in memory only. */
  readonly catalog: () => Promise<CheckpointCatalog | undefined>;
  readonly warn: (message: string) => void;
  /** @internal Fault injection: called just before each registry write and each file deletion. */
  readonly beforeStep?: (step: 'registry-update' | 'shared-delete') => void;
}

export class SharedStateRegistry {
  readonly #store: SharedFileStore;
  readonly #catalog: () => Promise<CheckpointCatalog | undefined>;
  readonly #warn: (message: string) => void;
  readonly #beforeStep: (step: 'registry-update' | 'shared-delete') => void;
  readonly #entries = new Map<string, SharedFileEntry>();
  /** Files listed by completed checkpoints outside the retained set: never released. */
  readonly #protected = new Set<string>();

  constructor(options: SharedStateRegistryOptions) {
    this.#store = options.store;
    this.#catalog = options.catalog;
    this.#warn = options.warn;
    this.#beforeStep = options.beforeStep ?? (() => {});
  }

  /** Entries by path, for tests and tools. */
  get entries(): ReadonlyMap<string, SharedFileEntry> {
    return this.#entries;
  }

  /**
   * Rebuilds the registry from the metadata of every completed checkpoint in storage (the truth;
   * `retained`: the ids the coordinator keeps and subsumes, when it keeps only some of them)
   * and rewrites the catalog's copy if it is missing or differs. Returns how many catalog entries
   * had to change.
   */
  async rebuild(completed: readonly CheckpointMetadata[], retained?: ReadonlySet<number>): Promise<number> {
    this.#entries.clear();
    // Completed checkpoints the coordinator does not retain (newer ones left behind by a
    // restore from an older checkpoint) are never subsumed: their files must stay.
    this.#protected.clear();
    for (const metadata of completed) {
      if (retained === undefined || retained.has(metadata.checkpointId)) continue;
      for (const op of metadata.operators) for (const subtask of op.subtasks) for (const file of subtask.sstFiles ?? []) this.#protected.add(file.handle.path);
    }
    for (const metadata of [...completed].sort((a, b) => a.checkpointId - b.checkpointId)) this.#use(metadata);
    const catalog = await this.#catalogOrWarn();
    if (catalog === undefined) return 0;
    try {
      const stored = new Map((await catalog.sharedFiles()).map((e) => [e.path, e]));
      let differences = 0;
      for (const [path, entry] of this.#entries) {
        const old = stored.get(path);
        if (old?.createdBy !== entry.createdBy || old.lastUsed !== entry.lastUsed) differences++;
      }
      for (const path of stored.keys()) if (!this.#entries.has(path)) differences++;
      if (differences > 0) await catalog.replaceSharedFiles([...this.#entries.values()]);
      return differences;
    } catch (error) {
      this.#warn(`shared-file registry could not be rebuilt in the catalog: ${describe(error)}`);
      return 0;
    }
  }

  /**
   * Before a checkpoint commits: the shared files it lists that are neither registered nor its
   * own uploads. A subtask reuses the files of the newest checkpoint it was told completed; when
   * that one was subsumed and its files released meanwhile (its notification overtaken by the
   * next barrier), the new checkpoint must not complete: it would list deleted files.
   */
  unknownFiles(metadata: CheckpointMetadata): string[] {
    const unknown: string[] = [];
    for (const op of metadata.operators) {
      for (const subtask of op.subtasks) {
        for (const file of subtask.sstFiles ?? []) {
          const path = file.handle.path;
          if (!this.#entries.has(path) && uploadingCheckpointOf(path) !== metadata.checkpointId) unknown.push(path);
        }
      }
    }
    return unknown;
  }

  /** A checkpoint completed (its `_metadata` is durable): it uses every shared file it lists. */
  async register(metadata: CheckpointMetadata): Promise<void> {
    const changed = this.#use(metadata);
    const catalog = await this.#catalogOrWarn();
    this.#beforeStep('registry-update');
    try {
      await catalog?.updateSharedFiles(changed, []);
    } catch (error) {
      this.#warn(`shared-file registry: recording checkpoint ${metadata.checkpointId} failed (rebuilt on the next start): ${describe(error)}`);
    }
  }

  /**
   * After subsumption: deletes the files whose `lastUsed` is older than `oldestRetained` (no
   * retained checkpoint lists them) unless checkpoints are pending, then the unregistered files
   * uploaded by checkpoints older than `settledBelow` (aborted ones: nothing still writes them).
   * Returns the files deleted.
   */
  async release(oldestRetained: number, settledBelow: number, checkpointsPending = false): Promise<number> {
    // A pending checkpoint may reuse any completed checkpoint's files: keep them until it ends.
    const unused = checkpointsPending ? [] : [...this.#entries.values()].filter((e) => e.lastUsed < oldestRetained && !this.#protected.has(e.path)).map((e) => e.path);
    // Unregistered first, so a checkpoint validated meanwhile cannot count on them.
    for (const path of unused) this.#entries.delete(path);
    const deleted = await this.#delete(unused);
    const catalog = await this.#catalogOrWarn();
    try {
      await catalog?.updateSharedFiles([], unused);
    } catch (error) {
      this.#warn(`shared-file registry: removing ${unused.length} entries failed (rebuilt on the next start): ${describe(error)}`);
    }
    return deleted.length + (await this.sweep(settledBelow));
  }

  /**
   * Deletes every file in `shared/` that no registered checkpoint uses and that was uploaded by a
   * checkpoint older than `settledBelow` (all of them when undefined: call it so only while no
   * subtask runs). Returns the number deleted.
   */
  async sweep(settledBelow?: number): Promise<number> {
    let paths: string[];
    try {
      paths = await this.#store.listShared();
    } catch (error) {
      this.#warn(`shared-file registry: listing the shared dir failed: ${describe(error)}`);
      return 0;
    }
    const orphans = paths.filter((path) => {
      if (this.#entries.has(path)) return false;
      if (settledBelow === undefined) return true;
      const uploadedBy = uploadingCheckpointOf(path);
      return uploadedBy !== undefined && uploadedBy < settledBelow;
    });
    return (await this.#delete(orphans)).length;
  }

  /** Marks the files `metadata` lists as used by it; returns the changed entries. */
  #use(metadata: CheckpointMetadata): SharedFileEntry[] {
    const changed: SharedFileEntry[] = [];
    for (const op of metadata.operators) {
      for (const subtask of op.subtasks) {
        for (const file of subtask.sstFiles ?? []) {
          const path = file.handle.path;
          const old = this.#entries.get(path);
          const entry: SharedFileEntry = {
            path,
            createdBy: Math.min(old?.createdBy ?? metadata.checkpointId, metadata.checkpointId),
            lastUsed: Math.max(old?.lastUsed ?? metadata.checkpointId, metadata.checkpointId),
          };
          if (old?.createdBy === entry.createdBy && old.lastUsed === entry.lastUsed) continue;
          this.#entries.set(path, entry);
          changed.push(entry);
        }
      }
    }
    return changed;
  }

  /** Deletes files (best effort: a failure is reported, and the next sweep tries again). */
  async #delete(paths: readonly string[]): Promise<string[]> {
    const deleted: string[] = [];
    for (const path of paths) {
      this.#beforeStep('shared-delete');
      try {
        await this.#store.deleteShared(path);
        deleted.push(path);
      } catch (error) {
        this.#warn(`shared-file registry: deleting ${path} failed (retried later): ${describe(error)}`);
      }
    }
    return deleted;
  }

  async #catalogOrWarn(): Promise<CheckpointCatalog | undefined> {
    try {
      return await this.#catalog();
    } catch (error) {
      this.#warn(`shared-file registry: the catalog is unavailable: ${describe(error)}`);
      return undefined;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
