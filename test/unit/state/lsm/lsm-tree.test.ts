import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../../src/errors.ts';
import { LsmTree } from '../../../../src/state/lsm/lsm-tree.ts';
import { SstReader, compareKeys } from '../../../../src/state/lsm/sst-format.ts';
import { loadChecksum } from '../../../../src/storage/state-file.ts';
import { tempDirs } from '../../../helpers/temp-dirs.ts';

const newDir = tempDirs(test, 'weir-lsm-');
/** A fresh dir's `tree` subdirectory (the tree creates it). */
const tempDir = (): string => join(newDir(), 'tree');

test.before(async () => {
  await loadChecksum();
});

/** Deterministic xorshift PRNG, so failures reproduce from the printed seed. */
function prng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ALL_FROM = new Uint8Array(0);
const ALL_TO = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function valueFor(next: () => number, tag: string): Uint8Array {
  const length = next() % 200;
  const v = new Uint8Array(length + tag.length);
  v.set(enc(tag));
  for (let i = tag.length; i < v.length; i++) v[i] = next() & 0xff;
  return v;
}

/** The model's content in key order, as hex pairs for readable diffs. */
function modelEntries(model: Map<string, Uint8Array>, from?: Uint8Array, to?: Uint8Array): [string, string][] {
  const rows: [Uint8Array, Uint8Array][] = [];
  for (const [k, v] of model) {
    const key = Buffer.from(k, 'hex');
    if (from !== undefined && compareKeys(key, from) < 0) continue;
    if (to !== undefined && compareKeys(key, to) >= 0) continue;
    rows.push([key, v]);
  }
  rows.sort((a, b) => compareKeys(a[0], b[0]));
  return rows.map(([k, v]) => [hex(k), hex(v)]);
}

function treeEntries(tree: LsmTree, from: Uint8Array = ALL_FROM, to: Uint8Array = ALL_TO): [string, string][] {
  return [...tree.scan(from, to)].map(([k, v]) => [hex(k), hex(v)]);
}

function assertSameAsModel(tree: LsmTree, model: Map<string, Uint8Array>, keys: Uint8Array[], what: string): void {
  assert.equal(treeEntries(tree), modelEntries(model), `${what}: full scan`);
  for (const key of keys) {
    const got = tree.get(key);
    const want = model.get(hex(key));
    if ((got === undefined) !== (want === undefined) || (got !== undefined && hex(got) !== hex(want!))) {
      assert.unreachable(`${what}: get(${dec(key)}) = ${got === undefined ? 'undefined' : hex(got)}, model has ${want === undefined ? 'undefined' : hex(want)}`);
    }
  }
}

function sstFilesOnDisk(directory: string): string[] {
  return readdirSync(directory).filter((n) => n.endsWith('.sst')).sort();
}

