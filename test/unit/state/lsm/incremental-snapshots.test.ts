import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CheckpointMetadata } from '../../../../src/checkpoint/metadata.ts';
import { SharedStateRegistry } from '../../../../src/checkpoint/shared-state-registry.ts';
import { WeirError } from '../../../../src/errors.ts';
import { canonicalKey, keyGroupOf, loadKeyHasher, type KeyGroupRange } from '../../../../src/state/key-groups.ts';
import type { KeyedStateBackend } from '../../../../src/state/keyed-state-backend.ts';
import { IncrementalSnapshots, type PersistedSstFiles } from '../../../../src/state/lsm/incremental-snapshots.ts';
import { LsmTree, type LsmTreeOptions, type RestoredFile } from '../../../../src/state/lsm/lsm-tree.ts';
import { openKeyedStateBackend, type StateBackendConfig } from '../../../../src/state/state-backend-factory.ts';
import { uploadingCheckpointOf, type SharedFileRef } from '../../../../src/storage/checkpoint-storage.ts';
import { FsCheckpointStorage } from '../../../../src/storage/fs-checkpoint-storage.ts';
import { checksumHex, loadChecksum } from '../../../../src/storage/state-file.ts';
import { tempDirs } from '../../../helpers/temp-dirs.ts';

const tempDir = tempDirs(test, 'weir-incremental-');

