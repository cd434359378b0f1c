import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../../src/errors.ts';
import { canonicalKey, type CanonicalKey } from '../../../../src/state/key-groups.ts';
import { compareKeys } from '../../../../src/state/lsm/sst-block.ts';
import {
  decodeKey,
  encodedKeyEnd,
  encodeKey,
  keyGroupOfStateKey,
  keyGroupRangeBounds,
  listElementKey,
  mapEntryKey,
  META_RANGE,
  prefixEnd,
  stateIdOfStateKey,
  stateKeyPrefix,
  stateMetaKey,
} from '../../../../src/state/lsm/state-key-codec.ts';

/** Keys that must all encode differently: types, 0x00 bytes, surrogates, composites. */
const KEYS: readonly CanonicalKey[] = [
  1,
  '1',
  1n,
  true,
  'true',
  false,
  0,
  '',
  1.5,
  -7,
  -1.5,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  -1n,
  0n,
  2n ** 64n,
  -(2n ** 64n),
  'a',
  'ab',
  'a\u0000',
  'a\u0000b',
  '\u0000',
  '\u0000\u0000',
  'a\u00ff',
  'ü-日本-🙂',
  '\uD800',
  '\uDC00x',
  '\uFFFD',
  'x\uD83D',
  canonicalKey('\u0000lead'),
  canonicalKey(['a', 1]),
  canonicalKey(['a', '1']),
  canonicalKey([['a'], 1]),
  canonicalKey({ id: 1 }),
  canonicalKey({ id: '1' }),
  canonicalKey([]),
  canonicalKey({}),
];

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const same = (a: unknown, b: unknown): boolean => Object.is(a, b) || (a === 0 && b === 0);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof WeirError ? error.code : String(error);
  }
  return undefined;
}

test('distinct keys never collide: 1, "1", 1n and true, strings with 0x00 bytes, lone surrogates and composites all encode differently', () => {
  const seen = new Map<string, CanonicalKey>();
  for (const key of KEYS) {
    const encoded = hex(encodeKey(key));
    assert.ok(!seen.has(encoded), `${String(key)} collides with ${String(seen.get(encoded))}`);
    seen.set(encoded, key);
  }
  assert.is(seen.size, KEYS.length);
});

test('every key decodes back to itself, of the same type, with the end of its encoding', () => {
  for (const key of KEYS) {
    const encoded = encodeKey(key);
    const padded = new Uint8Array([9, 9, ...encoded, 7]);
    const { key: decoded, end } = decodeKey(padded, 2);
    assert.is(typeof decoded, typeof key, `type of ${String(key)}`);
    assert.ok(Object.is(decoded, key), `${String(key)} decoded as ${String(decoded)}`);
    assert.is(end, 2 + encoded.length);
    assert.is(encodedKeyEnd(padded, 2), 2 + encoded.length);
  }
});

test('-0 encodes as 0 and every NaN as one NaN, as a Map keeps them', () => {
  assert.is(hex(encodeKey(-0)), hex(encodeKey(0)));
  const otherNaN = new Float64Array(new BigUint64Array([0x7ff8_0000_dead_beefn]).buffer)[0]!;
  assert.ok(Number.isNaN(otherNaN));
  assert.is(hex(encodeKey(otherNaN)), hex(encodeKey(Number.NaN)));
});

test('no key encoding is a proper prefix of another, so one state of one key is one byte range', () => {
  const encoded = KEYS.map(encodeKey);
  for (const [i, a] of encoded.entries()) {
    for (const [j, b] of encoded.entries()) {
      if (i === j || a.length >= b.length) continue;
      assert.ok(compareKeys(a, b.subarray(0, a.length)) !== 0, `${String(KEYS[i])} is a prefix of ${String(KEYS[j])}`);
    }
  }
  // And the scan range of a key holds its own entries and no other key's.
  for (const [i, key] of KEYS.entries()) {
    const prefix = stateKeyPrefix(5, 3, encodeKey(key));
    const end = prefixEnd(prefix);
    for (const [j, other] of KEYS.entries()) {
      const otherKey = mapEntryKey(stateKeyPrefix(5, 3, encodeKey(other)), encodeKey('user'));
      const inside = compareKeys(otherKey, prefix) >= 0 && compareKeys(otherKey, end) < 0;
      assert.is(inside, i === j, `entry of ${String(other)} in the range of ${String(key)}`);
    }
  }
});

test('numbers encode in numeric order, and strings in UTF-8 byte order with "a" < "a\\0" < "ab"', () => {
  const numbers = [Number.NEGATIVE_INFINITY, -Number.MAX_VALUE, -1e300, -7, -1.5, -Number.MIN_VALUE, 0, Number.MIN_VALUE, 1, 1.5, 2, 1e300, Number.POSITIVE_INFINITY];
  for (let i = 1; i < numbers.length; i++) {
    assert.ok(compareKeys(encodeKey(numbers[i - 1]!), encodeKey(numbers[i]!)) < 0, `${numbers[i - 1]} < ${numbers[i]}`);
  }
  const strings = ['', 'a', 'a\u0000', 'a\u0000b', 'a\u0001', 'ab', 'b'];
  for (let i = 1; i < strings.length; i++) {
    assert.ok(compareKeys(encodeKey(strings[i - 1]!), encodeKey(strings[i]!)) < 0, `${JSON.stringify(strings[i - 1])} < ${JSON.stringify(strings[i])}`);
  }
});