test('random puts, deletes, gets and scans match a Map model through many flushes, compactions and a reopen', async () => {
  const seed = Number(process.env.WEIR_LSM_SEED ?? (Date.now() % 1_000_000_007));
  console.log(`  lsm model test seed ${seed} (WEIR_LSM_SEED=${seed} to reproduce)`);
  const next = prng(seed);
  const directory = tempDir();
  const options = { directory, memtableBytes: 16 * 1024, blockBytes: 1024, l0CompactionTrigger: 3, levelSizeMultiplier: 3 };
  let tree = await LsmTree.open(options);
  const model = new Map<string, Uint8Array>();
  const keys = Array.from({ length: 1500 }, (_, i) => enc(`key-${String(i * 7919 % 1500).padStart(5, '0')}`));
  for (let op = 0; op < 12_000; op++) {
    const key = keys[next() % keys.length]!;
    const dice = next() % 100;
    if (dice < 55) {
      const value = valueFor(next, `${op}:`);
      tree.put(key, value);
      model.set(hex(key), value);
    } else if (dice < 70) {
      tree.delete(key);
      model.delete(hex(key));
    } else if (dice < 97) {
      const got = tree.get(key);
      const want = model.get(hex(key));
      assert.is(got === undefined ? undefined : hex(got), want === undefined ? undefined : hex(want), `op ${op}: get(${dec(key)})`);
    } else {
      const a = keys[next() % keys.length]!;
      const b = keys[next() % keys.length]!;
      const [from, to] = compareKeys(a, b) <= 0 ? [a, b] : [b, a];
      assert.equal(treeEntries(tree, from, to), modelEntries(model, from, to), `op ${op}: scan [${dec(from)}, ${dec(to)})`);
    }
    if (op % 500 === 0) await tick(); // let background flushes and compactions interleave
  }
  assertSameAsModel(tree, model, keys, 'while background work may still run');
  await tree.flush();
  await tree.compact();
  assertSameAsModel(tree, model, keys, 'after flush + compact');
  const stats = tree.stats;
  console.log(`  ${stats.flushes} flushes, ${stats.compactions} compactions, max background slice ${stats.maxBackgroundSliceMs.toFixed(1)} ms, ${tree.liveFiles().length} live files`);
  assert.ok(stats.flushes >= 20, `expected many flushes, got ${stats.flushes}`);
  assert.ok(stats.compactions >= 5, `expected many compactions, got ${stats.compactions}`);
  assert.equal([...tree.liveFiles()].sort(), sstFilesOnDisk(directory), 'live files are exactly the SST files on disk');
  assert.not.ok(readdirSync(directory).includes('MANIFEST.tmp'));

  await tree.close();
  tree = await LsmTree.open(options);
  assertSameAsModel(tree, model, keys, 'after close and reopen');
  // Keep going on the reopened tree: file numbers must not collide with the old ones.
  for (let i = 0; i < 2000; i++) {
    const key = keys[next() % keys.length]!;
    const value = valueFor(next, `again${i}:`);
    tree.put(key, value);
    model.set(hex(key), value);
  }
  await tree.flush();
  await tree.compact();
  assertSameAsModel(tree, model, keys, 'after more writes on the reopened tree');
  assert.equal([...tree.liveFiles()].sort(), sstFilesOnDisk(directory));
  await tree.close();
});

test('state far larger than the memtable reads back exactly, also after reopen', async () => {
  const directory = tempDir();
  const options = { directory, memtableBytes: 64 * 1024 };
  let tree = await LsmTree.open(options);
  const count = 20_000;
  const key = (i: number): Uint8Array => enc(`user:${String(i).padStart(8, '0')}`);
  const value = (i: number): Uint8Array => {
    const v = new Uint8Array(100);
    v.fill(i & 0xff);
    new DataView(v.buffer).setUint32(0, i, true);
    return v;
  };
  let worstPutMs = 0;
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    tree.put(key((i * 7_919) % count), value((i * 7_919) % count));
    worstPutMs = Math.max(worstPutMs, performance.now() - start);
    if (i % 1000 === 0) await tick();
  }
  for (let i = 0; i < count; i += 1) {
    const got = tree.get(key(i));
    if (got === undefined || hex(got) !== hex(value(i))) assert.unreachable(`get(${i}) before flush`);
  }
  await tree.flush();
  await tree.compact();
  console.log(`  20 k × 100 B: ${tree.stats.flushes} flushes, ${tree.stats.compactions} compactions, ${tree.liveFiles().length} files, worst put ${worstPutMs.toFixed(2)} ms, worst background slice ${tree.stats.maxBackgroundSliceMs.toFixed(1)} ms`);
  assert.ok(tree.stats.flushes >= 20);
  await tree.close();
  tree = await LsmTree.open(options);
  for (let i = 0; i < count; i++) {
    const got = tree.get(key(i));
    if (got === undefined || hex(got) !== hex(value(i))) assert.unreachable(`get(${i}) after reopen`);
  }
  let n = 0;
  for (const [k, v] of tree.scan(enc('user:'), enc('user;'))) {
    assert.is(dec(k), dec(key(n)));
    assert.is(hex(v), hex(value(n)));
    n++;
  }
  assert.is(n, count);
  await tree.close();
});

test('get of absent keys is undefined: empty tree, between, before and after stored keys', async () => {
  const tree = await LsmTree.open({ directory: tempDir(), memtableBytes: 4096 });
  assert.is(tree.get(enc('nothing')), undefined);
  assert.is(tree.get(new Uint8Array(0)), undefined);
  for (let i = 0; i < 500; i += 2) tree.put(enc(`k${String(i).padStart(4, '0')}`), enc(`v${i}`));
  await tree.flush();
  for (let i = 1; i < 500; i += 2) assert.is(tree.get(enc(`k${String(i).padStart(4, '0')}`)), undefined);
  assert.is(tree.get(enc('a')), undefined);
  assert.is(tree.get(enc('z')), undefined);
  assert.is(tree.get(enc('k')), undefined);
  assert.is(dec(tree.get(enc('k0002'))!), 'v2');
  await tree.close();
});

