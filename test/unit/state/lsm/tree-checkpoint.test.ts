import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../../src/errors.ts';
import { LsmTree, type LsmTreeOptions, type RestoredFile, type TreeCheckpoint } from '../../../../src/state/lsm/lsm-tree.ts';
import { compareKeys } from '../../../../src/state/lsm/sst-format.ts';
import { checksumHex, loadChecksum } from '../../../../src/storage/state-file.ts';
import { tempDirs } from '../../../helpers/temp-dirs.ts';

const tempDir = tempDirs(test, 'weir-tree-cp-');

test.before(async () => {
  await loadChecksum();
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const ALL_FROM = new Uint8Array(0);
const ALL_TO = Uint8Array.of(0xff, 0xff, 0xff, 0xff);

function keyOf(i: number): string {
  return `key-${String(i).padStart(5, '0')}`;
}

/** ~120-byte values that name their writer, so a wrong version shows in the diff. */
function valueOf(i: number, round: string): string {
  return `${round}:${i}:`.padEnd(120, String.fromCharCode(97 + (i % 26)));
}

function put(tree: LsmTree, model: Map<string, string>, key: string, value: string): void {
  tree.put(enc(key), enc(value));
  model.set(key, value);
}

function del(tree: LsmTree, model: Map<string, string>, key: string): void {
  tree.delete(enc(key));
  model.delete(key);
}

function contents(tree: LsmTree): [string, string][] {
  return [...tree.scan(ALL_FROM, ALL_TO)].map(([k, v]) => [dec(k), dec(v)]);
}

function sorted(model: Map<string, string>): [string, string][] {
  return [...model].sort((a, b) => compareKeys(enc(a[0]), enc(b[0])));
}

function sstNames(directory: string): string[] {
  return readdirSync(directory).filter((n) => n.endsWith('.sst')).sort();
}

/** Restored files that copy the checkpoint's live files (no shared store involved). */
function copies(cp: TreeCheckpoint): RestoredFile[] {
  return cp.files.map((f) => ({ path: f.path, level: f.level, checksum: f.checksum, materialize: (target: string) => copyFile(f.path, target) }));
}

/** Deletion after release is asynchronous (an fs.rm): wait until `paths` are gone, or give up. */
async function gone(paths: readonly string[]): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (paths.every((p) => !existsSync(p))) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

function options(directory: string, more: Partial<LsmTreeOptions> = {}): LsmTreeOptions {
  return { directory, memtableBytes: 4096, blockCacheBytes: 0, blockBytes: 1024, ...more };
}

test('checkpoint files stay on disk while held, even after compaction removed them, and are deleted on release', async () => {
  const root = tempDir();
  const directory = join(root, 'tree');
  const tree = await LsmTree.open(options(directory));
  const model = new Map<string, string>();
  for (let i = 0; i < 600; i++) put(tree, model, keyOf((i * 37) % 500), valueOf(i, 'r1'));
  for (let i = 0; i < 500; i += 9) del(tree, model, keyOf(i));
  const atCheckpoint = sorted(model);

  const cp = await tree.checkpoint();
  assert.ok(cp.files.length >= 3, `expected several files, got ${cp.files.length}`);
  for (const f of cp.files) {
    assert.is(f.path, join(directory, f.name));
    assert.is(basename(f.path), f.name);
    const bytes = readFileSync(f.path);
    assert.is(f.byteLength, bytes.byteLength, f.name);
    assert.is(f.checksum, checksumHex(bytes), `checksum of ${f.name}`);
    assert.match(f.checksum, /^[0-9a-f]{16}$/);
  }
  // L0 newest first (descending file numbers), then deeper levels.
  const levels = cp.files.map((f) => f.level);
  assert.equal(levels, [...levels].sort((a, b) => a - b), 'levels ascend');
  const l0 = cp.files.filter((f) => f.level === 0).map((f) => f.name);
  assert.equal(l0, [...l0].sort().reverse(), 'L0 newest first');

  // Overwrite everything, so compaction rewrites every file the checkpoint holds.
  for (let i = 0; i < 500; i++) put(tree, model, keyOf(i), valueOf(i, 'r2'));
  for (let i = 500; i < 700; i++) put(tree, model, keyOf(i), valueOf(i, 'r2'));
  await tree.flush();
  await tree.compact();
  const live = new Set(tree.liveFiles());
  const removed = cp.files.filter((f) => !live.has(f.name));
  assert.ok(removed.length >= 1, 'compaction removed at least one checkpointed file');
  for (const f of cp.files) assert.ok(existsSync(f.path), `${f.name} is held by the checkpoint`);
  for (const f of removed) assert.is(checksumHex(readFileSync(f.path)), f.checksum, `${f.name} is unchanged`);
  assert.equal(contents(tree), sorted(model), 'the tree itself moved on');

  // A restore from the held files sees the state as of the checkpoint, not the later writes.
  const restored = await LsmTree.restore(options(join(root, 'restored')), copies(cp));
  assert.equal(contents(restored.tree), atCheckpoint);
  assert.is(restored.tree.get(enc(keyOf(600))), undefined, 'written after the checkpoint');
  assert.is(restored.tree.get(enc(keyOf(0))), undefined, 'deleted before the checkpoint');
  await restored.tree.close();

  cp.release();
  cp.release(); // idempotent
  assert.ok(await gone(removed.map((f) => f.path)), 'files compaction removed are deleted once released');
  for (const f of cp.files.filter((f) => live.has(f.name))) assert.ok(existsSync(f.path), `${f.name} is still live`);
  assert.equal(sstNames(directory), [...tree.liveFiles()].sort(), 'only live files remain');
  await tree.close();
});

test('a file held by two checkpoints is deleted only when both released it', async () => {
  const root = tempDir();
  const directory = join(root, 'tree');
  const tree = await LsmTree.open(options(directory));
  const model = new Map<string, string>();
  for (let i = 0; i < 300; i++) put(tree, model, keyOf(i), valueOf(i, 'a'));
  // Settle compaction first, so none can run between the two checkpoints (each adds one L0
  // file, below the trigger): whether they share files must not depend on thread timing.
  await tree.compact();
  const first = await tree.checkpoint();
  for (let i = 300; i < 310; i++) put(tree, model, keyOf(i), valueOf(i, 'b'));
  const second = await tree.checkpoint();
  const both = first.files.filter((f) => second.files.some((g) => g.name === f.name));
  assert.ok(both.length >= 1, 'the checkpoints share files');
  for (let i = 0; i < 400; i++) put(tree, model, keyOf(i), valueOf(i, 'c'));
  await tree.flush();
  await tree.compact();
  const live = new Set(tree.liveFiles());
  const sharedRemoved = both.filter((f) => !live.has(f.name));
  assert.ok(sharedRemoved.length >= 1, 'compaction removed a file both checkpoints hold');
  const onlyFirstRemoved = first.files.filter((f) => !live.has(f.name) && !second.files.some((g) => g.name === f.name));

  first.release();
  assert.ok(await gone(onlyFirstRemoved.map((f) => f.path)));
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (const f of second.files) assert.ok(existsSync(f.path), `${f.name} is still held by the second checkpoint`);
  second.release();
  assert.ok(await gone(second.files.filter((f) => !live.has(f.name)).map((f) => f.path)));
  assert.equal(sstNames(directory), [...tree.liveFiles()].sort());
  await tree.close();
});

test('a checkpoint holds the state as of the call: the memtable is included, later writes are not', async () => {
  const root = tempDir();
  const tree = await LsmTree.open(options(join(root, 'tree'), { memtableBytes: 64 * 1024 }));
  const model = new Map<string, string>();
  for (let i = 0; i < 50; i++) put(tree, model, keyOf(i), valueOf(i, 'mem'));
  assert.equal(tree.liveFiles(), [], 'all in the memtable');
  const atCall = sorted(model);
  const taking = tree.checkpoint();
  put(tree, model, keyOf(1), 'after the call');
  del(tree, model, keyOf(2));
  put(tree, model, keyOf(99), 'new after the call');
  const cp = await taking;
  assert.is(cp.files.length, 1);
  assert.is(cp.files[0]!.level, 0);
  const restored = await LsmTree.restore(options(join(root, 'restored')), copies(cp));
  assert.equal(contents(restored.tree), atCall);
  assert.equal(contents(tree), sorted(model));
  cp.release();
  await restored.tree.close();
  await tree.close();
});

test('restore keeps L0 newest first: the newest flush of a key wins, as in the checkpointed tree', async () => {
  const root = tempDir();
  const tree = await LsmTree.open(options(join(root, 'tree'), { l0CompactionTrigger: 100 }));
  const model = new Map<string, string>();
  for (const round of ['v1', 'v2', 'v3', 'v4']) {
    put(tree, model, 'k', `k-${round}`);
    put(tree, model, `only-${round}`, round);
    if (round === 'v2') put(tree, model, 'gone', 'soon deleted');
    if (round === 'v4') del(tree, model, 'gone');
    await tree.flush();
  }
  const cp = await tree.checkpoint();
  assert.equal(cp.files.map((f) => f.level), [0, 0, 0, 0]);
  const restored = await LsmTree.restore(options(join(root, 'restored'), { l0CompactionTrigger: 100 }), copies(cp));
  assert.is(dec(restored.tree.get(enc('k'))!), 'k-v4');
  assert.is(restored.tree.get(enc('gone')), undefined, 'the tombstone in the newest file hides the older value');
  assert.equal(contents(restored.tree), sorted(model));
  // Local names: the newest L0 file (listed first) gets the highest file number.
  assert.is(restored.localNames.length, 4);
  assert.equal([...restored.localNames], [...restored.localNames].sort().reverse());
  assert.equal([...restored.tree.liveFiles()], restored.localNames);
  assert.equal(sstNames(join(root, 'restored')), [...restored.localNames].sort());
  await restored.tree.close();

  // The order matters: the same files listed oldest first restore the oldest value.
  const reversed = await LsmTree.restore(options(join(root, 'reversed'), { l0CompactionTrigger: 100 }), copies(cp).reverse());
  assert.is(dec(reversed.tree.get(enc('k'))!), 'k-v1');
  await reversed.tree.close();
  cp.release();
  await tree.close();
});

test('restore of a compacted tree with several levels reproduces it exactly, and the restored tree keeps working', async () => {
  const root = tempDir();
  const tree = await LsmTree.open(options(join(root, 'tree'), { l0CompactionTrigger: 2, levelSizeMultiplier: 2 }));
  const model = new Map<string, string>();
  for (let i = 0; i < 1500; i++) put(tree, model, keyOf((i * 7919) % 1200), valueOf(i, 'x'));
  await tree.flush();
  await tree.compact();
  for (let i = 0; i < 40; i++) put(tree, model, keyOf(i * 3), valueOf(i, 'top'));
  await tree.flush();
  const cp = await tree.checkpoint();
  const levels = new Set(cp.files.map((f) => f.level));
  assert.ok(levels.size >= 2, `expected files on several levels, got ${[...levels]}`);
  const restoredOptions = options(join(root, 'restored'), { l0CompactionTrigger: 2, levelSizeMultiplier: 2 });
  const restored = await LsmTree.restore(restoredOptions, copies(cp));
  assert.equal(contents(restored.tree), sorted(model));
  assert.equal([...restored.tree.liveFiles()], restored.localNames, 'the restored tree lists its files in checkpoint order');
  // New files of the restored tree do not collide with the restored ones.
  const more = new Map(model);
  for (let i = 0; i < 300; i++) put(restored.tree, more, keyOf(i), valueOf(i, 'after'));
  await restored.tree.flush();
  await restored.tree.compact();
  assert.equal(contents(restored.tree), sorted(more));
  await restored.tree.close();
  const reopened = await LsmTree.open(restoredOptions);
  assert.equal(contents(reopened), sorted(more), 'the restored tree is durable');
  await reopened.close();
  cp.release();
  await tree.close();
});

test('a checkpointed file with a level outside [0, 6] is WEIR_CHECKPOINT_CORRUPT naming the file', async () => {
  const root = tempDir();
  const tree = await LsmTree.open(options(join(root, 'tree')));
  const model = new Map<string, string>();
  for (let i = 0; i < 100; i++) put(tree, model, keyOf(i), valueOf(i, 'l'));
  const cp = await tree.checkpoint();
  const files = copies(cp);
  for (const level of [-1, 7, 99, 1.5, Number.NaN]) {
    const bad = files.map((f, i) => (i === files.length - 1 ? { ...f, path: `shared/bad-level-${level}.sst`, level } : f));
    try {
      await LsmTree.restore(options(join(root, `bad-${level}`)), bad);
      assert.unreachable(`level ${level} accepted`);
    } catch (error) {
      assert.instance(error, WeirError);
      assert.is((error as WeirError).code, 'WEIR_CHECKPOINT_CORRUPT', (error as Error).message);
      assert.ok((error as Error).message.includes(`shared/bad-level-${level}.sst`), (error as Error).message);
      assert.ok((error as Error).message.includes(`level ${level}`), (error as Error).message);
    }
  }
  cp.release();
  await tree.close();
});

test('restore empties the target directory first and accepts an empty checkpoint', async () => {
  const root = tempDir();
  const tree = await LsmTree.open(options(join(root, 'tree')));
  const cp = await tree.checkpoint();
  assert.equal(cp.files, []);
  const stale = await LsmTree.open(options(join(root, 'restored')));
  stale.put(enc('stale'), enc('x'));
  await stale.close();
  const restored = await LsmTree.restore(options(join(root, 'restored')), copies(cp));
  assert.equal(contents(restored.tree), []);
  assert.equal(restored.localNames, []);
  assert.equal(sstNames(join(root, 'restored')), []);
  assert.ok(statSync(join(root, 'restored')).isDirectory());
  await restored.tree.close();
  cp.release();
  await tree.close();
});

test.run();
