import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../../src/errors.ts';
import { LruBlockCache } from '../../../../src/state/lsm/block-cache.ts';
import { SstReader, SstWriter, compareKeys } from '../../../../src/state/lsm/sst-format.ts';
import { loadChecksum } from '../../../../src/storage/state-file.ts';

test.before(async () => {
  await loadChecksum();
});

type Entry = [Uint8Array, Uint8Array | null];

/** Deterministic xorshift PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

function randomBytes(next: () => number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = next() & 0xff;
  return b;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const u8 = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

function sortUnique(entries: Entry[]): Entry[] {
  entries.sort((a, b) => compareKeys(a[0], b[0]));
  return entries.filter((e, i) => i === 0 || compareKeys(entries[i - 1]![0], e[0]) !== 0);
}

/** A varied table: binary keys with 0x00/0xff, long shared prefixes, empty values, tombstones. */
function mixedEntries(count: number, seed = 7): Entry[] {
  const next = prng(seed);
  const longPrefix = new Uint8Array(300).fill(0xab);
  const out: Entry[] = [];
  for (let i = 0; i < count; i++) {
    let key: Uint8Array;
    switch (i % 5) {
      case 0:
        key = randomBytes(next, 1 + (next() % 24));
        break;
      case 1:
        key = Uint8Array.from([0x00, 0x00, ...randomBytes(next, 1 + (next() % 6)), 0x00]);
        break;
      case 2:
        key = Uint8Array.from([0xff, 0xff, ...randomBytes(next, 1 + (next() % 6)), 0xff]);
        break;
      case 3:
        key = Uint8Array.from([...longPrefix, ...randomBytes(next, 1 + (next() % 4))]);
        break;
      default:
        key = enc(`user:${String(next() % 1_000_000).padStart(7, '0')}`);
    }
    const kind = next() % 10;
    const value = kind === 0 ? null : kind === 1 ? new Uint8Array(0) : kind < 6 ? enc(`value-${i}-`.repeat(1 + (next() % 8))) : randomBytes(next, next() % 200);
    out.push([key, value]);
  }
  return sortUnique(out);
}

function build(entries: readonly Entry[], options?: { blockBytes?: number; bloomBitsPerKey?: number }): Uint8Array {
  const writer = new SstWriter(options);
  for (const [k, v] of entries) writer.add(k, v);
  assert.is(writer.entryCount, entries.length);
  return writer.finish();
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof WeirError ? error.code : `non-Weir: ${String(error)}`;
  }
  return undefined;
}

function errorOf(fn: () => unknown): WeirError | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof WeirError) return error;
    throw error;
  }
  return undefined;
}

function assertSameEntries(actual: Entry[], expected: readonly Entry[]): void {
  assert.is(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(actual[i]![0], expected[i]![0], `key ${i}`);
    assert.equal(actual[i]![1], expected[i]![1], `value ${i}`);
  }
}

/** A key strictly between a and b (a < b), or undefined if none is cheap to make. */
function keyAfter(a: Uint8Array): Uint8Array {
  return Uint8Array.from([...a, 0x00]);
}

/** Offset where the index starts, read from the footer as drawn in sst-format.ts. */
function indexOffsetOf(file: Uint8Array): number {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const tail = file.byteLength - 24;
  const footerOffset = tail - view.getUint32(tail, true);
  return Number(view.getBigUint64(footerOffset, true));
}

// ── round trips ──────────────────────────────────────────────────────────────────────────────

test('many mixed entries round trip through get and entries, across many blocks', () => {
  const entries = mixedEntries(5_000);
  assert.ok(entries.some(([, v]) => v === null) && entries.some(([, v]) => v !== null && v.byteLength === 0));
  const file = build(entries, { blockBytes: 1024 });
  const reader = SstReader.open(file, 'mixed.sst');
  assert.is(reader.entryCount, entries.length);
  assert.ok(reader.blockCount > 50, `expected many blocks, got ${reader.blockCount}`);
  assert.equal(reader.smallestKey, entries[0]![0]);
  assert.equal(reader.largestKey, entries[entries.length - 1]![0]);
  for (const [k, v] of entries) {
    const got = reader.get(k);
    assert.ok(got.found, 'present key must be found');
    if (got.found) assert.equal(got.value, v);
  }
  assertSameEntries([...reader.entries()], entries);
});

