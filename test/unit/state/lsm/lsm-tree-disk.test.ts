import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../../src/errors.ts';
import { LsmTree } from '../../../../src/state/lsm/lsm-tree.ts';
import { MANIFEST_FILE, decodeManifest, encodeManifest } from '../../../../src/state/lsm/manifest.ts';
import { SstReader, SstWriter, compareKeys, type SstSource } from '../../../../src/state/lsm/sst-format.ts';
import { LruBlockCache } from '../../../../src/state/lsm/block-cache.ts';
import { ByteWriter } from '../../../../src/state/lsm/sst-block.ts';
import { checksum64, checksumHex, loadChecksum } from '../../../../src/storage/state-file.ts';
import { tempDirs } from '../../../helpers/temp-dirs.ts';

const newDir = tempDirs(test, 'weir-lsm-disk-');
/** A fresh dir's `tree` subdirectory (the tree creates it). */
const tempDir = (): string => join(newDir(), 'tree');

test.before(async () => {
  await loadChecksum();
});

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
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const ALL_FROM = new Uint8Array(0);
const ALL_TO = Uint8Array.of(0xff, 0xff, 0xff, 0xff);

function sstBytesOnDisk(directory: string): number {
  let total = 0;
  for (const name of readdirSync(directory)) if (name.endsWith('.sst')) total += statSync(join(directory, name)).size;
  return total;
}

/** Open descriptors of this process (Linux), or undefined where /proc is not there. */
function openDescriptors(): number | undefined {
  return existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : undefined;
}

function key(i: number): Uint8Array {
  return enc(`key-${String(i).padStart(7, '0')}`);
}

function valueFor(next: () => number, i: number, version: number): Uint8Array {
  // Random bytes (incompressible), so the files are as large as the data.
  const v = new Uint8Array(120 + (next() % 80));
  v.set(enc(`${i}:${version}:`));
  for (let j = 12; j < v.length; j++) v[j] = next() & 0xff;
  return v;
}

function assertMatchesModel(tree: LsmTree, model: Map<number, Uint8Array>, keys: number, label: string): void {
  for (let i = 0; i < keys; i++) {
    const got = tree.get(key(i));
    const want = model.get(i);
    if (want === undefined) assert.is(got, undefined, `${label}: key ${i} is absent`);
    else assert.ok(got !== undefined && Buffer.from(got).equals(Buffer.from(want)), `${label}: key ${i} has its latest value`);
  }
  let count = 0;
  let previous: Uint8Array | undefined;
  for (const [k, v] of tree.scan(ALL_FROM, ALL_TO)) {
    if (previous !== undefined) assert.ok(compareKeys(previous, k) < 0, `${label}: scan ascends`);
    previous = k;
    const i = Number(dec(k).slice(4));
    assert.ok(Buffer.from(v).equals(Buffer.from(model.get(i)!)), `${label}: scan value of key ${i}`);
    count++;
  }
  assert.is(count, model.size, `${label}: scan sees every live key once`);
}

for (const compactionThread of [true, false]) {
  test(`a tree holding over 10× its memtable + block cache budget returns the model values; readers hold only index and filter (compaction ${compactionThread ? 'on its thread' : 'in slices on this one'})`, async () => {
    await tenTimesTheBudget(compactionThread);
  });
}

async function tenTimesTheBudget(compactionThread: boolean): Promise<void> {
  const directory = tempDir();
  const memtableBytes = 64 * 1024;
  const blockCacheBytes = 64 * 1024;
  const options = { directory, memtableBytes, blockCacheBytes, blockBytes: 4096, targetFileBytes: 128 * 1024, compactionThread };
  let tree = await LsmTree.open(options);
  const next = prng(0x10b1);
  const model = new Map<number, Uint8Array>();
  const KEYS = 12_000;
  for (let op = 0; op < 30_000; op++) {
    const i = op < KEYS ? op : next() % KEYS;
    if (op >= KEYS && next() % 10 === 0) {
      tree.delete(key(i));
      model.delete(i);
    } else {
      const value = valueFor(next, i, op);
      tree.put(key(i), value);
      model.set(i, value);
    }
    if (op % 500 === 0) await tick();
  }
  await tree.flush();
  await tree.compact();
  const budget = memtableBytes + blockCacheBytes;
  const onDisk = sstBytesOnDisk(directory);
  const stats = tree.stats;
  console.log(`  ${model.size} live keys, ${(onDisk / 1024).toFixed(0)} KiB of SSTs for a ${(budget / 1024).toFixed(0)} KiB budget; readers hold ${(stats.readerMemoryBytes / 1024).toFixed(0)} KiB, cache ${(stats.blockCacheBytes / 1024).toFixed(0)} KiB`);
  assert.ok(onDisk >= 10 * budget, `the files (${onDisk} bytes) hold at least 10× the budget (${budget})`);
  assert.ok(stats.readerMemoryBytes < onDisk / 20, `readers hold ${stats.readerMemoryBytes} bytes for ${onDisk} bytes of files`);
  assertMatchesModel(tree, model, KEYS, 'live');
  assert.ok(tree.stats.blockCacheBytes <= blockCacheBytes, 'the cache stays within its budget');
  assert.ok(tree.stats.blockCacheMisses > 0, 'reads went to disk');
  await tree.close();

  assert.ok(stats.compactions > 0, 'compactions ran');
  tree = await LsmTree.open(options);
  assertMatchesModel(tree, model, KEYS, 'reopened');
  await tree.close();
}

