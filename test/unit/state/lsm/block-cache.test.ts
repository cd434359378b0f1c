import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LruBlockCache } from '../../../../src/state/lsm/block-cache.ts';
import { WeirError } from '../../../../src/errors.ts';

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

test('a cached block is returned by id and counted as a hit', () => {
  const cache = new LruBlockCache(100);
  assert.is(cache.get('a#0'), undefined);
  const b = bytes(10);
  cache.set('a#0', b);
  assert.is(cache.get('a#0'), b);
  assert.is(cache.hits, 1);
  assert.is(cache.misses, 1);
  assert.is(cache.usedBytes, 10);
});

test('inserting beyond the byte budget evicts least recently used blocks first', () => {
  const cache = new LruBlockCache(100);
  cache.set('a', bytes(40));
  cache.set('b', bytes(40));
  cache.get('a'); // a is now more recent than b
  cache.set('c', bytes(40));
  assert.is(cache.get('b'), undefined);
  assert.ok(cache.get('a') !== undefined);
  assert.ok(cache.get('c') !== undefined);
  assert.is(cache.usedBytes, 80);
  cache.set('d', bytes(100));
  assert.is(cache.size, 1);
  assert.is(cache.usedBytes, 100);
});

test('one large insert evicts as many blocks as it needs', () => {
  const cache = new LruBlockCache(100);
  for (let i = 0; i < 10; i++) cache.set(`f#${i}`, bytes(10));
  cache.set('big', bytes(55));
  assert.is(cache.usedBytes, 95);
  assert.is(cache.size, 5);
  for (let i = 0; i < 6; i++) assert.is(cache.get(`f#${i}`), undefined);
  for (let i = 6; i < 10; i++) assert.ok(cache.get(`f#${i}`) !== undefined);
});

test('a block larger than the whole budget is not cached and evicts nothing', () => {
  const cache = new LruBlockCache(100);
  cache.set('a', bytes(50));
  cache.set('huge', bytes(101));
  assert.is(cache.get('huge'), undefined);
  assert.ok(cache.get('a') !== undefined);
  assert.is(cache.usedBytes, 50);
});

test('replacing an id accounts for the new size only', () => {
  const cache = new LruBlockCache(100);
  cache.set('a', bytes(50));
  cache.set('a', bytes(20, 2));
  assert.is(cache.usedBytes, 20);
  assert.is(cache.get('a')![0], 2);
});

test('deleteFile drops every block of one file and no other', () => {
  const cache = new LruBlockCache(1000);
  cache.set('7.sst#0', bytes(10));
  cache.set('7.sst#4096', bytes(10));
  cache.set('77.sst#0', bytes(10));
  assert.is(cache.deleteFile('7.sst'), 2);
  assert.is(cache.size, 1);
  assert.is(cache.usedBytes, 10);
  assert.ok(cache.get('77.sst#0') !== undefined);
  cache.clear();
  assert.is(cache.usedBytes, 0);
  assert.is(cache.size, 0);
});

test('a zero budget caches nothing', () => {
  const cache = new LruBlockCache(0);
  cache.set('a', bytes(1));
  assert.is(cache.get('a'), undefined);
  cache.set('empty', bytes(0));
  assert.is(cache.usedBytes, 0);
});

test('an invalid budget fails with WEIR_INVALID_ARGUMENT', () => {
  for (const bad of [-1, 1.5, Number.NaN]) {
    try {
      new LruBlockCache(bad);
      assert.unreachable(`capacity ${bad} should be rejected`);
    } catch (error) {
      assert.instance(error, WeirError);
      assert.is((error as WeirError).code, 'WEIR_INVALID_ARGUMENT');
    }
  }
});

test.run();
