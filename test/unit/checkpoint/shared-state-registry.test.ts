import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SharedFileEntry } from '../../../src/checkpoint/checkpoint-catalog.ts';
import type { CheckpointMetadata } from '../../../src/checkpoint/metadata.ts';
import { SharedStateRegistry } from '../../../src/checkpoint/shared-state-registry.ts';
import type { SharedFileRef, SharedFileStore, StateHandle } from '../../../src/storage/checkpoint-storage.ts';
import { FsCheckpointStorage } from '../../../src/storage/fs-checkpoint-storage.ts';
import { checksumHex, loadChecksum } from '../../../src/storage/state-file.ts';
import { tempDirs } from '../../helpers/temp-dirs.ts';

const tempDir = tempDirs(test, 'weir-registry-');
test.before(async () => {
  await loadChecksum();
});

/** Files of the scenario, by role: A is listed by checkpoints 1, 2 and 4 and dropped by 5. */
const A = 'c1-count-0-s1-000001.sst';
const B = 'c1-count-0-s1-000002.sst';
const C = 'c2-count-0-s1-000003.sst';
const D = 'c4-count-0-s1-000005.sst';
const E = 'c5-count-0-s1-000007.sst';
/** Uploaded by checkpoint 3, which was aborted: no `_metadata` lists it. */
const X = 'c3-count-0-s1-000004.sst';
/** Uploaded by checkpoint 5 but by no subtask listed in its `_metadata` (a retried upload). */
const V = 'c5-count-1-s2-000001.sst';
/** Uploaded by checkpoint 6, still in flight when checkpoint 5 completes. */
const Y = 'c6-count-0-s1-000009.sst';
/** No `c<id>-` prefix: which checkpoint uploaded it is unknown. */
const Z = 'manual.sst';

interface Fixture {
  readonly root: string;
  storage: FsCheckpointStorage;
  readonly warnings: string[];
  readonly handles: Map<string, StateHandle>;
  /** Places a file in shared/ with putShared from a fresh local source file. */
  put(name: string): Promise<StateHandle>;
  registry(withCatalog?: boolean): SharedStateRegistry;
  /** Names in shared/, sorted, straight from the file system. */
  sharedNames(): string[];
  reopen(): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const root = tempDir();
  const local = join(root, 'local');
  mkdirSync(local);
  const open = () => new FsCheckpointStorage({ directory: join(root, 'checkpoints'), jobName: 'job' });
  const f: Fixture = {
    root,
    storage: open(),
    warnings: [],
    handles: new Map(),
    async put(name) {
      const bytes = Buffer.from(`contents of ${name}`.repeat(20));
      const source = join(local, `${name}.local`);
      writeFileSync(source, bytes);
      const handle = await f.storage.putShared(source, name, bytes.byteLength, checksumHex(bytes));
      f.handles.set(name, handle);
      return handle;
    },
    registry(withCatalog = true) {
      return new SharedStateRegistry({
        store: f.storage,
        catalog: withCatalog ? () => f.storage.catalog() : async () => undefined,
        warn: (message) => void f.warnings.push(message),
      });
    },
    sharedNames: () => readdirSync(f.storage.sharedDir).sort(),
    async reopen() {
      await f.storage.close();
      f.storage = open();
    },
  };
  return f;
}

/** A completed checkpoint's metadata listing `names` as one subtask's SST files (all L0, order kept). */
function metadata(f: Fixture, checkpointId: number, names: readonly string[], more: readonly string[] = []): CheckpointMetadata {
  const files = (list: readonly string[]): SharedFileRef[] => list.map((name, i) => ({ handle: f.handles.get(name)!, level: i === 0 ? 0 : 1 }));
  return {
    version: 1,
    jobName: 'job',
    checkpointId,
    kind: 'checkpoint',
    triggerTimestamp: checkpointId * 1000,
    completedTimestamp: checkpointId * 1000 + 10,
    maxParallelism: 128,
    operators: [
      {
        uid: 'count',
        parallelism: 2,
        subtasks: [
          { keyGroupRange: { start: 0, end: 63 }, sstFiles: files(names) },
          { keyGroupRange: { start: 64, end: 127 }, sstFiles: files(more) },
        ],
      },
    ],
    stats: { stateBytes: 0, durationMs: 10 },
  };
}

function entry(name: string, createdBy: number, lastUsed: number): SharedFileEntry {
  return { path: `shared/${name}`, createdBy, lastUsed };
}

