import { test } from 'uvu';
import * as assert from 'uvu/assert';
import xxhash from 'xxhash-wasm';
import { BloomFilter, bloomHash, probeCount, xxh32 } from '../../../../src/state/lsm/bloom-filter.ts';
import { WeirError } from '../../../../src/errors.ts';

let h32Raw: (input: Uint8Array, seed?: number) => number;

test.before(async () => {
  h32Raw = (await xxhash()).h32Raw;
});

/** Key i as 8 big-endian bytes with a fixed 4-byte prefix, like key-group-prefixed state keys. */
function key(i: number, tag = 0x01): Uint8Array {
  const k = new Uint8Array(12);
  k[0] = 0x00;
  k[1] = tag;
  k[2] = 0xff;
  k[3] = 0x07;
  new DataView(k.buffer).setBigUint64(4, BigInt(i), false);
  return k;
}

function keys(from: number, count: number, tag = 0x01): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => key(from + i, tag));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof WeirError ? error.code : `non-Weir: ${String(error)}`;
  }
  return undefined;
}

test('the probe count is round(bitsPerKey · ln 2), clamped to [1, 30]', () => {
  assert.is(probeCount(10), 7);
  assert.is(probeCount(5), 3);
  assert.is(probeCount(1), 1);
  assert.is(probeCount(0.2), 1);
  assert.is(probeCount(64), 30);
});

test('xxh32 is bit-for-bit xxhash-wasm h32Raw for every length from 0 to 100 bytes', () => {
  let seed = 12345;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  for (let length = 0; length <= 100; length++) {
    for (let trial = 0; trial < 5; trial++) {
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) bytes[i] = trial === 0 ? 0xff : next() & 0xff;
      assert.is(xxh32(bytes), h32Raw(bytes) >>> 0, `length ${length}, trial ${trial}`);
    }
  }
});

test('bloomHash is deterministic and differs between keys', () => {
  assert.is(bloomHash(key(42)), bloomHash(key(42)));
  assert.is.not(bloomHash(key(43)), bloomHash(key(42)));
});

test('a filter never excludes a key it was built from (100 k keys)', () => {
  const present = keys(0, 100_000);
  const filter = BloomFilter.fromKeys(present, 10);
  let missed = 0;
  for (const k of present) if (!filter.mayContain(k)) missed++;
  assert.is(missed, 0);
});

test('10 bits per key gives a false-positive rate near theory (≈ 0.82 %) on 100 k absent keys', () => {
  const filter = BloomFilter.fromKeys(keys(0, 100_000), 10);
  assert.is(filter.probeCount, 7);
  assert.is(filter.bitCount, 1_000_000);
  let positives = 0;
  const absent = 100_000;
  for (let i = 0; i < absent; i++) if (filter.mayContain(key(i, 0x02))) positives++;
  const rate = positives / absent;
  // Theory: (1 − e^(−k·n/m))^k = (1 − e^(−0.7))^7 ≈ 0.0082.
  assert.ok(rate < 0.02, `false-positive rate ${rate} should be below 2 %`);
  assert.ok(rate > 0.002, `false-positive rate ${rate} is implausibly low: the filter is probably not probing`);
});

test('fewer bits per key give more false positives', () => {
  const present = keys(0, 20_000);
  const rate = (bitsPerKey: number): number => {
    const f = BloomFilter.fromKeys(present, bitsPerKey);
    let positives = 0;
    for (let i = 0; i < 20_000; i++) if (f.mayContain(key(i, 0x03))) positives++;
    return positives / 20_000;
  };
  const r4 = rate(4);
  const r10 = rate(10);
  assert.ok(r4 > r10 * 3, `4 bits/key (${r4}) should be far worse than 10 bits/key (${r10})`);
  assert.ok(r4 > 0.09 && r4 < 0.25, `4 bits/key rate ${r4} should be near theory (≈ 0.147)`);
});

test('serialize then deserialize answers exactly as the original', () => {
  const filter = BloomFilter.fromKeys(keys(0, 5_000), 10);
  const bytes = filter.serialize();
  assert.is(bytes.byteLength, 5 + filter.bitCount / 8);
  const copy = BloomFilter.deserialize(bytes);
  assert.is(copy.bitCount, filter.bitCount);
  assert.is(copy.probeCount, filter.probeCount);
  for (let i = 0; i < 20_000; i++) {
    const k = key(i, i % 2 === 0 ? 0x01 : 0x04);
    assert.is(copy.mayContain(k), filter.mayContain(k));
  }
  assert.equal(copy.serialize(), bytes);
});

test('mayContainHash agrees with mayContain', () => {
  const filter = BloomFilter.fromKeys(keys(0, 1_000), 10);
  for (let i = 0; i < 3_000; i++) assert.is(filter.mayContainHash(bloomHash(key(i))), filter.mayContain(key(i)));
});

test('a filter of 0 bits per key, or of no keys, excludes nothing', () => {
  const none = BloomFilter.fromKeys(keys(0, 100), 0);
  assert.is(none.bitCount, 0);
  assert.ok(none.mayContain(key(999_999, 0x09)));
  const empty = BloomFilter.fromKeys([], 10);
  assert.ok(empty.mayContain(key(1)));
  assert.ok(BloomFilter.deserialize(empty.serialize()).mayContain(key(1)));
});

test('a tiny set still gets at least 64 bits', () => {
  const f = BloomFilter.fromKeys([key(1)], 10);
  assert.is(f.bitCount, 64);
  assert.ok(f.mayContain(key(1)));
});

test('invalid bits per key fail with WEIR_INVALID_ARGUMENT', () => {
  assert.is(codeOf(() => BloomFilter.fromKeys([], -1)), 'WEIR_INVALID_ARGUMENT');
  assert.is(codeOf(() => BloomFilter.fromKeys([], Number.NaN)), 'WEIR_INVALID_ARGUMENT');
  assert.is(codeOf(() => BloomFilter.fromKeys([], 65)), 'WEIR_INVALID_ARGUMENT');
});

test('deserialize rejects bytes whose shape is inconsistent with WEIR_CHECKPOINT_CORRUPT', () => {
  const bytes = BloomFilter.fromKeys(keys(0, 100), 10).serialize();
  assert.is(codeOf(() => BloomFilter.deserialize(bytes.subarray(0, 3))), 'WEIR_CHECKPOINT_CORRUPT');
  assert.is(codeOf(() => BloomFilter.deserialize(bytes.subarray(0, bytes.byteLength - 1))), 'WEIR_CHECKPOINT_CORRUPT');
  const badK = bytes.slice();
  badK[4] = 0;
  assert.is(codeOf(() => BloomFilter.deserialize(badK)), 'WEIR_CHECKPOINT_CORRUPT');
  const badCount = bytes.slice();
  badCount[0] = badCount[0]! ^ 0x08;
  assert.is(codeOf(() => BloomFilter.deserialize(badCount)), 'WEIR_CHECKPOINT_CORRUPT');
});

test.run();
