/**
 * Opens the keyed state backend a keyed operator's subtask uses: the heap backend, or the LSM
 * backend on its own LSM tree in a local working directory (ephemeral: a restart restores it
 * from the checkpoint, so it is wiped on open and removed on close). Subtask worker thread.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HeapKeyedStateBackend } from './heap/heap-keyed-state-backend.ts';
import type { KeyGroupRange } from './key-groups.ts';
import type { KeyedStateBackend } from './keyed-state-backend.ts';
import { LsmKeyedStateBackend } from './lsm/lsm-keyed-state-backend.ts';
import { LsmTree } from './lsm/lsm-tree.ts';

export type StateBackendConfig =
  | { readonly kind: 'heap' }
  | {
      readonly kind: 'lsm';
      /** The job attempt's local working directory; each backend takes a subdirectory. */
      readonly directory: string;
      /** Bytes for memtable plus block cache, per backend. */
      readonly memoryBudget: number;
    };

export interface OpenedBackend {
  readonly backend: KeyedStateBackend;
  /** Releases the backend (and deletes an LSM working directory). */
  close(): Promise<void>;
}

/** `name` identifies the backend within the job (operator uid and subtask index). */
export async function openKeyedStateBackend(
  config: StateBackendConfig,
  range: KeyGroupRange,
  maxParallelism: number,
  name: string,
): Promise<OpenedBackend> {
  if (config.kind === 'heap') {
    const backend = new HeapKeyedStateBackend(range, maxParallelism);
    return { backend, close: async () => backend.dispose() };
  }
  const directory = join(config.directory, name);
  // Working state, not durable state: whatever an earlier attempt left here is stale.
  await rm(directory, { recursive: true, force: true });
  const half = Math.max(1024, Math.floor(config.memoryBudget / 2));
  const tree = await LsmTree.open({ directory, memtableBytes: half, blockCacheBytes: half });
  const backend = new LsmKeyedStateBackend(range, maxParallelism, tree);
  return {
    backend,
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
