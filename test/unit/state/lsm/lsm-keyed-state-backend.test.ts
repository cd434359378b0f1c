import { deserialize, serialize } from 'node:v8';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../../src/errors.ts';
import { canonicalKey, keyGroupOf, loadKeyHasher } from '../../../../src/state/key-groups.ts';
import { HeapKeyedStateBackend } from '../../../../src/state/heap/heap-keyed-state-backend.ts';
import { LsmKeyedStateBackend } from '../../../../src/state/lsm/lsm-keyed-state-backend.ts';
import { MemorySortedKv } from '../../../../src/state/lsm/memory-sorted-kv.ts';
import type { KeyedStateBackend } from '../../../../src/state/keyed-state-backend.ts';

const FULL = { start: 0, end: 127 };

function use(backend: KeyedStateBackend, key: unknown): void {
  const canonical = canonicalKey(key);
  backend.setCurrentKey(canonical, keyGroupOf(canonical, 128));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof WeirError ? error.code : String(error);
  }
  return undefined;
}

test.before(async () => {
  await loadKeyHasher();
});

test('a backend opened on a store that already holds state finds its names, kinds and entries there', () => {
  const kv = new MemorySortedKv();
  const first = new LsmKeyedStateBackend(FULL, 128, kv);
  use(first, 'k');
  first.getValueState('v').update(1);
  first.getMapState('m').put('x', 2);
  first.getListState('l').addAll([3, 4]);
  const reopened = new LsmKeyedStateBackend(FULL, 128, kv);
  assert.is(reopened.entryCount(), 3);
  assert.is(codeOf(() => reopened.getValueState('m')), 'WEIR_INVALID_ARGUMENT');
  use(reopened, 'k');
  assert.is(reopened.getValueState('v').value(), 1);
  assert.is(reopened.getMapState('m').get('x'), 2);
  assert.equal(reopened.getListState('l').get(), [3, 4]);
  assert.equal(reopened.snapshot(), first.snapshot());
});

test('ListState appends write one element entry, never rewriting earlier elements', () => {
  const kv = new MemorySortedKv();
  const backend = new LsmKeyedStateBackend(FULL, 128, kv);
  const list = backend.getListState<number>('l');
  use(backend, 'k');
  const base = kv.size;
  for (let i = 0; i < 100; i++) list.add(i);
  assert.is(kv.size, base + 101, 'one entry per element plus the meta entry');
  assert.equal(list.get(), Array.from({ length: 100 }, (_, i) => i));
  list.clear();
  assert.is(kv.size, base, 'clear leaves no entry behind');
});

test('values read are copies: mutating one changes the stored state only when written back', () => {
  const backend = new LsmKeyedStateBackend(FULL, 128, new MemorySortedKv());
  const state = backend.getValueState<{ n: number }>('v');
  use(backend, 'k');
  state.update({ n: 1 });
  state.value()!.n = 2;
  assert.equal(state.value(), { n: 1 });
});

test('MapState user keys outside string, number, boolean and bigint are WEIR_INVALID_ARGUMENT; -0 and 0 are one key as in a Map', () => {
  const backend = new LsmKeyedStateBackend(FULL, 128, new MemorySortedKv());
  const map = backend.getMapState<unknown, string>('m');
  use(backend, 'k');
  for (const bad of [{ a: 1 }, ['a'], null, undefined, Symbol('s')]) {
    assert.is(codeOf(() => map.put(bad, 'x')), 'WEIR_INVALID_ARGUMENT', String(bad));
    assert.is(codeOf(() => map.get(bad)), 'WEIR_INVALID_ARGUMENT', String(bad));
  }
  map.put(-0, 'zero');
  assert.is(map.get(0), 'zero');
  assert.equal([...map.keys()], [0]);
});

test('a value the v8 serializer rejects is WEIR_INVALID_ARGUMENT and leaves the state as it was', () => {
  const backend = new LsmKeyedStateBackend(FULL, 128, new MemorySortedKv());
  const list = backend.getListState<unknown>('l');
  const value = backend.getValueState<unknown>('v');
  use(backend, 'k');
  list.add(1);
  value.update(1);
  assert.is(codeOf(() => list.addAll([2, () => 3])), 'WEIR_INVALID_ARGUMENT');
  assert.is(codeOf(() => value.update({ f: () => 1 })), 'WEIR_INVALID_ARGUMENT');
  assert.equal(list.get(), [1]);
  assert.is(value.value(), 1);
});

test('heap blocks are not lsm blocks: restoring one into the lsm backend is WEIR_CHECKPOINT_INCOMPATIBLE, not silent garbage', () => {
  const heap = new HeapKeyedStateBackend(FULL, 128);
  use(heap, 'k');
  heap.getValueState('v').update(1);
  const lsm = new LsmKeyedStateBackend(FULL, 128, new MemorySortedKv());
  assert.is(codeOf(() => lsm.restore(heap.snapshot())), 'WEIR_CHECKPOINT_INCOMPATIBLE');
});

test('a block whose packed entries are cut short or overlong is WEIR_CHECKPOINT_CORRUPT', () => {
  const source = new LsmKeyedStateBackend(FULL, 128, new MemorySortedKv());
  use(source, 'k');
  source.getMapState('m').putAll([
    ['a', 1],
    ['b', 2],
  ]);
  const [block] = source.snapshot();
  const [version, [[name, kind, count, entries]]] = deserialize(block!.bytes) as [number, [[string, string, number, Uint8Array]]];
  for (const [what, bad] of [
    ['cut short', [version, [[name, kind, count, entries.subarray(0, entries.length - 3)]]]],
    ['trailing bytes', [version, [[name, kind, count, Uint8Array.from([...entries, 0])]]]],
    ['count too high', [version, [[name, kind, count + 1, entries]]]],
    ['unknown kind', [version, [[name, 'tree', count, entries]]]],
  ] as const) {
    const target = new LsmKeyedStateBackend(FULL, 128, new MemorySortedKv());
    assert.is(codeOf(() => target.restore([{ keyGroup: block!.keyGroup, bytes: serialize(bad) }])), 'WEIR_CHECKPOINT_CORRUPT', what);
  }
});

test('maxParallelism and the key-group range are checked against the 2-byte key-group prefix', () => {
  assert.is(codeOf(() => new LsmKeyedStateBackend(FULL, 32769, new MemorySortedKv())), 'WEIR_INVALID_ARGUMENT');
  assert.is(codeOf(() => new LsmKeyedStateBackend({ start: 0, end: 128 }, 128, new MemorySortedKv())), 'WEIR_INVALID_ARGUMENT');
  const top = new LsmKeyedStateBackend({ start: 32767, end: 32767 }, 32768, new MemorySortedKv());
  top.setCurrentKey('k', 32767);
  top.getValueState('v').update(1);
  assert.equal(top.snapshot().map((block) => block.keyGroup), [32767]);
  assert.is(top.entryCount(), 1, 'the name table above the last key group is not state');
});

test.run();
