/**
 * Opens the keyed state backend a keyed operator's subtask uses: the heap backend, or the LSM
 * backend on its own LSM tree in a local working directory (ephemeral: a restart restores it
 * from the checkpoint, so it is wiped on open and removed on close). With incremental
 * checkpoints the LSM backend is restored from a checkpoint's SST files: linked in as they are
 * when the key-group range is unchanged, else copied entry by entry from each old tree, clipped
 * to the range (a rescale). Subtask worker thread.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { WeirError } from '../errors.ts';
import type { SharedFileStore } from '../storage/checkpoint-storage.ts';
import { HeapKeyedStateBackend } from './heap/heap-keyed-state-backend.ts';
import type { KeyGroupRange } from './key-groups.ts';
import type { KeyedStateBackend } from './keyed-state-backend.ts';
import { IncrementalSnapshots } from './lsm/incremental-snapshots.ts';
import { LsmKeyedStateBackend } from './lsm/lsm-keyed-state-backend.ts';
import { LsmTree, type LsmTreeOptions, type RestoredFile } from './lsm/lsm-tree.ts';
import type { SharedFileRef } from '../storage/checkpoint-storage.ts';

export type StateBackendConfig =
  | { readonly kind: 'heap' }
  | {
      readonly kind: 'lsm';
      /** The job attempt's local working directory; each backend takes a subdirectory. */
      readonly directory: string;
      /** Bytes for memtable plus block cache, per backend. */
      readonly memoryBudget: number;
      /**
       * Checkpoint as SST files in the storage's `shared/` dir (needs file-system checkpoint
       * storage); `incremental` then reuses the files of the last confirmed checkpoint, else
       * every checkpoint uploads all files. Without `sstFiles`: full key-group blocks.
       */
      readonly sstFiles: boolean;
      readonly incremental: boolean;
    };

/** The SST sets of a checkpoint that overlap the backend's key groups, and where their files are. */
export interface SstRestore {
  readonly snapshots: readonly { readonly keyGroupRange: KeyGroupRange; readonly files: readonly SharedFileRef[] }[];
  readonly shared: SharedFileStore | undefined;
}

export interface OpenedBackend {
  readonly backend: KeyedStateBackend;
  /** Present for an LSM backend checkpointed as SST files. */
  readonly sstSnapshots?: IncrementalSnapshots;
  /** Releases the backend (and deletes an LSM working directory). */
  close(): Promise<void>;
}

/** `name` identifies the backend within the job (operator uid and subtask index). */
export async function openKeyedStateBackend(
  config: StateBackendConfig,
  range: KeyGroupRange,
  maxParallelism: number,
  name: string,
  restore?: SstRestore,
): Promise<OpenedBackend> {
  const restoring = restore !== undefined && restore.snapshots.length > 0;
  if (config.kind === 'heap') {
    if (restoring) throw incompatible(name, "the checkpoint holds this operator's keyed state as LSM SST files: restore it with stateBackend 'lsm'");
    const backend = new HeapKeyedStateBackend(range, maxParallelism);
    return { backend, close: async () => backend.dispose() };
  }
  const directory = join(config.directory, name);
  const half = Math.max(1024, Math.floor(config.memoryBudget / 2));
  const options: LsmTreeOptions = { directory, memtableBytes: half, blockCacheBytes: half };
  // Working state, not durable state: whatever an earlier attempt left here is stale.
  await rm(directory, { recursive: true, force: true });
  let tree: LsmTree;
  let adopted: { files: readonly SharedFileRef[]; localNames: string[] } | undefined;
  if (!restoring) {
    tree = await LsmTree.open(options);
  } else {
    const shared = restore.shared;
    if (shared === undefined) throw incompatible(name, 'the checkpoint holds SST files, which only file-system checkpoint storage can read');
    const only = restore.snapshots.length === 1 ? restore.snapshots[0]! : undefined;
    if (only !== undefined && only.keyGroupRange.start === range.start && only.keyGroupRange.end === range.end) {
      const restored = await LsmTree.restore(options, restoredFiles(only.files, shared));
      tree = restored.tree;
      adopted = { files: only.files, localNames: restored.localNames };
    } else {
      tree = await LsmTree.open(options);
      try {
        await copyClipped(tree, range, maxParallelism, restore.snapshots, shared, options);
      } catch (error) {
        await tree.close().catch(() => {});
        await rm(directory, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const backend = new LsmKeyedStateBackend(range, maxParallelism, tree);
  let sstSnapshots: IncrementalSnapshots | undefined;
  if (config.sstFiles) {
    sstSnapshots = new IncrementalSnapshots(tree, name, config.incremental);
    if (adopted !== undefined) sstSnapshots.adopt(adopted.files, adopted.localNames);
  }
  return {
    backend,
    ...(sstSnapshots === undefined ? {} : { sstSnapshots }),
    close: async () => {
      backend.dispose();
      try {
        await tree.close();
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}

function restoredFiles(files: readonly SharedFileRef[], shared: SharedFileStore): RestoredFile[] {
  return files.map((file) => ({
    path: file.handle.path,
    level: file.level,
    checksum: file.handle.checksum,
    materialize: (target: string) => shared.materializeShared(file.handle, target),
  }));
}

/** Rescale: opens each old tree beside the new one and copies the entries of `range` across. */
async function copyClipped(
  tree: LsmTree,
  range: KeyGroupRange,
  maxParallelism: number,
  snapshots: SstRestore['snapshots'],
  shared: SharedFileStore,
  options: LsmTreeOptions,
): Promise<void> {
  const target = new LsmKeyedStateBackend(range, maxParallelism, tree);
  for (const [i, snapshot] of snapshots.entries()) {
    const directory = `${options.directory}.restore-${i}`;
    const { tree: old } = await LsmTree.restore({ ...options, directory }, restoredFiles(snapshot.files, shared));
    try {
      target.copyFrom(new LsmKeyedStateBackend(snapshot.keyGroupRange, maxParallelism, old));
    } finally {
      await old.close().catch(() => {});
      await rm(directory, { recursive: true, force: true });
    }
  }
  target.dispose();
  await tree.flush();
}

function incompatible(name: string, why: string): WeirError {
  return new WeirError('WEIR_CHECKPOINT_INCOMPATIBLE', `cannot restore keyed state of ${name}: ${why}`);
}
