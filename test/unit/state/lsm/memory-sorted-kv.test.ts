import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemorySortedKv } from '../../../../src/state/lsm/memory-sorted-kv.ts';

const k = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const keysOf = (entries: Iterable<[Uint8Array, Uint8Array]>): number[][] => [...entries].map(([key]) => [...key]);

test('put, get and delete by byte value; put overwrites', () => {
  const kv = new MemorySortedKv();
  kv.put(k(1, 2), k(10));
  kv.put(k(1), k(11));
  kv.put(k(1, 2), k(12));
  assert.equal(kv.get(Uint8Array.of(1, 2)), k(12));
  assert.equal(kv.get(k(1)), k(11));
  assert.is(kv.get(k(2)), undefined);
  kv.delete(k(1));
  kv.delete(k(3)); // absent: nothing happens
  assert.is(kv.get(k(1)), undefined);
  assert.is(kv.size, 1);
});

test('scan yields [from, to) in unsigned byte order, shorter keys first', () => {
  const kv = new MemorySortedKv();
  for (const key of [[2], [0xff], [1, 0], [1], [1, 0xff], [0x80], [3]]) kv.put(k(...key), k(0));
  assert.equal(keysOf(kv.scan(k(1), k(3))), [[1], [1, 0], [1, 0xff], [2]]);
  assert.equal(keysOf(kv.scan(k(0x80), k(0xff, 0))), [[0x80], [0xff]]);
  assert.equal(keysOf(kv.scan(k(4), k(5))), []);
});

test('an open scan survives deletes and inserts behind and ahead of it, never yielding a key twice', () => {
  const kv = new MemorySortedKv();
  for (let i = 0; i < 10; i++) kv.put(k(i), k(i));
  const seen: number[] = [];
  for (const [key] of kv.scan(k(0), k(100))) {
    seen.push(key[0]!);
    kv.delete(key); // behind
    if (key[0] === 3) kv.delete(k(4)); // ahead
    if (key[0] === 5) kv.put(k(50), k(0)); // ahead, new: may or may not be seen
    if (key[0] === 6) kv.put(k(0), k(0)); // behind, re-inserted
  }
  assert.equal(
    seen.filter((n) => n !== 50),
    [0, 1, 2, 3, 5, 6, 7, 8, 9],
  );
  assert.equal(keysOf(kv.scan(k(0), k(100))), [[0], [50]]);
});

test('a scan opened inside another (which brings new keys into order) leaves the outer one on track', () => {
  const kv = new MemorySortedKv();
  for (let i = 0; i < 40; i += 2) kv.put(k(i), k(i));
  const seen: number[] = [];
  for (const [key] of kv.scan(k(0), k(100))) {
    seen.push(key[0]!);
    if (key[0] === 10) {
      for (let i = 1; i < 40; i += 2) kv.put(k(i), k(i)); // many new keys: a full merge
      for (let i = 0; i < 10; i += 2) kv.delete(k(i));
      assert.is([...kv.scan(k(0), k(100))].length, 35);
    }
  }
  assert.equal(seen, [0, 2, 4, 6, 8, 10, ...Array.from({ length: 29 }, (_, i) => 11 + i)]);
});

test('many puts and deletes in any order scan back sorted, and size counts live keys', () => {
  const kv = new MemorySortedKv();
  const expected = new Set<number>();
  let x = 12345;
  for (let step = 0; step < 5000; step++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const n = x % 700;
    if (x % 3 === 0) {
      kv.delete(k(n >> 8, n & 0xff));
      expected.delete(n);
    } else {
      kv.put(k(n >> 8, n & 0xff), k(step & 0xff));
      expected.add(n);
    }
    if (step % 97 === 0) assert.is([...kv.scan(k(0), k(0xff))].length, expected.size);
  }
  assert.is(kv.size, expected.size);
  assert.equal(
    keysOf(kv.scan(k(0), k(0xff))),
    [...expected].sort((a, b) => a - b).map((n) => [n >> 8, n & 0xff]),
  );
});

test.run();