test('a scan keeps reading files compaction removed, and every descriptor is closed once it ends and the tree closes', async () => {
  const before = openDescriptors();
  const directory = tempDir();
  const tree = await LsmTree.open({ directory, memtableBytes: 4096, l0CompactionTrigger: 2, targetFileBytes: 4096 });
  for (let i = 0; i < 3000; i++) tree.put(key(i), enc(`v${i}`));
  await tree.flush();
  await tree.compact();
  const filesAtStart = new Set(tree.liveFiles());
  const scan = tree.scan(ALL_FROM, ALL_TO);
  const first = scan.next();
  assert.is(first.done, false);
  for (let i = 0; i < 3000; i++) {
    tree.put(key(i), enc(`w${i}`));
    if (i % 100 === 0) await tick();
  }
  await tree.flush();
  await tree.compact();
  // Which files a compaction picks depends on the compaction thread's timing: the scan must keep
  // reading at least one file compaction removed (then every value below must still be the old one).
  assert.ok([...filesAtStart].some((f) => !tree.liveFiles().includes(f)), 'compaction replaced a file the scan started on');
  let seen = 1;
  for (const [k, v] of scan) {
    assert.is(dec(v), `v${Number(dec(k).slice(4))}`, 'the scan reads the version it started on');
    seen++;
  }
  assert.is(seen, 3000);
  // A scan abandoned early (for…of with break) lets go of its files too.
  for (const _ of tree.scan(ALL_FROM, ALL_TO)) break;
  await tree.close();
  if (before !== undefined) assert.is(openDescriptors(), before, 'no descriptor left open');
});

test('opening a tree verifies only tail, footer, index and filter; a corrupt data block is found when read, naming the file', async () => {
  const directory = tempDir();
  const tree = await LsmTree.open({ directory, blockBytes: 256 });
  for (let i = 0; i < 500; i++) tree.put(key(i), enc(`value-${i}-${'x'.repeat(40)}`));
  await tree.close();
  const [name] = readdirSync(directory).filter((n) => n.endsWith('.sst'));
  const path = join(directory, name!);
  const bytes = readFileSync(path);
  bytes[10]! ^= 0x40; // inside the first data block
  writeFileSync(path, bytes);
  const reopened = await LsmTree.open({ directory, blockBytes: 256 });
  assert.is(dec(reopened.get(key(499))!), `value-499-${'x'.repeat(40)}`, 'blocks other than the corrupt one read fine');
  try {
    reopened.get(key(0));
    assert.unreachable('reading the corrupt block should fail');
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_CHECKPOINT_CORRUPT');
    assert.match((error as Error).message, name!);
  }
  await reopened.close();
});

test('checkpoint checksums are the xxHash64 of the files on disk, computed while writing and kept in the MANIFEST', async () => {
  const directory = tempDir();
  const tree = await LsmTree.open({ directory, memtableBytes: 8192, l0CompactionTrigger: 2, targetFileBytes: 4096 });
  for (let i = 0; i < 2000; i++) tree.put(key(i), enc(`v${i}`));
  const checkpoint = await tree.checkpoint();
  assert.ok(checkpoint.files.length > 1);
  for (const f of checkpoint.files) {
    const bytes = readFileSync(f.path);
    assert.is(f.checksum, checksumHex(bytes), `${f.name}: checksum`);
    assert.is(f.byteLength, bytes.byteLength, `${f.name}: length`);
  }
  checkpoint.release();
  await tree.close();
  const manifest = decodeManifest(readFileSync(join(directory, MANIFEST_FILE)), 'MANIFEST');
  for (const f of manifest.files) {
    const name = `${String(f.fileNumber).padStart(6, '0')}.sst`;
    assert.is(f.checksum, checksumHex(readFileSync(join(directory, name))), `${name}: manifest checksum`);
  }
});