/** The registry's in-memory entries, sorted by path. */
function entriesOf(registry: SharedStateRegistry): SharedFileEntry[] {
  return [...registry.entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function catalogEntries(f: Fixture): Promise<SharedFileEntry[]> {
  const catalog = await f.storage.catalog();
  assert.ok(catalog, 'the catalog is open');
  return (await catalog!.sharedFiles()).map((e) => ({ path: e.path, createdBy: e.createdBy, lastUsed: e.lastUsed }));
}

/** Checkpoints 1, 2, 4, 5 complete (3 aborted after uploading X); V, Y, Z are unregistered. */
async function scenario(f: Fixture, registry: SharedStateRegistry): Promise<CheckpointMetadata[]> {
  for (const name of [A, B, C, D, E, X, V, Y, Z]) await f.put(name);
  await f.storage.syncShared();
  const completed = [metadata(f, 1, [B, A]), metadata(f, 2, [C, B, A]), metadata(f, 4, [D, C, A]), metadata(f, 5, [E, D], [C])];
  for (const m of completed) await registry.register(m);
  return completed;
}

const REGISTERED_AFTER_5 = [entry(A, 1, 4), entry(B, 1, 2), entry(C, 2, 5), entry(D, 4, 5), entry(E, 5, 5)].sort((a, b) => (a.path < b.path ? -1 : 1));

test('register records, per file, the first and the newest checkpoint that lists it, in memory and in the catalog', async () => {
  const f = await fixture();
  const registry = f.registry();
  await scenario(f, registry);
  assert.equal(entriesOf(registry), REGISTERED_AFTER_5);
  assert.equal(await catalogEntries(f), REGISTERED_AFTER_5);
  assert.is(f.sharedNames().length, 9, 'register deletes nothing');
  // Registering a checkpoint again changes nothing.
  await registry.register(metadata(f, 4, [D, C, A]));
  assert.equal(entriesOf(registry), REGISTERED_AFTER_5);
  assert.equal(f.warnings, []);
  await f.storage.close();
});

test('release deletes exactly the files no retained checkpoint lists and the unregistered uploads of settled checkpoints', async () => {
  const f = await fixture();
  const registry = f.registry();
  const completed = await scenario(f, registry);
  assert.equal(f.sharedNames(), [A, B, C, D, E, V, X, Y, Z].sort());

  // Checkpoint 5 completed, 4 and 5 are retained: B (last listed by 2) and X (aborted 3) go;
  // A stays (4 lists it), V and Y stay (uploaded by checkpoints ≥ 5), Z stays (unknown uploader).
  assert.is(await registry.release(4, 5), 2);
  assert.equal(f.sharedNames(), [A, C, D, E, V, Y, Z].sort());
  assert.equal(entriesOf(registry), REGISTERED_AFTER_5.filter((e) => e.path !== `shared/${B}`));
  assert.equal(await catalogEntries(f), entriesOf(registry));
  for (const m of completed.slice(2)) {
    for (const file of m.operators[0]!.subtasks.flatMap((s) => s.sstFiles!)) await f.storage.checkStateSize(file.handle);
  }

  // Checkpoint 6 completes listing Y; 5 and 6 are retained: A (last listed by 4) and V (5 < 6) go.
  const m6 = metadata(f, 6, [Y, E, D], [C]);
  await registry.register(m6);
  assert.is(await registry.release(5, 6), 2);
  assert.equal(f.sharedNames(), [C, D, E, Y, Z].sort());
  const expected = [entry(C, 2, 6), entry(D, 4, 6), entry(E, 5, 6), entry(Y, 6, 6)];
  assert.equal(entriesOf(registry), expected);
  assert.equal(await catalogEntries(f), expected);

  // Nothing more to release at the same bounds.
  assert.is(await registry.release(5, 6), 0);
  assert.is(f.sharedNames().length, 5);

  // With no subtask running, a sweep without a bound removes every unregistered file.
  assert.is(await registry.sweep(), 1);
  assert.equal(f.sharedNames(), [C, D, E, Y].sort());
  assert.is(await registry.sweep(), 0);
  assert.equal(f.warnings, []);
  await f.storage.close();
});

test('sweep with a bound keeps unregistered files of checkpoints at or above it and files of unknown uploaders', async () => {
  const f = await fixture();
  const registry = f.registry();
  await scenario(f, registry);
  assert.is(await registry.sweep(5), 1, 'only X (checkpoint 3)');
  assert.equal(f.sharedNames(), [A, B, C, D, E, V, Y, Z].sort());
  assert.is(await registry.sweep(6), 1, 'V (checkpoint 5)');
  assert.equal(f.sharedNames(), [A, B, C, D, E, Y, Z].sort());
  assert.is(await registry.sweep(Number.MAX_SAFE_INTEGER), 1, 'Y; Z has no checkpoint id');
  assert.equal(f.sharedNames(), [A, B, C, D, E, Z].sort());
  assert.equal(entriesOf(registry), REGISTERED_AFTER_5, 'sweep never touches registered files');
  await f.storage.close();
});

test('rebuild after the _catalog dir was deleted restores the exact entries from the metadata and counts them as repaired', async () => {
  const f = await fixture();
  const first = f.registry();
  const completed = await scenario(f, first);
  await first.release(4, 5);
  await f.storage.close();
  rmSync(f.storage.catalogDir, { recursive: true, force: true });
  f.storage = new FsCheckpointStorage({ directory: join(f.root, 'checkpoints'), jobName: 'job' });
  assert.equal(await catalogEntries(f), [], 'a fresh catalog');

  // Only the retained checkpoints (4 and 5) still have `_metadata`; given in any order.
  const registry = f.registry();
  const retained = [completed[3]!, completed[2]!];
  const expected = [entry(A, 4, 4), entry(C, 4, 5), entry(D, 4, 5), entry(E, 5, 5)];
  assert.is(await registry.rebuild(retained), 4);
  assert.equal(entriesOf(registry), expected);
  assert.equal(await catalogEntries(f), expected);
  assert.is(await registry.rebuild(retained), 0, 'nothing left to repair');

  // The rebuilt registry persists: a new storage and registry find it in the catalog.
  await f.reopen();
  assert.equal(await catalogEntries(f), expected);
  const again = f.registry();
  assert.is(await again.rebuild(retained), 0);
  assert.equal(entriesOf(again), expected);

  // And it drives deletion: an unbounded sweep leaves exactly the retained checkpoints' files.
  assert.is(await again.sweep(), 3, 'V, Y and Z');
  assert.equal(f.sharedNames(), [A, C, D, E].sort());
  assert.equal(f.warnings, []);
  await f.storage.close();
});

test('rebuild repairs stale, missing and extra catalog entries and returns how many there were', async () => {
  const f = await fixture();
  const registry = f.registry();
  const completed = await scenario(f, registry);
  const catalog = (await f.storage.catalog())!;
  await catalog.updateSharedFiles(
    [entry(C, 1, 1), entry('ghost.sst', 1, 9), entry(A, 1, 4)],
    [`shared/${D}`],
  );
  assert.is((await catalogEntries(f)).length, 5, 'A, B, C (stale), E, ghost');
  const fresh = f.registry();
  assert.is(await fresh.rebuild(completed), 3, 'C stale, D missing, ghost extra');
  assert.equal(entriesOf(fresh), REGISTERED_AFTER_5);
  assert.equal(await catalogEntries(f), REGISTERED_AFTER_5);
  assert.is(await fresh.rebuild([...completed].reverse()), 0);
  await f.storage.close();
});

test('without a catalog the registry works in memory alone', async () => {
  const f = await fixture();
  const registry = f.registry(false);
  const completed = await scenario(f, registry);
  assert.equal(entriesOf(registry), REGISTERED_AFTER_5);
  assert.is(await registry.release(4, 5), 2);
  assert.equal(f.sharedNames(), [A, C, D, E, V, Y, Z].sort());
  assert.is(await registry.rebuild(completed.slice(2)), 0, 'no catalog: nothing to repair');
  assert.equal(entriesOf(registry), [entry(A, 4, 4), entry(C, 4, 5), entry(D, 4, 5), entry(E, 5, 5)]);
  assert.equal(await catalogEntries(f), [], 'the catalog was never written');
  assert.equal(f.warnings, []);
  await f.storage.close();
});

test('a catalog that fails is reported as a warning and the registry carries on in memory', async () => {
  const f = await fixture();
  const registry = new SharedStateRegistry({
    store: f.storage,
    catalog: async () => {
      throw new Error('catalog is gone');
    },
    warn: (message) => void f.warnings.push(message),
  });
  await scenario(f, registry);
  assert.equal(entriesOf(registry), REGISTERED_AFTER_5);
  assert.is(await registry.release(4, 5), 2);
  assert.equal(f.sharedNames(), [A, C, D, E, V, Y, Z].sort());
  assert.is(f.warnings.length, 5, 'one per register (4) and one for the release');
  assert.ok(f.warnings.every((w) => w.includes('catalog is gone')), f.warnings.join('\n'));
  await f.storage.close();
});

test('a file whose deletion fails is unregistered at once (no checkpoint can count on it), reported, and deleted by the next release as an orphan', async () => {
  const f = await fixture();
  let failing = true;
  const store: SharedFileStore = {
    putShared: (...args) => f.storage.putShared(...args),
    syncShared: () => f.storage.syncShared(),
    materializeShared: (handle, target) => f.storage.materializeShared(handle, target),
    listShared: () => f.storage.listShared(),
    deleteShared: async (path) => {
      if (failing && path === `shared/${B}`) throw new Error('EBUSY');
      await f.storage.deleteShared(path);
    },
  };
  const registry = new SharedStateRegistry({ store, catalog: () => f.storage.catalog(), warn: (m) => void f.warnings.push(m) });
  await scenario(f, registry);
  await registry.release(4, 5); // X deleted; B's deletion fails (its sweep retry too)
  assert.equal(f.sharedNames(), [A, B, C, D, E, V, Y, Z].sort());
  const withoutB = REGISTERED_AFTER_5.filter((e) => e.path !== `shared/${B}`);
  assert.equal(entriesOf(registry), withoutB, 'B is no longer registered');
  assert.equal(await catalogEntries(f), withoutB);
  assert.ok(f.warnings.length >= 1, 'the failed deletion is reported');
  assert.ok(f.warnings[0]!.includes(`shared/${B}`) && f.warnings[0]!.includes('EBUSY'), f.warnings[0]);
  failing = false;
  assert.is(await registry.release(4, 5), 1, 'B now');
  assert.equal(f.sharedNames(), [A, C, D, E, V, Y, Z].sort());
  assert.equal(await catalogEntries(f), withoutB);
  await f.storage.close();
});

test.run();