test('default options round trip 20 k small entries', () => {
  const entries: Entry[] = [];
  for (let i = 0; i < 20_000; i++) entries.push([enc(`k${String(i).padStart(8, '0')}`), enc(`v${i}`)]);
  const reader = SstReader.open(build(entries), 'default.sst');
  assertSameEntries([...reader.entries()], entries);
  const got = reader.get(enc('k00012345'));
  assert.ok(got.found && got.value !== null && new TextDecoder().decode(got.value) === 'v12345');
});

test('a tombstone is found with value null, distinct from an absent key', () => {
  const reader = SstReader.open(build([[enc('a'), enc('1')], [enc('b'), null], [enc('c'), new Uint8Array(0)]]), 't.sst');
  assert.equal(reader.get(enc('b')), { found: true, value: null });
  assert.equal(reader.get(enc('c')), { found: true, value: new Uint8Array(0) });
  assert.equal(reader.get(enc('bb')), { found: false });
  assert.equal([...reader.entries()].map(([, v]) => v), [enc('1'), null, new Uint8Array(0)]);
});

test('a single entry table round trips, the empty key included', () => {
  for (const key of [new Uint8Array(0), u8(0x00), u8(0xff, 0xff), enc('only')]) {
    const reader = SstReader.open(build([[key, enc('x')]]), 'one.sst');
    assert.is(reader.entryCount, 1);
    assert.is(reader.blockCount, 1);
    assert.equal(reader.smallestKey, key);
    assert.equal(reader.largestKey, key);
    assert.equal(reader.get(key), { found: true, value: enc('x') });
    assert.equal(reader.get(keyAfter(key)), { found: false });
    assert.equal([...reader.entries()], [[key, enc('x')]]);
  }
});

test('an empty table is an error: finish() without entries throws WEIR_INVALID_ARGUMENT', () => {
  const writer = new SstWriter();
  assert.is(writer.entryCount, 0);
  assert.is(codeOf(() => writer.finish()), 'WEIR_INVALID_ARGUMENT');
});

test('keys sharing a long prefix and keys longer than the key scratch buffer round trip', () => {
  const prefix = new Uint8Array(5_000).fill(0x41);
  const entries: Entry[] = [];
  for (let i = 0; i < 200; i++) entries.push([Uint8Array.from([...prefix, i >> 8, i & 0xff]), u8(i & 0xff)]);
  entries.push([new Uint8Array(70_000).fill(0x42), enc('long key')]);
  const file = build(entries, { blockBytes: 4096 });
  // Prefix compression and LZ4 (data and index): 200 keys of 5 KB and one of 70 KB (twice
  // uncompressed in the footer) cost far less than their 1.2 MB.
  assert.ok(file.byteLength < 200_000, `file is ${file.byteLength} bytes`);
  const reader = SstReader.open(file, 'prefix.sst');
  for (const [k, v] of entries) assert.equal(reader.get(k), { found: true, value: v });
  assertSameEntries([...reader.entries()], entries);
  assert.equal(reader.get(prefix), { found: false });
});

test('a value larger than the block size gets a block of its own', () => {
  const next = prng(3);
  const big = randomBytes(next, 50_000);
  const entries: Entry[] = [[enc('a'), enc('small')], [enc('b'), big], [enc('c'), enc('after')]];
  const reader = SstReader.open(build(entries, { blockBytes: 256 }), 'big.sst');
  assert.equal(reader.get(enc('b')), { found: true, value: big });
  assertSameEntries([...reader.entries()], entries);
});