test.before(async () => {
  await loadChecksum();
  await loadKeyHasher();
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Fixture {
  readonly root: string;
  readonly storage: FsCheckpointStorage;
  /** Names in shared/, sorted, from the file system. */
  shared(): string[];
}

function fixture(): Fixture {
  const root = tempDir();
  const storage = new FsCheckpointStorage({ directory: join(root, 'checkpoints'), jobName: 'job', catalog: false });
  return { root, storage, shared: () => (existsSync(storage.sharedDir) ? readdirSync(storage.sharedDir).sort() : []) };
}

/** No compaction: the file set only grows by one L0 file per flush, so reuse is predictable. */
function treeOptions(directory: string): LsmTreeOptions {
  return { directory, memtableBytes: 4096, blockCacheBytes: 0, l0CompactionTrigger: 1000 };
}

/** Writes `count` keys starting at `from` and flushes them into L0 files. */
async function write(tree: LsmTree, from: number, count: number, round: string): Promise<void> {
  for (let i = from; i < from + count; i++) tree.put(enc(`key-${String(i).padStart(5, '0')}`), enc(`${round}:${i}:`.padEnd(100, '.')));
  await tree.flush();
}

function names(result: PersistedSstFiles): string[] {
  return result.files.map((f) => f.handle.path);
}

function sum(files: readonly SharedFileRef[]): number {
  return files.reduce((total, f) => total + f.handle.bytes, 0);
}

test('the first checkpoint uploads every live file as shared/c1-<owner>-<session>-<local name>, hard-linked and checksummed', async () => {
  const f = fixture();
  const directory = join(f.root, 'tree');
  const tree = await LsmTree.open(treeOptions(directory));
  await write(tree, 0, 200, 'a');
  const live = [...tree.liveFiles()];
  assert.ok(live.length >= 3, `expected several files, got ${live.length}`);
  const snapshots = new IncrementalSnapshots(tree, 'count-0', true);
  const result = await snapshots.snapshot(1)(f.storage);
  assert.is(result.files.length, live.length);
  assert.is(result.uploadedBytes, result.stateBytes);
  assert.is(result.stateBytes, live.reduce((total, name) => total + statSync(join(directory, name)).size, 0));
  result.files.forEach((file, i) => {
    const local = join(directory, live[i]!);
    assert.match(file.handle.path, new RegExp(`^shared/c1-count-0-[0-9a-f]{8}-${live[i]!.replace('.', '\\.')}$`));
    assert.is(uploadingCheckpointOf(file.handle.path), 1);
    assert.is(file.level, 0);
    assert.is(file.handle.inline, undefined);
    const shared = join(f.storage.sharedDir, file.handle.path.slice('shared/'.length));
    assert.is(statSync(shared).ino, statSync(local).ino, 'hard link of the live file');
    assert.is(file.handle.bytes, statSync(shared).size);
    assert.is(file.handle.checksum, checksumHex(readFileSync(shared)));
  });
  const session = result.files[0]!.handle.path.split('-')[3];
  assert.ok(result.files.every((file) => file.handle.path.split('-')[3] === session), 'one session per tree instance');
  assert.equal(f.shared(), names(result).map((p) => p.slice('shared/'.length)).sort());
  await tree.close();
});

test('after confirm, the next checkpoint uploads only new files and reuses the confirmed handles', async () => {
  const f = fixture();
  const tree = await LsmTree.open(treeOptions(join(f.root, 'tree')));
  await write(tree, 0, 200, 'a');
  const snapshots = new IncrementalSnapshots(tree, 'count-0', true);
  const first = await snapshots.snapshot(1)(f.storage);
  snapshots.confirm(1);
  assert.is(f.shared().length, first.files.length);

  await write(tree, 1000, 10, 'b');
  const second = await snapshots.snapshot(2)(f.storage);
  assert.is(second.files.length, first.files.length + 1);
  const [added, ...reused] = second.files;
  assert.equal(reused, first.files, 'unchanged files keep their checkpoint-1 handles');
  assert.match(added!.handle.path, /^shared\/c2-count-0-/);
  assert.is(second.uploadedBytes, added!.handle.bytes);
  assert.is(second.stateBytes, sum(second.files));
  assert.ok(second.uploadedBytes < second.stateBytes);
  assert.is(f.shared().length, first.files.length + 1, 'one file placed in shared/');

  // Not confirmed yet: checkpoint 3 uploads checkpoint 2's new file again, under a c3 name.
  await write(tree, 2000, 10, 'c');
  const third = await snapshots.snapshot(3)(f.storage);
  assert.equal(third.files.slice(2), first.files);
  assert.match(third.files[0]!.handle.path, /^shared\/c3-/);
  assert.match(third.files[1]!.handle.path, /^shared\/c3-/);
  assert.is(third.files[1]!.handle.path.replace(/^shared\/c3-/, ''), added!.handle.path.replace(/^shared\/c2-/, ''), 'the same local file');
  assert.is(third.files[1]!.handle.checksum, added!.handle.checksum);
  assert.is(third.uploadedBytes, third.files[0]!.handle.bytes + third.files[1]!.handle.bytes);

  // Confirming 3 (2 was subsumed) makes 3's handles the base.
  snapshots.confirm(3);
  snapshots.confirm(2); // late: 2 was dropped with 3's confirmation and changes nothing
  const fourth = await snapshots.snapshot(4)(f.storage);
  assert.equal(fourth.files, third.files);
  assert.is(fourth.uploadedBytes, 0);
  assert.is(fourth.stateBytes, third.stateBytes);
  await tree.close();
});

test('without a confirmation the second checkpoint re-uploads every file under c2 names', async () => {
  const f = fixture();
  const tree = await LsmTree.open(treeOptions(join(f.root, 'tree')));
  await write(tree, 0, 150, 'a');
  const snapshots = new IncrementalSnapshots(tree, 'op-1', true);
  const first = await snapshots.snapshot(1)(f.storage);
  const second = await snapshots.snapshot(2)(f.storage);
  assert.is(second.files.length, first.files.length);
  assert.is(second.uploadedBytes, second.stateBytes);
  assert.is(second.stateBytes, first.stateBytes);
  second.files.forEach((file, i) => {
    assert.is(file.handle.path, first.files[i]!.handle.path.replace(/^shared\/c1-/, 'shared/c2-'));
    assert.is(file.handle.checksum, first.files[i]!.handle.checksum);
  });
  assert.is(f.shared().length, 2 * first.files.length);
  await tree.close();
});

test('with incremental false every checkpoint uploads every file, confirmed or not', async () => {
  const f = fixture();
  const tree = await LsmTree.open(treeOptions(join(f.root, 'tree')));
  await write(tree, 0, 150, 'a');
  const snapshots = new IncrementalSnapshots(tree, 'op-0', false);
  const first = await snapshots.snapshot(1)(f.storage);
  snapshots.confirm(1);
  await write(tree, 500, 10, 'b');
  const second = await snapshots.snapshot(2)(f.storage);
  assert.is(second.files.length, first.files.length + 1);
  assert.is(second.uploadedBytes, second.stateBytes);
  assert.ok(second.files.every((file) => uploadingCheckpointOf(file.handle.path) === 2));
  assert.is(f.shared().length, 2 * first.files.length + 1);
  await tree.close();
});

test('the checkpoint is of the state when snapshot() was called, even when persisted later', async () => {
  const f = fixture();
  const tree = await LsmTree.open(treeOptions(join(f.root, 'tree')));
  await write(tree, 0, 100, 'a');
  tree.put(enc('late'), enc('before'));
  const snapshots = new IncrementalSnapshots(tree, 'op-0', true);
  const persist = snapshots.snapshot(1);
  tree.put(enc('late'), enc('after'));
  await write(tree, 100, 100, 'b');
  const result = await persist(f.storage);
  const restored = await LsmTree.restore(
    treeOptions(join(f.root, 'restored')),
    result.files.map((file) => ({ path: file.handle.path, level: file.level, checksum: file.handle.checksum, materialize: (target: string) => f.storage.materializeShared(file.handle, target) })),
  );
  assert.is(dec(restored.tree.get(enc('late'))!), 'before');
  assert.is(restored.tree.get(enc('key-00150')), undefined);
  assert.ok(restored.tree.get(enc('key-00050')) !== undefined);
  await restored.tree.close();
  await tree.close();
});

function restoredFiles(f: Fixture, files: readonly SharedFileRef[]): RestoredFile[] {
  return files.map((file) => ({ path: file.handle.path, level: file.level, checksum: file.handle.checksum, materialize: (target: string) => f.storage.materializeShared(file.handle, target) }));
}

test('adopt after a restore makes the next checkpoint refer to the restored handles instead of uploading', async () => {
  const f = fixture();
  const tree = await LsmTree.open(treeOptions(join(f.root, 'tree')));
  await write(tree, 0, 200, 'a');
  const before = new IncrementalSnapshots(tree, 'count-0', true);
  const checkpointed = await before.snapshot(7)(f.storage);
  await tree.close();

  const { tree: restored, localNames } = await LsmTree.restore(treeOptions(join(f.root, 'restored')), restoredFiles(f, checkpointed.files));
  const after = new IncrementalSnapshots(restored, 'count-0', true);
  after.adopt(checkpointed.files, localNames);
  const next = await after.snapshot(8)(f.storage);
  assert.equal(next.files, checkpointed.files);
  assert.is(next.uploadedBytes, 0);
  assert.is(next.stateBytes, checkpointed.stateBytes);

  await write(restored, 5000, 10, 'b');
  const third = await after.snapshot(9)(f.storage);
  assert.equal(third.files.slice(1), checkpointed.files);
  assert.match(third.files[0]!.handle.path, /^shared\/c9-count-0-/);
  assert.is(third.uploadedBytes, third.files[0]!.handle.bytes);
  // A tree restored without adopt uploads everything again.
  const { tree: other } = await LsmTree.restore(treeOptions(join(f.root, 'other')), restoredFiles(f, checkpointed.files));
  const fresh = await new IncrementalSnapshots(other, 'count-0', true).snapshot(10)(f.storage);
  assert.is(fresh.uploadedBytes, fresh.stateBytes);
  assert.ok(fresh.files.every((file) => uploadingCheckpointOf(file.handle.path) === 10));
  await other.close();
  await restored.close();
});

/** A completed checkpoint's metadata with one subtask listing `files`. */
function completed(checkpointId: number, files: readonly SharedFileRef[]): CheckpointMetadata {
  return {
    version: 1,
    jobName: 'job',
    checkpointId,
    kind: 'checkpoint',
    triggerTimestamp: checkpointId,
    completedTimestamp: checkpointId,
    maxParallelism: 128,
    operators: [{ uid: 'count', parallelism: 1, subtasks: [{ keyGroupRange: { start: 0, end: 127 }, sstFiles: files }] }],
    stats: { stateBytes: sum(files), durationMs: 0 },
  };
}

test('with concurrent checkpoints, a checkpoint reusing released files is refused and the retained one stays restorable', async () => {
  // The coordinator's steps on completion (checkpoint-coordinator.ts), with numRetained 1 and
  // maxConcurrent 2: refuse if it lists unknown files, register, subsume, release, then notify.
  const f = fixture();
  const registry = new SharedStateRegistry({ store: f.storage, catalog: async () => undefined, warn: (m) => assert.unreachable(m) });
  let retained: number[] = [];
  const complete = async (id: number, files: readonly SharedFileRef[], pending: boolean): Promise<boolean> => {
    if (registry.unknownFiles(completed(id, files)).length > 0) return false;
    await registry.register(completed(id, files));
    retained = [...retained, id].slice(-1);
    await registry.release(retained[0]!, id, pending);
    return true;
  };
  const tree = await LsmTree.open(treeOptions(join(f.root, 'tree')));
  await write(tree, 0, 100, 'a');
  const snapshots = new IncrementalSnapshots(tree, 'count-0', true);
  // Barriers 1 and 2 reach the subtask before checkpoint 1 completes: 2 uploads everything again.
  const persist1 = snapshots.snapshot(1);
  const persist2 = snapshots.snapshot(2);
  const first = await persist1(f.storage);
  const second = await persist2(f.storage);
  assert.ok(await complete(1, first.files, true));
  snapshots.confirm(1);
  // Barrier 3 arrives before checkpoint 2 completes (or before its notification does).
  const third = await snapshots.snapshot(3)(f.storage);
  assert.ok(await complete(2, second.files, true), 'checkpoint 3 pending: nothing is released');
  snapshots.confirm(2);
  for (const file of third.files) await f.storage.checkStateSize(file.handle);
  assert.ok(await complete(3, third.files, false), 'its reused files were kept while it was pending');
  snapshots.confirm(3);
  // Checkpoint 3 is the only retained one: every file it lists must still exist.
  for (const file of third.files) await f.storage.checkStateSize(file.handle);
  await tree.close();
});

// ── openKeyedStateBackend with an SstRestore ─────────────────────────────────────────────────

const MAX_PARALLELISM = 128;

function lsmConfig(root: string): StateBackendConfig {
  return { kind: 'lsm', directory: join(root, 'work'), memoryBudget: 16 * 1024, sstFiles: true, incremental: true };
}

function use(backend: KeyedStateBackend, key: string): number {
  const canonical = canonicalKey(key);
  const keyGroup = keyGroupOf(canonical, MAX_PARALLELISM);
  backend.setCurrentKey(canonical, keyGroup);
  return keyGroup;
}

const USERS = Array.from({ length: 600 }, (_, i) => `user-${i}`);

/** What a user's state holds: a count, a map entry, and (for every third user) a list. */
function writeUser(backend: KeyedStateBackend, user: string, i: number): void {
  use(backend, user);
  backend.getValueState<number>('count').update(i);
  backend.getMapState<string, string>('seen').put('last', `item-${i}`);
  if (i % 3 === 0) backend.getListState<number>('history').addAll([i, i + 1]);
}

/** Reads a user's state as a plain record (undefined fields when absent). */
function readUser(backend: KeyedStateBackend, user: string): unknown {
  use(backend, user);
  return {
    count: backend.getValueState<number>('count').value(),
    seen: backend.getMapState<string, string>('seen').get('last'),
    history: backend.getListState<number>('history').get(),
  };
}

function expectedUser(i: number): unknown {
  return { count: i, seen: `item-${i}`, history: i % 3 === 0 ? [i, i + 1] : [] };
}

const NOTHING = { count: undefined, seen: undefined, history: [] };

test('a backend restored from SST files of the same key-group range holds the same state and reuses the files', async () => {
  const f = fixture();
  const range: KeyGroupRange = { start: 0, end: 127 };
  const config = lsmConfig(f.root);
  const original = await openKeyedStateBackend(config, range, MAX_PARALLELISM, 'count-0');
  USERS.forEach((user, i) => writeUser(original.backend, user, i));
  const persisted = await original.sstSnapshots!.snapshot(3)(f.storage);
  assert.ok(persisted.files.length >= 2, `expected several files, got ${persisted.files.length}`);
  const blocks = original.backend.snapshot();
  const entries = original.backend.entryCount();
  await original.close();
  assert.is(existsSync(join(f.root, 'work', 'count-0')), false, 'close removes the working dir');

  const restored = await openKeyedStateBackend(config, range, MAX_PARALLELISM, 'count-0', {
    snapshots: [{ keyGroupRange: range, files: persisted.files }],
    shared: f.storage,
  });
  assert.is(restored.backend.entryCount(), entries);
  assert.equal(restored.backend.snapshot(), blocks);
  USERS.forEach((user, i) => assert.equal(readUser(restored.backend, user), expectedUser(i), user));
  const next = await restored.sstSnapshots!.snapshot(4)(f.storage);
  assert.is(next.uploadedBytes, 0, 'the restored files were adopted');
  assert.equal(next.files, persisted.files);
  await restored.close();
  for (const file of persisted.files) await f.storage.materializeShared(file.handle, join(f.root, `check-${file.handle.path.slice(7)}`));
});

test('two subtasks restored into one range get exactly the key groups of that range, with state names translated', async () => {
  const f = fixture();
  const config = lsmConfig(f.root);
  const left: KeyGroupRange = { start: 0, end: 63 };
  const right: KeyGroupRange = { start: 64, end: 127 };
  const a = await openKeyedStateBackend(config, left, MAX_PARALLELISM, 'count-0');
  const b = await openKeyedStateBackend(config, right, MAX_PARALLELISM, 'count-1');
  // Registration order differs, so the same name has different stateIds in the two trees.
  a.backend.getValueState('count');
  a.backend.getMapState('seen');
  a.backend.getListState('history');
  b.backend.getListState('history');
  b.backend.getMapState('seen');
  b.backend.getValueState('count');
  const groupOf = new Map<string, number>();
  USERS.forEach((user, i) => {
    const group = keyGroupOf(canonicalKey(user), MAX_PARALLELISM);
    groupOf.set(user, group);
    writeUser(group <= 63 ? a.backend : b.backend, user, i);
  });
  const fromA = await a.sstSnapshots!.snapshot(5)(f.storage);
  const fromB = await b.sstSnapshots!.snapshot(5)(f.storage);
  await a.close();
  await b.close();

  const target: KeyGroupRange = { start: 32, end: 95 };
  const inTarget = (user: string): boolean => groupOf.get(user)! >= 32 && groupOf.get(user)! <= 95;
  const owned = USERS.filter(inTarget);
  assert.ok(owned.length > 200 && owned.length < 400, `about half the users, got ${owned.length}`);
  assert.ok(owned.some((u) => groupOf.get(u)! <= 63) && owned.some((u) => groupOf.get(u)! >= 64), 'from both old subtasks');

  const merged = await openKeyedStateBackend(config, target, MAX_PARALLELISM, 'count-0', {
    snapshots: [
      { keyGroupRange: left, files: fromA.files },
      { keyGroupRange: right, files: fromB.files },
    ],
    shared: f.storage,
  });
  const expectedEntries = owned.reduce((n, user) => n + (USERS.indexOf(user) % 3 === 0 ? 3 : 2), 0);
  assert.is(merged.backend.entryCount(), expectedEntries);
  const groups = merged.backend.snapshot().map((block) => block.keyGroup);
  assert.equal(groups, [...new Set(owned.map((u) => groupOf.get(u)!))].sort((x, y) => x - y));
  USERS.forEach((user, i) => assert.equal(readUser(merged.backend, user), inTarget(user) ? expectedUser(i) : NOTHING, user));
  assert.is(existsSync(join(f.root, 'work', 'count-0.restore-0')), false, 'the old trees are removed after copying');
  assert.is(existsSync(join(f.root, 'work', 'count-0.restore-1')), false);

  // Nothing was adopted (the files hold other key groups too): the next checkpoint uploads all.
  const next = await merged.sstSnapshots!.snapshot(6)(f.storage);
  assert.is(next.uploadedBytes, next.stateBytes);
  assert.ok(next.stateBytes > 0);
  await merged.close();
});

test('restoring SST files needs an lsm backend and a shared-file store: otherwise WEIR_CHECKPOINT_INCOMPATIBLE', async () => {
  const f = fixture();
  const range: KeyGroupRange = { start: 0, end: 127 };
  const source = await openKeyedStateBackend(lsmConfig(f.root), range, MAX_PARALLELISM, 'count-0');
  writeUser(source.backend, 'u', 1);
  const persisted = await source.sstSnapshots!.snapshot(1)(f.storage);
  await source.close();
  const snapshots = [{ keyGroupRange: range, files: persisted.files }];
  for (const [config, shared, mentions] of [
    [{ kind: 'heap' } as StateBackendConfig, f.storage, "stateBackend 'lsm'"],
    [lsmConfig(f.root), undefined, 'file-system checkpoint storage'],
  ] as const) {
    try {
      await openKeyedStateBackend(config, range, MAX_PARALLELISM, 'count-0', { snapshots, shared });
      assert.unreachable('restore accepted');
    } catch (error) {
      assert.instance(error, WeirError);
      assert.is((error as WeirError).code, 'WEIR_CHECKPOINT_INCOMPATIBLE');
      assert.ok((error as Error).message.includes('count-0') && (error as Error).message.includes(mentions), (error as Error).message);
    }
  }
});

test.run();
