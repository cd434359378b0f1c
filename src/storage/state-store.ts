/**
 * The part of checkpoint storage a subtask uses: write its state, read state to restore. Opened
 * on each subtask's worker thread from a plain descriptor (the coordinator's storage object
 * cannot cross threads): files under the checkpoint directory, or — without one — everything
 * inline in the acknowledgement, kept by the coordinator in memory (Flink's JobManager storage).
 */
import type { SharedFileStore, StateHandle } from './checkpoint-storage.ts';
import { FsCheckpointStorage } from './fs-checkpoint-storage.ts';
import { MemoryCheckpointStorage } from './memory-checkpoint-storage.ts';

export type StateStoreDescriptor =
  | { readonly kind: 'fs'; readonly root: string; readonly jobName: string }
  | { readonly kind: 'memory'; readonly jobName: string };

export interface StateStore {
  writeState(checkpointId: number, name: string, bytes: Uint8Array): Promise<StateHandle>;
  readState(handle: StateHandle): Promise<Uint8Array>;
  /** Files shared between checkpoints (incremental LSM state); only file-system storage has them. */
  readonly shared?: SharedFileStore;
  close(): Promise<void>;
}

export async function openStateStore(descriptor: StateStoreDescriptor): Promise<StateStore> {
  if (descriptor.kind === 'fs') {
    // Workers never open the catalog: only the coordinator indexes checkpoints.
    return new FsCheckpointStorage({ directory: descriptor.root, jobName: descriptor.jobName, catalog: false });
  }
  return new MemoryCheckpointStorage({ jobName: descriptor.jobName, inlineLimit: Number.MAX_SAFE_INTEGER });
}