test('key-group ranges are contiguous byte ranges: sorted, the entries of groups [s, e] form one run inside keyGroupRangeBounds', () => {
  const keyGroups = [0, 1, 2, 127, 128, 255, 256, 4095, 32767];
  const entries: Uint8Array[] = [];
  for (const keyGroup of keyGroups) {
    for (const stateId of [0, 1, 255, 256, 0xffff]) {
      for (const key of KEYS.slice(0, 12)) {
        const prefix = stateKeyPrefix(keyGroup, stateId, encodeKey(key));
        entries.push(prefix, listElementKey(prefix, 0), listElementKey(prefix, 0xffff_ffff), mapEntryKey(prefix, encodeKey('\u0000')));
      }
    }
  }
  entries.push(stateMetaKey(0), stateMetaKey(0xffff));
  entries.sort(compareKeys);
  for (const [s, e] of [
    [0, 0],
    [0, 127],
    [1, 2],
    [128, 256],
    [255, 32767],
    [32767, 32767],
  ] as const) {
    const [from, to] = keyGroupRangeBounds({ start: s, end: e });
    const inGroups = entries.map((key) => key.length >= 4 && keyGroupOfStateKey(key) >= s && keyGroupOfStateKey(key) <= e);
    const inBytes = entries.map((key) => compareKeys(key, from) >= 0 && compareKeys(key, to) < 0);
    assert.equal(inBytes, inGroups, `[${s}, ${e}]`);
    const first = inGroups.indexOf(true);
    const last = inGroups.lastIndexOf(true);
    assert.ok(inGroups.slice(first, last + 1).every(Boolean), `[${s}, ${e}] is one run`);
  }
  // The name table lies above every key group.
  const [, top] = keyGroupRangeBounds({ start: 0, end: 32767 });
  assert.ok(compareKeys(stateMetaKey(0), top) >= 0);
  assert.ok(compareKeys(META_RANGE[0], stateMetaKey(0)) <= 0 && compareKeys(stateMetaKey(0xffff), META_RANGE[1]) < 0);
});

test('the header carries key group and stateId big-endian', () => {
  const key = stateKeyPrefix(0x1234, 0xabcd, encodeKey('k'));
  assert.is(keyGroupOfStateKey(key), 0x1234);
  assert.is(stateIdOfStateKey(key), 0xabcd);
  assert.equal([...key.subarray(0, 4)], [0x12, 0x34, 0xab, 0xcd]);
});

test('MapState user keys are prefix-free and decode from the end of the state key: "a" and "ab", 1 and "1" are separate entries', () => {
  const prefix = stateKeyPrefix(7, 2, encodeKey(['order', 1].join()));
  const userKeys: CanonicalKey[] = ['a', 'ab', 'a\u0000', '', '1', 1, 1n, true, false, 0, -0.5, '\uD800'];
  const entryKeys = userKeys.map((userKey) => mapEntryKey(prefix, encodeKey(userKey)));
  assert.is(new Set(entryKeys.map(hex)).size, userKeys.length);
  for (const [i, a] of entryKeys.entries()) {
    for (const [j, b] of entryKeys.entries()) {
      if (i !== j && a.length < b.length) assert.ok(compareKeys(a, b.subarray(0, a.length)) !== 0, `${String(userKeys[i])} prefixes ${String(userKeys[j])}`);
    }
    const { key, end } = decodeKey(a, prefix.length);
    assert.ok(same(key, userKeys[i]) && typeof key === typeof userKeys[i], `user key ${String(userKeys[i])}`);
    assert.is(end, a.length);
    assert.ok(compareKeys(a, prefix) > 0 && compareKeys(a, prefixEnd(prefix)) < 0, 'inside the state range of its key');
  }
});

test('ListState element keys sort by sequence after the meta entry at the bare prefix', () => {
  const prefix = stateKeyPrefix(3, 1, encodeKey('k'));
  const sequences = [0, 1, 255, 256, 65_536, 0xffff_fffe];
  const keys = [prefix, ...sequences.map((n) => listElementKey(prefix, n))];
  const sorted = keys.slice().sort(compareKeys);
  assert.equal(sorted.map(hex), keys.map(hex));
});

test('prefixEnd skips trailing 0xFF bytes', () => {
  assert.equal([...prefixEnd(Uint8Array.of(1, 2, 3))], [1, 2, 4]);
  assert.equal([...prefixEnd(Uint8Array.of(1, 0xff, 0xff))], [2]);
  assert.is(codeOf(() => prefixEnd(Uint8Array.of(0xff))), 'WEIR_INTERNAL');
});

test('malformed encodings are WEIR_CHECKPOINT_CORRUPT: unknown tag, truncated number, missing terminator, bad escape', () => {
  for (const bytes of [[0x7f], [0x03, 1, 2], [0x05, 0x61], [0x05, 0x61, 0x00], [0x05, 0x00, 0x01, 0x00, 0x00], []]) {
    assert.is(codeOf(() => decodeKey(Uint8Array.from(bytes), 0)), 'WEIR_CHECKPOINT_CORRUPT', `decode ${JSON.stringify(bytes)}`);
    assert.is(codeOf(() => encodedKeyEnd(Uint8Array.from(bytes), 0)), 'WEIR_CHECKPOINT_CORRUPT', `end ${JSON.stringify(bytes)}`);
  }
});

test.run();