test('scan yields from ≤ key < to in key order, across memtable and files, and is empty when from ≥ to', async () => {
  const tree = await LsmTree.open({ directory: tempDir(), memtableBytes: 2048 });
  const keys = ['a', 'ab', 'abc', 'b', 'b\u0000', 'ba', 'c'];
  keys.forEach((k, i) => tree.put(enc(k), enc(String(i))));
  await tree.flush();
  tree.put(enc('ab'), enc('new')); // the memtable shadows the file
  tree.put(enc('bb'), enc('mem'));
  const scan = (from: string, to: string): string[] => [...tree.scan(enc(from), enc(to))].map(([k, v]) => `${dec(k)}=${dec(v)}`);
  assert.equal(scan('a', 'b'), ['a=0', 'ab=new', 'abc=2']);
  assert.equal(scan('ab', 'b\u0000'), ['ab=new', 'abc=2', 'b=3']);
  assert.equal(scan('b', 'c'), ['b=3', 'b\u0000=4', 'ba=5', 'bb=mem']);
  assert.equal(scan('c', 'd'), ['c=6']);
  assert.equal(scan('b', 'b'), []);
  assert.equal(scan('c', 'a'), []);
  assert.equal(scan('x', 'z'), []);
  await tree.close();
});

test('a scan keeps working while writes, flushes and compactions happen underneath it', async () => {
  const tree = await LsmTree.open({ directory: tempDir(), memtableBytes: 4096, l0CompactionTrigger: 2 });
  for (let i = 0; i < 2000; i += 2) tree.put(enc(`k${String(i).padStart(5, '0')}`), enc(`v${i}`));
  await tree.flush();
  const iterator = tree.scan(enc('k'), enc('l'));
  let previous: Uint8Array | undefined;
  let seen = 0;
  let done = false;
  for (let i = 1; i < 4000; i++) {
    tree.put(enc(`k${String(i).padStart(5, '0')}`), enc(`w${i}`));
    if (i % 2 === 0) tree.delete(enc(`k${String(i).padStart(5, '0')}`));
    if (i % 200 === 0) await tick();
    if (done) continue;
    const step = iterator.next();
    if (step.done === true) {
      done = true;
      continue;
    }
    if (previous !== undefined) assert.ok(compareKeys(previous, step.value[0]) < 0, 'scan stays strictly ascending');
    previous = step.value[0];
    seen++;
  }
  await tree.flush();
  await tree.compact();
  assert.ok(done && seen >= 1000, `the scan ran to its end (${seen} entries)`);
  assert.ok(tree.stats.compactions > 0, 'compactions ran during the scan');
  for (let i = 1; i < 4000; i++) {
    const got = tree.get(enc(`k${String(i).padStart(5, '0')}`));
    assert.is(got === undefined ? undefined : dec(got), i % 2 === 0 ? undefined : `w${i}`);
  }
  await tree.close();
});

test('deletes shadow older values in deeper files, and bottom-level compaction drops the tombstones', async () => {
  const directory = tempDir();
  const tree = await LsmTree.open({ directory, memtableBytes: 1 << 20, l0CompactionTrigger: 2 });
  for (let i = 0; i < 300; i++) tree.put(enc(`k${String(i).padStart(3, '0')}`), enc(`v${i}`));
  await tree.flush(); // one L0 file: below the trigger, stays in L0
  for (let i = 0; i < 300; i += 3) tree.delete(enc(`k${String(i).padStart(3, '0')}`));
  tree.put(enc('k001'), enc('updated'));
  // The tombstones live in the memtable and shadow the L0 file.
  assert.is(tree.get(enc('k000')), undefined);
  assert.is(dec(tree.get(enc('k001'))!), 'updated');
  const countLive = (): number => [...tree.scan(enc('k'), enc('l'))].length;
  assert.is(countLive(), 200);
  await tree.flush(); // second L0 file → L0 → L1 compaction; L1 is the bottom, tombstones dropped
  await tree.compact();
  assert.is(tree.get(enc('k000')), undefined);
  assert.is(tree.get(enc('k297')), undefined);
  assert.is(dec(tree.get(enc('k298'))!), 'v298');
  assert.is(countLive(), 200);
  let entries = 0;
  let tombstones = 0;
  for (const name of tree.liveFiles()) {
    const reader = SstReader.open(readFileSync(join(directory, name)), name);
    for (const [, value] of reader.entries()) {
      entries++;
      if (value === null) tombstones++;
    }
  }
  assert.is(tombstones, 0, 'no tombstone survives a bottom-level compaction');
  assert.is(entries, 200, 'and no shadowed version survives either');
  assert.equal([...tree.liveFiles()].sort(), sstFilesOnDisk(directory), 'compacted-away files are deleted');
  await tree.close();
});