// ── absent keys ──────────────────────────────────────────────────────────────────────────────

test('get of absent keys below, between and above the range is not found', () => {
  const entries: Entry[] = [];
  for (let i = 10; i < 3_000; i += 2) entries.push([u8(0x10, i >> 8, i & 0xff), u8(i & 0xff)]);
  const reader = SstReader.open(build(entries, { blockBytes: 128 }), 'gaps.sst');
  const absent = [new Uint8Array(0), u8(0x00), u8(0x10), u8(0x10, 0, 9), u8(0x10, 0, 11), u8(0x10, 0, 10, 0), u8(0x10, 11, 0xb7), u8(0x10, 0xff, 0xff), u8(0x11), u8(0xff, 0xff, 0xff)];
  for (let i = 11; i < 3_000; i += 2) absent.push(u8(0x10, i >> 8, i & 0xff));
  for (const k of absent) assert.equal(reader.get(k), { found: false }, `key ${Array.from(k)}`);
  assert.not.ok(reader.mayContain(u8(0x00)));
  assert.not.ok(reader.mayContain(u8(0x11)));
});

test('the bloom filter lets most absent in-range keys skip the data blocks', () => {
  const entries: Entry[] = [];
  for (let i = 0; i < 10_000; i++) entries.push([enc(`key:${String(i * 2).padStart(8, '0')}`), enc('v')]);
  const reader = SstReader.open(build(entries), 'bloom.sst');
  let maybe = 0;
  for (let i = 0; i < 10_000; i++) if (reader.mayContain(enc(`key:${String(i * 2 + 1).padStart(8, '0')}`))) maybe++;
  assert.ok(maybe < 300, `${maybe} of 10 000 absent keys passed the filter`);
  const noFilter = SstReader.open(build(entries, { bloomBitsPerKey: 0 }), 'nobloom.sst');
  assert.ok(noFilter.mayContain(enc('key:00000001')));
  assert.equal(noFilter.get(enc('key:00000001')), { found: false });
});

// ── range iteration ──────────────────────────────────────────────────────────────────────────

test('entries(from, to) yields exactly the keys in [from, to), for random and edge bounds', () => {
  const entries = mixedEntries(2_000, 11);
  const reader = SstReader.open(build(entries, { blockBytes: 512 }), 'range.sst');
  const expected = (from?: Uint8Array, to?: Uint8Array): Entry[] =>
    entries.filter(([k]) => (from === undefined || compareKeys(k, from) >= 0) && (to === undefined || compareKeys(k, to) < 0));
  const next = prng(99);
  const bounds: Uint8Array[] = [new Uint8Array(0), u8(0x00), u8(0xff, 0xff, 0xff, 0xff), entries[0]![0], entries[entries.length - 1]![0]];
  for (let i = 0; i < 40; i++) {
    const k = entries[next() % entries.length]![0];
    bounds.push(k, keyAfter(k), randomBytes(next, 1 + (next() % 4)));
  }
  for (let i = 0; i < 150; i++) {
    const from = next() % 5 === 0 ? undefined : bounds[next() % bounds.length];
    const to = next() % 5 === 0 ? undefined : bounds[next() % bounds.length];
    assertSameEntries([...reader.entries(from, to)], expected(from, to));
  }
  assert.equal([...reader.entries(entries[5]![0], entries[5]![0])], []);
  assert.equal([...reader.entries(entries[9]![0], entries[3]![0])], []);
  assertSameEntries([...reader.entries(entries[5]![0], keyAfter(entries[5]![0]))], [entries[5]!]);
});

test('interleaved iterators and gets do not disturb each other', () => {
  const entries = mixedEntries(1_000, 5);
  const reader = SstReader.open(build(entries, { blockBytes: 256 }), 'interleave.sst');
  const a = reader.entries();
  const b = reader.entries(entries[500]![0]);
  for (let i = 0; i < 400; i++) {
    const ea = a.next().value as Entry;
    const eb = b.next().value as Entry;
    assert.equal(ea, entries[i]);
    assert.equal(eb, entries[500 + i]);
    const probe = entries[(i * 7) % entries.length]!;
    assert.equal(reader.get(probe[0]), { found: true, value: probe[1] });
  }
});

