import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import {
  checksumHex,
  encodeKeyedStateFile,
  encodeKeyedStateFileSync,
  loadChecksum,
  readKeyGroupIndex,
  readKeyGroups,
  type KeyGroupBytes,
} from '../../../src/storage/state-file.ts';

function groupBytes(keyGroup: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (keyGroup * 7 + (i % 13) * 3 + (i >> 6)) & 0xff;
  return out;
}

const GROUPS: KeyGroupBytes[] = [5, 0, 3, 127, 64].map((keyGroup) => ({ keyGroup, bytes: groupBytes(keyGroup, keyGroup === 64 ? 20_000 : 300 + keyGroup) }));

function corruptCode(fn: () => unknown, mentions: string): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_CHECKPOINT_CORRUPT', (error as Error).message);
    assert.ok((error as Error).message.includes(mentions), `${(error as Error).message} should mention ${mentions}`);
    return;
  }
  assert.unreachable('expected WEIR_CHECKPOINT_CORRUPT');
}

test.before(loadChecksum);

test('key groups round-trip in ascending order whatever the input order', async () => {
  const file = await encodeKeyedStateFile(GROUPS);
  const read = readKeyGroups(file, () => true);
  assert.equal(read.map((g) => g.keyGroup), [0, 3, 5, 64, 127]);
  for (const g of read) assert.ok(Buffer.compare(g.bytes, groupBytes(g.keyGroup, g.keyGroup === 64 ? 20_000 : 300 + g.keyGroup)) === 0);
});

test('the sync encoder writes the same bytes as the async one', async () => {
  assert.ok(Buffer.compare(await encodeKeyedStateFile(GROUPS), encodeKeyedStateFileSync(GROUPS)) === 0);
});

test('the file starts and ends with the magic and compresses repetitive state', async () => {
  const file = await encodeKeyedStateFile(GROUPS);
  assert.is(Buffer.from(file.subarray(0, 8)).toString('latin1'), 'WEIRKS01');
  assert.is(Buffer.from(file.subarray(file.byteLength - 8)).toString('latin1'), 'WEIRKS01');
  assert.ok(file.byteLength < GROUPS.reduce((s, g) => s + g.bytes.byteLength, 0));
});

test('only the wanted key groups are returned, and others are not verified', async () => {
  const file = await encodeKeyedStateFile(GROUPS);
  const index = readKeyGroupIndex(file);
  const block127 = index.find((e) => e.keyGroup === 127)!;
  const damaged = file.slice();
  damaged[block127.offset + 5]! ^= 0xff;
  const read = readKeyGroups(damaged, (g) => g >= 3 && g <= 64);
  assert.equal(read.map((g) => g.keyGroup), [3, 5, 64]);
  corruptCode(() => readKeyGroups(damaged, (g) => g === 127), 'key group 127');
});

test('an empty file (no key groups) and empty key groups round-trip', async () => {
  assert.equal(readKeyGroups(await encodeKeyedStateFile([]), () => true), []);
  const read = readKeyGroups(await encodeKeyedStateFile([{ keyGroup: 9, bytes: new Uint8Array(0) }]), () => true);
  assert.is(read.length, 1);
  assert.is(read[0]!.bytes.byteLength, 0);
});

test('a flipped byte anywhere in the file is WEIR_CHECKPOINT_CORRUPT', async () => {
  const file = await encodeKeyedStateFile(GROUPS.filter((g) => g.keyGroup !== 64));
  for (let at = 0; at < file.byteLength; at++) {
    const damaged = file.slice();
    damaged[at]! ^= 0x01;
    corruptCode(() => readKeyGroups(damaged, () => true), '');
  }
});

test('corruption messages name the part: header, index, footer, truncation', async () => {
  const file = await encodeKeyedStateFile(GROUPS);
  const index = readKeyGroupIndex(file);
  const indexOffset = index.length > 0 ? file.byteLength - 32 - index.length * 24 : 0;
  const at = (i: number) => {
    const d = file.slice();
    d[i]! ^= 0x10;
    return d;
  };
  corruptCode(() => readKeyGroups(at(1), () => true), 'header');
  corruptCode(() => readKeyGroups(at(8), () => true), 'version');
  corruptCode(() => readKeyGroups(at(indexOffset + 2), () => true), 'index checksum');
  corruptCode(() => readKeyGroups(at(file.byteLength - 30), () => true), 'footer');
  corruptCode(() => readKeyGroups(file.subarray(0, file.byteLength - 1), () => true), 'footer');
  corruptCode(() => readKeyGroups(file.subarray(0, 20), () => true), 'truncated');
  const first = index[0]!;
  corruptCode(() => readKeyGroups(at(first.offset + 3), () => true), `key group ${first.keyGroup}`);
});

test('duplicate or invalid key groups are refused when encoding', async () => {
  for (const groups of [
    [{ keyGroup: 1, bytes: new Uint8Array(1) }, { keyGroup: 1, bytes: new Uint8Array(1) }],
    [{ keyGroup: -1, bytes: new Uint8Array(1) }],
    [{ keyGroup: 1.5, bytes: new Uint8Array(1) }],
  ]) {
    try {
      await encodeKeyedStateFile(groups);
      assert.unreachable('expected WEIR_INVALID_ARGUMENT');
    } catch (error) {
      assert.is((error as WeirError).code, 'WEIR_INVALID_ARGUMENT');
    }
  }
});

test('checksumHex is 16 lowercase hex digits and changes with the bytes', () => {
  const a = checksumHex(new Uint8Array([1, 2, 3]));
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.is.not(a, checksumHex(new Uint8Array([1, 2, 4])));
  assert.is(checksumHex(new Uint8Array(0)), 'ef46db3751d8e999'); // xxHash64 of "" with seed 0
});

test.run();
