import { test } from 'uvu';
import * as assert from 'uvu/assert';
import xxhash from 'xxhash-wasm';
import { asciiXxh32ForTest, hashKey, loadKeyHasher } from '../../../src/state/key-hash.ts';

let h32: (input: string, seed?: number) => number;

test.before(async () => {
  await loadKeyHasher();
  h32 = (await xxhash()).h32;
});

/** Deterministic xorshift PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function randomString(random: () => number, length: number, alphabet: string): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
}

const ASCII = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('');

test('the JavaScript xxHash32 equals xxhash-wasm’s h32 bit for bit on ASCII strings of every length up to 80', () => {
  const random = prng(42);
  for (let length = 0; length <= 80; length++) {
    for (let n = 0; n < 25; n++) {
      const s = randomString(random, length, ASCII);
      assert.is(asciiXxh32ForTest(s), h32(s), `length ${length}: ${JSON.stringify(s)}`);
    }
  }
});

test('the JavaScript xxHash32 matches on known edge values: empty, all-0x7f, the reference vectors', () => {
  for (const s of ['', 'a', 'abc', '\u007f'.repeat(33), '\u0000'.repeat(16), 'Nobody inspects the spammish repetition']) {
    assert.is(asciiXxh32ForTest(s), h32(s), JSON.stringify(s));
  }
  // Reference: XXH32("", 0) = 0x02CC5D05, XXH32("abc", 0) = 0x32D153FF.
  assert.is(hashKey(''), 0x02cc5d05);
  assert.is(hashKey('abc'), 0x32d153ff);
});

test('the JavaScript path refuses non-ASCII strings, wherever the non-ASCII char is', () => {
  for (const s of ['é', 'abcé', 'é'.padEnd(20, 'x'), 'x'.repeat(17) + '✓', 'x'.repeat(30) + '\u0080', '\ud83d\ude00']) {
    assert.is(asciiXxh32ForTest(s), -1, JSON.stringify(s));
  }
});

test('hashKey is xxHash32 of the UTF-8 bytes for every string: ASCII, non-ASCII, short and long', () => {
  const random = prng(7);
  const alphabets = [ASCII, 'abcé✓\u0080\u07ff\u0800€', 'ab\ud83d\ude00cd'];
  for (const alphabet of alphabets) {
    for (let length = 0; length <= 70; length += 3) {
      const s = randomString(random, length, alphabet);
      const h = hashKey(s);
      assert.is(h, h32(s), JSON.stringify(s));
      assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
    }
  }
});

test.run();