// ── writer validation ────────────────────────────────────────────────────────────────────────

test('keys that are not strictly ascending fail with WEIR_INVALID_ARGUMENT', () => {
  const writer = new SstWriter({ blockBytes: 64 });
  writer.add(u8(1, 2), u8(1));
  const equal = errorOf(() => writer.add(u8(1, 2), u8(2)));
  assert.is(equal?.code, 'WEIR_INVALID_ARGUMENT');
  assert.match(equal!.message, /strictly ascending/);
  assert.is(codeOf(() => writer.add(u8(1), u8(2))), 'WEIR_INVALID_ARGUMENT');
  assert.is(codeOf(() => writer.add(u8(1, 1, 0xff), u8(2))), 'WEIR_INVALID_ARGUMENT');
  // Across a block boundary (blockBytes 64 cuts after a big entry), too.
  writer.add(u8(1, 3), new Uint8Array(100));
  assert.is(codeOf(() => writer.add(u8(1, 2, 0), u8(2))), 'WEIR_INVALID_ARGUMENT');
  writer.add(u8(1, 3, 0), u8(3));
  assert.is(writer.entryCount, 3);
  const reader = SstReader.open(writer.finish(), 'order.sst');
  assert.equal([...reader.entries()].map(([k]) => Array.from(k)), [[1, 2], [1, 3], [1, 3, 0]]);
});

test('compareKeys orders unsigned bytes, a prefix before its extensions', () => {
  assert.ok(compareKeys(u8(0x7f), u8(0x80)) < 0);
  assert.ok(compareKeys(u8(0xff), u8(0x00, 0x00)) > 0);
  assert.ok(compareKeys(new Uint8Array(0), u8(0x00)) < 0);
  assert.ok(compareKeys(u8(1, 2), u8(1, 2, 0)) < 0);
  assert.is(compareKeys(u8(1, 2, 3), u8(1, 2, 3)), 0);
});

test('bad options, bad arguments and use after finish fail with WEIR_INVALID_ARGUMENT', () => {
  for (const options of [{ blockBytes: 0 }, { blockBytes: 10.5 }, { blockBytes: 2 ** 30 }, { bloomBitsPerKey: -1 }, { bloomBitsPerKey: Number.NaN }]) {
    assert.is(codeOf(() => new SstWriter(options)), 'WEIR_INVALID_ARGUMENT', JSON.stringify(options));
  }
  const writer = new SstWriter();
  assert.is(codeOf(() => writer.add('a' as unknown as Uint8Array, null)), 'WEIR_INVALID_ARGUMENT');
  assert.is(codeOf(() => writer.add(u8(1), 'v' as unknown as Uint8Array)), 'WEIR_INVALID_ARGUMENT');
  writer.add(u8(1), null);
  const file = writer.finish();
  assert.is(codeOf(() => writer.add(u8(2), null)), 'WEIR_INVALID_ARGUMENT');
  assert.is(codeOf(() => writer.finish()), 'WEIR_INVALID_ARGUMENT');
  const reader = SstReader.open(file, 'args.sst');
  assert.is(codeOf(() => reader.get('a' as unknown as Uint8Array)), 'WEIR_INVALID_ARGUMENT');
  assert.is(codeOf(() => [...reader.entries('a' as unknown as Uint8Array)]), 'WEIR_INVALID_ARGUMENT');
});

test('the writer copies keys and values: mutating them after add does not change the file', () => {
  const key = enc('key-1');
  const value = enc('value');
  const writer = new SstWriter();
  writer.add(key, value);
  key.fill(0);
  value.fill(0);
  writer.add(enc('key-2'), enc('v2'));
  const reader = SstReader.open(writer.finish(), 'copy.sst');
  assert.equal(reader.get(enc('key-1')), { found: true, value: enc('value') });
  assert.equal(reader.smallestKey, enc('key-1'));
});

