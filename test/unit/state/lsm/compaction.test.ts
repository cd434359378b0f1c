import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SliceTimer, pickCompaction, runCompaction, type CompactionPolicy, type TableBuilder } from '../../../../src/state/lsm/compaction.ts';
import { SstReader, SstWriter } from '../../../../src/state/lsm/sst-format.ts';
import { Version, type SstHandle } from '../../../../src/state/lsm/version.ts';
import { loadChecksum } from '../../../../src/storage/state-file.ts';

test.before(async () => {
  await loadChecksum();
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
let nextNumber = 1;

/** An in-memory SST handle of `entries` ("key=value", or "key" alone for a tombstone). */
function table(level: number, entries: string[]): SstHandle {
  const writer = new SstWriter();
  for (const e of entries) {
    const [k, v] = e.split('=');
    writer.add(enc(k!), v === undefined ? null : enc(v));
  }
  const bytes = writer.finish();
  const fileNumber = nextNumber++;
  const reader = SstReader.open(bytes, `${fileNumber}.sst`);
  return { level, fileNumber, byteLength: bytes.byteLength, smallest: reader.smallestKey, largest: reader.largestKey, name: reader.name, reader, checksum: '0'.repeat(16) };
}

/** A TableBuilder that keeps the table in memory and records its entries in `out`. */
function memoryTable(level: number, out: string[]): TableBuilder {
  const writer = new SstWriter();
  return {
    add: (key, value) => writer.add(key, value),
    get fileBytes() {
      return writer.dataBytes;
    },
    bufferedBytes: 0,
    writeBuffered: async () => {},
    finish: async () => {
      const bytes = writer.finish();
      const reader = SstReader.open(bytes, `out-${nextNumber}.sst`);
      for (const [k, v] of reader.entries()) out.push(v === null ? dec(k) : `${dec(k)}=${dec(v)}`);
      return { level, fileNumber: nextNumber++, byteLength: bytes.byteLength, smallest: reader.smallestKey, largest: reader.largestKey, name: reader.name, reader, checksum: '0'.repeat(16) };
    },
    discard: async () => {},
  };
}

const policy: CompactionPolicy = { l0CompactionTrigger: 2, baseLevelBytes: 1 << 30, levelSizeMultiplier: 10 };

async function run(version: Version): Promise<{ entries: string[]; plan: ReturnType<typeof pickCompaction> }> {
  const plan = pickCompaction(version, policy, []);
  if (plan === undefined) return { entries: [], plan };
  const out: string[] = [];
  await runCompaction(plan, {
    targetFileBytes: 1 << 20,
    createTable: async (level) => memoryTable(level, out),
    checkContinue: () => {},
    timer: new SliceTimer(() => {}),
  });
  return { entries: out, plan };
}

test('no compaction is picked while every level is within its budget', () => {
  assert.is(pickCompaction(Version.of([table(0, ['a=1'])]), policy, []), undefined);
});

test('L0 → L1 takes every L0 file and the overlapping L1 files; newest wins; tombstones dropped at the bottom', async () => {
  const older = table(0, ['a=old', 'b=old', 'c=old']);
  const newer = table(0, ['a=new', 'b']);
  const l1 = table(1, ['c=l1', 'd=l1']);
  const apart = table(1, ['x=l1']);
  const { entries, plan } = await run(Version.of([older, newer, l1, apart]));
  assert.is(plan!.level, 0);
  assert.equal(plan!.inputs.map((f) => f.fileNumber), [newer.fileNumber, older.fileNumber], 'L0 inputs newest first');
  assert.equal(plan!.overlaps.map((f) => f.fileNumber), [l1.fileNumber], 'only the overlapping L1 file');
  assert.ok(plan!.bottommost);
  assert.equal(entries, ['a=new', 'c=old', 'd=l1']);
});

test('tombstones are kept when a deeper level holds a file meeting the range', async () => {
  const l0a = table(0, ['a=new', 'b']);
  const l0b = table(0, ['c=new']);
  const l2 = table(2, ['b=deep']);
  const { entries, plan } = await run(Version.of([l0a, l0b, l2]));
  assert.not.ok(plan!.bottommost);
  assert.equal(entries, ['a=new', 'b', 'c=new']);
});

test('a level over its byte budget compacts one file into the next level, round-robin', () => {
  const small: CompactionPolicy = { l0CompactionTrigger: 4, baseLevelBytes: 1, levelSizeMultiplier: 10 };
  const f1 = table(1, ['a=1', 'b=1']);
  const f2 = table(1, ['m=1', 'n=1']);
  const version = Version.of([f1, f2, table(2, ['n=2', 'z=2'])]);
  const first = pickCompaction(version, small, []);
  assert.is(first!.level, 1);
  assert.equal(first!.inputs.map((f) => f.fileNumber), [f1.fileNumber]);
  assert.equal(first!.overlaps, []);
  const second = pickCompaction(version, small, [undefined, f1.largest]);
  assert.equal(second!.inputs.map((f) => f.fileNumber), [f2.fileNumber]);
  assert.is(second!.overlaps.length, 1);
});

test.run();
