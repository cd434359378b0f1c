/**
 * Incremental checkpoints of one LSM tree (Flink's RocksDB incremental snapshot strategy). The
 * synchronous phase (`snapshot`) freezes the memtable; the asynchronous phase
 * (the returned `persist`) waits for the flush, pins the live files, then places in the job's `shared/` dir only
 * the files no *confirmed* checkpoint already holds, and refers to the others by their existing
 * handles. The acknowledgement lists every file, so each checkpoint is complete on its own.
 * Runs on the keyed subtask's worker thread; the coordinator's shared-state registry decides when
 * a shared file can be deleted.
 *
 * A file uploaded for a checkpoint that is not yet confirmed is uploaded again (under a new name)
 * by a later checkpoint, as Flink does: that checkpoint may still be aborted, and then its files
 * are deleted. Shared names carry the uploading checkpoint's id (`c<id>-…`), which lets the
 * registry tell a file of an aborted checkpoint from one still being written.
 */
import { randomBytes } from 'node:crypto';
import { sharedFileName, type SharedFileRef, type SharedFileStore, type StateHandle } from '../../storage/checkpoint-storage.ts';
import { faultPoint } from '../../fault-points.ts';
import type { LsmTree } from './lsm-tree.ts';

/** What the asynchronous phase produced. */
export interface PersistedSstFiles {
  readonly files: SharedFileRef[];
  /** Bytes of every file the checkpoint lists (its full state size). */
  readonly stateBytes: number;
  /** Bytes of the files this checkpoint placed in `shared/` (the rest were reused). */
  readonly uploadedBytes: number;
}

export class IncrementalSnapshots {
  readonly #tree: LsmTree;
  readonly #owner: string;
  /** Distinguishes this tree instance's local file names from an earlier attempt's. */
  readonly #session = randomBytes(4).toString('hex');
  readonly #incremental: boolean;
  /** Local file name → its handle in the newest confirmed checkpoint that listed it. */
  #confirmed = new Map<string, StateHandle>();
  /** Per checkpoint still awaiting confirmation: local file name → handle it listed. */
  readonly #pending = new Map<number, Map<string, StateHandle>>();

  /**
   * `owner` names the tree in shared file names (operator uid and subtask). With `incremental`
   * false every checkpoint uploads every file (full snapshots of the same files, for comparison).
   */
  constructor(tree: LsmTree, owner: string, incremental: boolean) {
    this.#tree = tree;
    this.#owner = owner;
    this.#incremental = incremental;
  }

  /**
   * After a restore from a checkpoint of this job: its files, linked into the tree under
   * `localNames`, count as confirmed, so the next checkpoint refers to them instead of uploading.
   */
  adopt(files: readonly SharedFileRef[], localNames: readonly string[]): void {
    files.forEach((file, i) => this.#confirmed.set(localNames[i]!, file.handle));
  }

  /** The synchronous phase: returns the asynchronous one, which needs the shared-file store. */
  snapshot(checkpointId: number): (store: SharedFileStore) => Promise<PersistedSstFiles> {
    const taken = this.#tree.checkpoint();
    const reusable = this.#incremental ? this.#confirmed : new Map<string, StateHandle>();
    return async (store) => {
      const checkpoint = await taken;
      try {
        const listed = new Map<string, StateHandle>();
        const files: SharedFileRef[] = [];
        let stateBytes = 0;
        let uploadedBytes = 0;
        for (const file of checkpoint.files) {
          let handle = reusable.get(file.name);
          if (handle === undefined) {
            handle = await store.putShared(file.path, sharedFileName(checkpointId, this.#owner, this.#session, file.name), file.byteLength, file.checksum);
            uploadedBytes += file.byteLength;
            faultPoint('lsm-upload');
          }
          listed.set(file.name, handle);
          files.push({ handle, level: file.level });
          stateBytes += file.byteLength;
        }
        if (uploadedBytes > 0) await store.syncShared();
        this.#pending.set(checkpointId, listed);
        return { files, stateBytes, uploadedBytes };
      } finally {
        checkpoint.release();
      }
    };
  }

  /**
   * The checkpoint completed: its files become the base of the next incremental checkpoint.
   * Files of older checkpoints that it no longer lists are forgotten (compaction removed them).
   */
  confirm(checkpointId: number): void {
    const listed = this.#pending.get(checkpointId);
    for (const id of [...this.#pending.keys()]) if (id <= checkpointId) this.#pending.delete(id);
    if (listed !== undefined) this.#confirmed = listed;
  }
}