// ── compression ──────────────────────────────────────────────────────────────────────────────

test('compressible blocks are stored LZ4-compressed and incompressible ones raw', () => {
  const next = prng(17);
  const random: Entry[] = [];
  const repetitive: Entry[] = [];
  for (let i = 0; i < 50; i++) {
    const key = u8(i);
    random.push([key, randomBytes(next, 1000)]);
    repetitive.push([key, new Uint8Array(1000).fill(0x61 + (i % 3))]);
  }
  const rawFile = build(random, { blockBytes: 1 << 20 });
  const lz4File = build(repetitive, { blockBytes: 1 << 20 });
  // One data block each; its last stored byte is the compression flag.
  assert.is(rawFile[indexOffsetOf(rawFile) - 1], 0, 'random values must be stored raw');
  assert.is(lz4File[indexOffsetOf(lz4File) - 1], 1, 'repetitive values must be LZ4-compressed');
  // Body: 50 × (4 header + 1 key + 1000 value bytes), 4 restarts, the restart count; then the flag.
  assert.is(indexOffsetOf(rawFile), 50 * (4 + 1 + 1000) + 4 * 4 + 4 + 1, 'a raw block is its body plus the flag');
  assert.ok(lz4File.byteLength < 5_000, `compressible table is ${lz4File.byteLength} bytes`);
  assertSameEntries([...SstReader.open(rawFile, 'raw.sst').entries()], random);
  assertSameEntries([...SstReader.open(lz4File, 'lz4.sst').entries()], repetitive);
});

// ── block cache ──────────────────────────────────────────────────────────────────────────────

test('with a block cache, repeated reads hit it and return the same, unshared values', () => {
  const entries = mixedEntries(1_000, 23);
  const cache = new LruBlockCache(1 << 20);
  const reader = SstReader.open(build(entries, { blockBytes: 512 }), '42.sst', { blockCache: cache });
  for (const [k, v] of entries) assert.equal(reader.get(k), { found: true, value: v });
  const missesAfterFirstPass = cache.misses;
  assert.is(missesAfterFirstPass, reader.blockCount);
  for (const [k, v] of entries) {
    const got = reader.get(k);
    assert.equal(got, { found: true, value: v });
    if (got.found && got.value !== null) got.value.fill(0xee); // must not reach the cached block
  }
  assert.is(cache.misses, missesAfterFirstPass);
  assert.ok(cache.hits >= entries.length);
  assertSameEntries([...reader.entries()], entries);
  assert.ok(cache.get('42.sst#0') !== undefined, 'block ids are <name>#<offset>');
});

// ── corruption ───────────────────────────────────────────────────────────────────────────────

/** Every byte is checked on open (footer, index, filter) or when its data block is read. */
function readEverything(reader: SstReader, entries: readonly Entry[]): void {
  for (const [k, v] of entries) {
    const got = reader.get(k);
    // A get may only fail loudly; it must never answer with a wrong value.
    assert.equal(got, { found: true, value: v });
  }
  assertSameEntries([...reader.entries()], entries);
}

function smallCorpus(): { entries: Entry[]; file: Uint8Array } {
  const entries: Entry[] = [];
  for (let i = 0; i < 40; i++) {
    const value = i % 7 === 0 ? null : i % 3 === 0 ? enc('r'.repeat(60)) : enc(`v${i}`);
    entries.push([Uint8Array.from([0x00, 0xff, i, ...enc('k')]), value]);
  }
  const file = build(entries, { blockBytes: 128 });
  return { entries, file };
}