test('a version-1 MANIFEST (no checksums) still opens; the tree hashes its files once and rewrites it as version 2', async () => {
  const directory = tempDir();
  // No compaction: the rewritten manifest must list the very files the old one did.
  const options = { directory, memtableBytes: 8192, l0CompactionTrigger: 1000 };
  const tree = await LsmTree.open(options);
  for (let i = 0; i < 1000; i++) tree.put(key(i), enc(`v${i}`));
  await tree.close();
  const path = join(directory, MANIFEST_FILE);
  const current = decodeManifest(readFileSync(path), path);
  writeFileSync(path, encodeVersion1(current.nextFileNumber, current.files));
  const old = decodeManifest(readFileSync(path), path);
  assert.ok(old.files.every((f) => f.checksum === undefined), 'version 1 carries no checksums');
  const reopened = await LsmTree.open(options);
  assert.is(dec(reopened.get(key(999))!), 'v999');
  const checkpoint = await reopened.checkpoint();
  for (const f of checkpoint.files) assert.is(f.checksum, checksumHex(readFileSync(f.path)));
  checkpoint.release();
  await reopened.close();
  const rewritten = decodeManifest(readFileSync(path), path);
  assert.equal(
    rewritten.files.map((f) => f.checksum),
    current.files.map((f) => f.checksum),
  );
  // And a manifest of an unknown version is refused, naming the version.
  const future = readFileSync(path);
  future.writeUInt32LE(3, 8);
  assert.throws(() => decodeManifest(future, path), /unsupported version 3/);
});

test('an SstWriter whose blocks are taken as they fill writes exactly the bytes of a one-shot finish()', () => {
  const oneShot = new SstWriter({ blockBytes: 128 });
  const streamed = new SstWriter({ blockBytes: 128 });
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 2000; i++) {
    oneShot.add(key(i), enc(`v${i}`));
    streamed.add(key(i), enc(`v${i}`));
    if (i % 37 === 0) parts.push(...streamed.takeChunks());
  }
  const whole = oneShot.finish();
  assert.ok(parts.length > 10, 'blocks were handed out before finish');
  parts.push(streamed.finish());
  assert.ok(Buffer.concat(parts).equals(Buffer.from(whole)));
});

test('SstReader.open reads only tail, footer, index and filter; a get reads one block, then serves it from the cache', () => {
  const writer = new SstWriter({ blockBytes: 512 });
  for (let i = 0; i < 5000; i++) writer.add(key(i), enc(`value-${i}-${'v'.repeat(30)}`));
  const file = writer.finish();
  const reads: Array<[number, number]> = [];
  let closed = 0;
  const source: SstSource = {
    byteLength: file.byteLength,
    read: (offset, length) => {
      reads.push([offset, length]);
      return file.slice(offset, offset + length);
    },
    close: () => closed++,
  };
  const reader = SstReader.open(source, 'counted.sst', { blockCache: new LruBlockCache(1 << 20) });
  const readAtOpen = reads.reduce((sum, [, length]) => sum + length, 0);
  assert.ok(readAtOpen < file.byteLength / 5, `open read ${readAtOpen} of ${file.byteLength} bytes`);
  assert.ok(reads.every(([offset]) => offset >= reader.byteLength - readAtOpen), 'open reads only the end of the file');
  reads.length = 0;
  for (let i = 0; i < 2; i++) {
    const got = reader.get(key(2500));
    assert.ok(got.found && got.value !== null && dec(got.value) === `value-2500-${'v'.repeat(30)}`);
  }
  assert.is(reads.length, 1, 'one block read for two gets of one key');
  // An iterator holds the source open past the owner's close.
  const iterator = reader.entries(key(10));
  reader.close();
  assert.is(closed, 0);
  assert.is(dec(iterator.next().value![0]), dec(key(10)));
  iterator.return!();
  assert.is(closed, 1, 'closed once the last reference went');
});

/** The version-1 manifest layout (no per-file checksum), as older trees wrote it. */
function encodeVersion1(nextFileNumber: number, files: ReturnType<typeof decodeManifest>['files']): Uint8Array {
  const out = new ByteWriter(1024);
  for (const c of 'WEIRMAN1') out.u8(c.charCodeAt(0));
  out.u32(1);
  out.u32(0);
  out.varint(nextFileNumber);
  out.varint(files.length);
  for (const f of files) {
    out.varint(f.level);
    out.varint(f.fileNumber);
    out.varint(f.byteLength);
    out.varint(f.smallest.byteLength);
    out.append(f.smallest);
    out.varint(f.largest.byteLength);
    out.append(f.largest);
  }
  const bodyLength = out.length - 16;
  out.u64(0);
  const bytes = out.bytes().slice();
  const view = new DataView(bytes.buffer);
  view.setUint32(12, bodyLength, true);
  view.setBigUint64(16 + bodyLength, checksum64(bytes.subarray(0, 16 + bodyLength)), true);
  return bytes;
}

test('encodeManifest writes version 2 with each file\'s checksum', () => {
  const bytes = encodeManifest({ nextFileNumber: 2, files: [{ level: 0, fileNumber: 1, byteLength: 10, smallest: enc('a'), largest: enc('b'), checksum: '0123456789abcdef' }] });
  assert.is(new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true), 2);
  assert.is(decodeManifest(bytes, 'm').files[0]!.checksum, '0123456789abcdef');
});

test.run();
