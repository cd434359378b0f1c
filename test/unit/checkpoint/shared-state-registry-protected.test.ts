import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SharedStateRegistry } from '../../../src/checkpoint/shared-state-registry.ts';
import type { CheckpointMetadata } from '../../../src/checkpoint/metadata.ts';
import type { SharedFileStore } from '../../../src/storage/checkpoint-storage.ts';

// After a restore from an older checkpoint, newer completed checkpoints stay in the directory
// but outside the retained set: they are never subsumed, so their files must never be released.

function memoryStore(paths: string[]): SharedFileStore & { files: Set<string> } {
  const files = new Set(paths);
  return {
    files,
    putShared: async () => {
      throw new Error('not used');
    },
    syncShared: async () => {},
    materializeShared: async () => assert.unreachable('not used'),
    listShared: async () => [...files],
    deleteShared: async (path) => void files.delete(path),
  };
}

function checkpoint(id: number, paths: string[]): CheckpointMetadata {
  return {
    version: 1,
    jobName: 'job',
    checkpointId: id,
    kind: 'checkpoint',
    triggerTimestamp: 1,
    completedTimestamp: 2,
    maxParallelism: 128,
    operators: [{ uid: 'op', parallelism: 1, subtasks: [{ sstFiles: paths.map((path) => ({ handle: { path, bytes: 1, checksum: '0000000000000000' }, level: 0 })) }] }],
    stats: { stateBytes: 0, durationMs: 0 },
  };
}

test('files of completed checkpoints outside the retained set survive release; the rest follow lastUsed', async () => {
  const store = memoryStore(['shared/c3-a', 'shared/c4-only-in-4', 'shared/c2-only-in-2', 'shared/c5-new']);
  const registry = new SharedStateRegistry({ store, catalog: async () => undefined, warn: () => {} });
  // Restored from 3; 4 was completed later by the earlier run and stays on disk; 2 is retained too.
  await registry.rebuild([checkpoint(2, ['shared/c2-only-in-2']), checkpoint(3, ['shared/c3-a']), checkpoint(4, ['shared/c4-only-in-4'])], new Set([2, 3]));
  await registry.register(checkpoint(5, ['shared/c3-a', 'shared/c5-new']));
  // 2 and 3 subsumed: oldest retained is 5.
  await registry.release(5, 5);
  assert.equal([...store.files].sort(), ['shared/c3-a', 'shared/c4-only-in-4', 'shared/c5-new']);
  // Without a retained set (every completed checkpoint counts), the same release frees 4's file.
  await registry.rebuild([checkpoint(4, ['shared/c4-only-in-4']), checkpoint(5, ['shared/c3-a', 'shared/c5-new'])]);
  await registry.release(5, 5);
  assert.equal([...store.files].sort(), ['shared/c3-a', 'shared/c5-new']);
});

test.run();