test('every flipped byte of a small SST file is detected on open or on read, never a wrong answer', () => {
  const { entries, file } = smallCorpus();
  const reader = SstReader.open(file, 'ok.sst');
  assert.ok(reader.blockCount >= 4, `want several blocks, got ${reader.blockCount}`);
  readEverything(reader, entries);
  let onOpen = 0;
  let onRead = 0;
  for (let position = 0; position < file.byteLength; position++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bad = file.slice();
      bad[position] = bad[position]! ^ mask;
      const name = `flip-${position}.sst`;
      let opened: SstReader;
      try {
        opened = SstReader.open(bad, name);
      } catch (error) {
        assert.instance(error, WeirError);
        assert.is((error as WeirError).code, 'WEIR_CHECKPOINT_CORRUPT');
        assert.ok((error as WeirError).message.includes(name), (error as WeirError).message);
        onOpen++;
        continue;
      }
      // Only data block bytes get here: every get of an undamaged block is still right, and
      // reading the damaged block fails with WEIR_CHECKPOINT_CORRUPT naming the file and block.
      let detected = false;
      for (const [k, v] of entries) {
        const error = errorOf(() => assert.equal(opened.get(k), { found: true, value: v }));
        if (error !== undefined) {
          assert.is(error.code, 'WEIR_CHECKPOINT_CORRUPT');
          assert.match(error.message, new RegExp(`${name}.*data block \\d+`));
          detected = true;
        }
      }
      const iterationError = errorOf(() => assertSameEntries([...opened.entries()], entries));
      assert.ok(detected && iterationError?.code === 'WEIR_CHECKPOINT_CORRUPT', `flip of byte ${position} by ${mask} went unnoticed`);
      onRead++;
    }
  }
  assert.is(onOpen + onRead, file.byteLength * 3);
  console.log(`  ${file.byteLength}-byte file, ${reader.blockCount} blocks: ${onOpen} flips caught on open, ${onRead} on read`);
  assert.ok(onOpen > 0 && onRead > 0);
});

test('every truncation of a small SST file fails on open with WEIR_CHECKPOINT_CORRUPT', () => {
  const { file } = smallCorpus();
  for (let length = 0; length < file.byteLength; length++) {
    const error = errorOf(() => SstReader.open(file.subarray(0, length), 'cut.sst'));
    assert.is(error?.code, 'WEIR_CHECKPOINT_CORRUPT', `truncation to ${length} bytes`);
    assert.match(error!.message, /cut\.sst/);
  }
});

test('a file given as a Node Buffer hands out plain, unshared copies', () => {
  const { entries, file } = smallCorpus();
  const cache = new LruBlockCache(1 << 20);
  const reader = SstReader.open(Buffer.from(file), 'buffer.sst', { blockCache: cache });
  const [key, value] = entries[1]!;
  const got = reader.get(key);
  assert.ok(got.found && got.value !== null);
  if (got.found && got.value !== null) {
    assert.not.ok(Buffer.isBuffer(got.value));
    got.value.fill(0);
  }
  reader.smallestKey.fill(0xaa);
  assert.equal(reader.get(key), { found: true, value });
  readEverything(reader, entries);
});

test('a file with bytes prepended or appended fails on open', () => {
  const { file } = smallCorpus();
  assert.is(codeOf(() => SstReader.open(Uint8Array.from([0, ...file]), 'pre.sst')), 'WEIR_CHECKPOINT_CORRUPT');
  assert.is(codeOf(() => SstReader.open(Uint8Array.from([...file, 0]), 'post.sst')), 'WEIR_CHECKPOINT_CORRUPT');
  assert.is(codeOf(() => SstReader.open(new Uint8Array(1000), 'zeros.sst')), 'WEIR_CHECKPOINT_CORRUPT');
});

test('a file opened from a view into a larger buffer reads correctly', () => {
  const { entries, file } = smallCorpus();
  const host = new Uint8Array(file.byteLength + 37);
  host.set(file, 13);
  readEverything(SstReader.open(host.subarray(13, 13 + file.byteLength), 'view.sst'), entries);
});

test.run();