test('a corrupt MANIFEST fails open with WEIR_CHECKPOINT_CORRUPT naming the file', async () => {
  const directory = tempDir();
  const tree = await LsmTree.open({ directory });
  tree.put(enc('a'), enc('1'));
  await tree.close();
  const path = join(directory, 'MANIFEST');
  const bytes = readFileSync(path);
  bytes[bytes.length - 12]! ^= 0x01;
  writeFileSync(path, bytes);
  try {
    await LsmTree.open({ directory });
    assert.unreachable('open should fail');
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_CHECKPOINT_CORRUPT');
    assert.match((error as Error).message, path);
  }
  writeFileSync(path, bytes.subarray(0, 10));
  await assertCorrupt(directory, /truncated/);
});

test('a MANIFEST listing a missing SST, or SSTs without a MANIFEST, is WEIR_CHECKPOINT_CORRUPT', async () => {
  const directory = tempDir();
  const tree = await LsmTree.open({ directory });
  tree.put(enc('a'), enc('1'));
  await tree.close();
  const [file] = sstFilesOnDisk(directory);
  const sst = readFileSync(join(directory, file!));
  rmSync(join(directory, file!));
  await assertCorrupt(directory, new RegExp(`lists ${file!.replace('.', '\\.')}, which is missing`));
  writeFileSync(join(directory, file!), sst);
  rmSync(join(directory, 'MANIFEST'));
  await assertCorrupt(directory, /no MANIFEST/);
});

test('open removes SST files the MANIFEST does not list (a crash between SST write and manifest)', async () => {
  const directory = tempDir();
  const tree = await LsmTree.open({ directory });
  tree.put(enc('a'), enc('1'));
  await tree.close();
  writeFileSync(join(directory, '000999.sst'), new Uint8Array(10));
  writeFileSync(join(directory, 'MANIFEST.tmp'), new Uint8Array(3));
  const reopened = await LsmTree.open({ directory });
  assert.equal(sstFilesOnDisk(directory), [...reopened.liveFiles()]);
  assert.not.ok(readdirSync(directory).includes('MANIFEST.tmp'));
  assert.is(dec(reopened.get(enc('a'))!), '1');
  reopened.put(enc('b'), enc('2'));
  await reopened.flush();
  assert.ok(reopened.liveFiles().includes('001000.sst'), `new files are numbered past the orphan: ${reopened.liveFiles().join(', ')}`);
  await reopened.close();
});

test('bad options and arguments fail fast with a message naming them', async () => {
  await assertRejects(LsmTree.open({ directory: '' }), /options\.directory/);
  await assertRejects(LsmTree.open({ directory: tempDir(), memtableBytes: 0 }), /options\.memtableBytes/);
  await assertRejects(LsmTree.open({ directory: tempDir(), l0CompactionTrigger: 1.5 }), /options\.l0CompactionTrigger/);
  const tree = await LsmTree.open({ directory: tempDir() });
  assert.throws(() => tree.put('a' as unknown as Uint8Array, enc('1')), /key must be a Uint8Array/);
  await tree.close();
  assert.throws(() => tree.get(enc('a')), /closed/);
});

async function assertCorrupt(directory: string, message: RegExp): Promise<void> {
  try {
    await LsmTree.open({ directory });
  } catch (error) {
    assert.is((error as WeirError).code, 'WEIR_CHECKPOINT_CORRUPT', String(error));
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable('open should fail');
}

async function assertRejects(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.match((error as Error).message, message);
    return;
  }
  assert.unreachable('expected a rejection');
}

test.run();
