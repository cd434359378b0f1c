import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HeapKeyedStateBackend } from '../../../../src/state/heap/heap-keyed-state-backend.ts';
import { deserialize, serialize } from 'node:v8';
import { canonicalKey, keyGroupOf, loadKeyHasher, type CanonicalKey } from '../../../../src/state/key-groups.ts';
import type { KeyGroupBlock } from '../../../../src/state/keyed-state-backend.ts';
import type { AggregateFunction } from '../../../../src/state/state.ts';
import { throwsCode } from '../../../helpers/errors.ts';

test.before(async () => {
  await loadKeyHasher();
});


function backend(): HeapKeyedStateBackend & { use(key: unknown): void } {
  const b = new HeapKeyedStateBackend({ start: 0, end: 127 }, 128) as HeapKeyedStateBackend & { use(key: unknown): void };
  b.use = (key: unknown) => {
    const canonical = canonicalKey(key);
    b.setCurrentKey(canonical, keyGroupOf(canonical, 128));
  };
  return b;
}

const average: AggregateFunction<number, { sum: number; count: number }, number> = {
  createAccumulator: () => ({ sum: 0, count: 0 }),
  add: (value, acc) => ({ sum: acc.sum + value, count: acc.count + 1 }),
  getResult: (acc) => acc.sum / acc.count,
};

test('ValueState is scoped per key: switching keys sees each key’s own value', () => {
  const b = backend();
  const state = b.getValueState<number>('count');
  b.use('a');
  assert.is(state.value(), undefined);
  state.update(1);
  b.use('b');
  assert.is(state.value(), undefined);
  state.update(2);
  b.use('a');
  assert.is(state.value(), 1);
  b.use('b');
  assert.is(state.value(), 2);
  state.clear();
  assert.is(state.value(), undefined);
  b.use('a');
  assert.is(state.value(), 1);
});

test('ValueState.update(undefined) and update(null) clear the value, falsy values are kept', () => {
  const b = backend();
  const state = b.getValueState<unknown>('v');
  b.use('k');
  state.update(5);
  state.update(undefined);
  assert.is(state.value(), undefined);
  assert.is(b.entryCount(), 0);
  state.update(5);
  state.update(null);
  assert.is(state.value(), undefined);
  assert.is(b.entryCount(), 0);
  for (const falsy of [0, '', false]) {
    state.update(falsy);
    assert.is(state.value(), falsy);
  }
  assert.is(b.entryCount(), 1);
});

test('keys 1 and "1" address different state, equal composite keys the same state', () => {
  const b = backend();
  const state = b.getValueState<string>('v');
  b.use(1);
  state.update('number');
  b.use('1');
  assert.is(state.value(), undefined);
  state.update('string');
  b.use(['user', 1]);
  state.update('composite');
  b.use(['user', 1]);
  assert.is(state.value(), 'composite');
  b.use(1);
  assert.is(state.value(), 'number');
  assert.is(b.entryCount(), 3);
});

test('ListState is scoped per key; get() is an empty array when unset', () => {
  const b = backend();
  const list = b.getListState<string>('items');
  b.use('a');
  assert.equal(list.get(), []);
  list.add('a1');
  list.addAll(['a2', 'a3']);
  b.use('b');
  assert.equal(list.get(), []);
  list.add('b1');
  b.use('a');
  assert.equal(list.get(), ['a1', 'a2', 'a3']);
  list.update(['x']);
  assert.equal(list.get(), ['x']);
  b.use('b');
  assert.equal(list.get(), ['b1']);
  list.clear();
  assert.equal(list.get(), []);
  assert.is(b.entryCount(), 1);
});

test('ListState.update([]) removes the entry, and update() takes any iterable', () => {
  const b = backend();
  const list = b.getListState<number>('l');
  b.use('k');
  list.update(new Set([1, 2]));
  assert.equal(list.get(), [1, 2]);
  list.update([]);
  assert.equal(list.get(), []);
  assert.is(b.entryCount(), 0);
  function* gen() {
    yield 3;
    yield 4;
  }
  list.update(gen());
  assert.equal(list.get(), [3, 4]);
});

test('MapState is scoped per key, with get/put/contains/remove/entries/keys/values/isEmpty', () => {
  const b = backend();
  const map = b.getMapState<string, number>('m');
  b.use('a');
  assert.ok(map.isEmpty());
  assert.equal([...map.entries()], []);
  map.put('x', 1);
  map.putAll([
    ['y', 2],
    ['z', 3],
  ]);
  b.use('b');
  assert.ok(map.isEmpty());
  assert.not.ok(map.contains('x'));
  assert.is(map.get('x'), undefined);
  map.put('x', 10);
  b.use('a');
  assert.is(map.get('x'), 1);
  assert.ok(map.contains('y'));
  assert.equal([...map.entries()], [
    ['x', 1],
    ['y', 2],
    ['z', 3],
  ]);
  assert.equal([...map.keys()], ['x', 'y', 'z']);
  assert.equal([...map.values()], [1, 2, 3]);
  map.remove('y');
  map.remove('not-there');
  assert.equal([...map.keys()], ['x', 'z']);
  b.use('b');
  assert.equal([...map.entries()], [['x', 10]]);
  b.use('c');
  map.remove('x'); // removing from a key with no map is a no-op
  assert.is(b.entryCount(), 2);
});

test('removing the last entry of a MapState removes the key’s entry entirely', () => {
  const b = backend();
  const map = b.getMapState<string, number>('m');
  b.use('a');
  map.put('only', 1);
  assert.is(b.entryCount(), 1);
  map.remove('only');
  assert.ok(map.isEmpty());
  assert.is(b.entryCount(), 0);
  map.put('again', 2);
  assert.equal([...map.entries()], [['again', 2]]);
});

test('ReducingState folds per key; get() is undefined when nothing was added', () => {
  const b = backend();
  const calls: Array<[number, number]> = [];
  const sum = b.getReducingState<number>('sum', (a, v) => {
    calls.push([a, v]);
    return a + v;
  });
  b.use('a');
  assert.is(sum.get(), undefined);
  sum.add(1);
  assert.equal(calls, [], 'the first value is stored without calling reduce');
  sum.add(2);
  sum.add(3);
  b.use('b');
  assert.is(sum.get(), undefined);
  sum.add(10);
  b.use('a');
  assert.is(sum.get(), 6);
  assert.equal(calls, [
    [1, 2],
    [3, 3],
  ]);
  sum.clear();
  assert.is(sum.get(), undefined);
  b.use('b');
  assert.is(sum.get(), 10);
});

test('ReducingState keeps a falsy first value (0) and folds it', () => {
  const b = backend();
  const product = b.getReducingState<number>('p', (a, v) => a * v);
  b.use('k');
  product.add(0);
  assert.is(product.get(), 0);
  product.add(5);
  assert.is(product.get(), 0);
});

test('AggregatingState folds per key into an accumulator; get() is undefined when nothing was added', () => {
  const b = backend();
  const avg = b.getAggregatingState('avg', average);
  b.use('a');
  assert.is(avg.get(), undefined);
  avg.add(2);
  avg.add(4);
  b.use('b');
  assert.is(avg.get(), undefined);
  avg.add(9);
  b.use('a');
  assert.is(avg.get(), 3);
  avg.clear();
  assert.is(avg.get(), undefined);
  avg.add(1);
  assert.is(avg.get(), 1, 'a cleared key starts from a fresh accumulator');
  b.use('b');
  assert.is(avg.get(), 9);
});

test('two states of the same kind with different names are independent', () => {
  const b = backend();
  const x = b.getValueState<number>('x');
  const y = b.getValueState<number>('y');
  b.use('k');
  x.update(1);
  assert.is(y.value(), undefined);
  y.update(2);
  assert.is(x.value(), 1);
  assert.is(b.entryCount(), 2);
});

test('getting a state twice by name returns the same handle over the same data', () => {
  const b = backend();
  const first = b.getListState<number>('l');
  b.use('k');
  first.add(1);
  const second = b.getListState<number>('l');
  assert.is(second, first);
  assert.equal(second.get(), [1]);
});

test('every state access without a current key throws WEIR_STATE_ACCESS_OUTSIDE_KEY naming the state', () => {
  const b = backend();
  const value = b.getValueState<number>('v');
  const list = b.getListState<number>('l');
  const map = b.getMapState<string, number>('m');
  const reducing = b.getReducingState<number>('r', (a, c) => a + c);
  const aggregating = b.getAggregatingState('a', average);
  const accesses: Array<[string, () => unknown]> = [
    ['v', () => value.value()],
    ['v', () => value.update(1)],
    ['v', () => value.clear()],
    ['l', () => list.get()],
    ['l', () => list.add(1)],
    ['l', () => list.update([1])],
    ['l', () => list.clear()],
    ['m', () => map.get('x')],
    ['m', () => map.put('x', 1)],
    ['m', () => map.contains('x')],
    ['m', () => map.remove('x')],
    ['m', () => map.entries()],
    ['m', () => map.keys()],
    ['m', () => map.values()],
    ['m', () => map.isEmpty()],
    ['m', () => map.clear()],
    ['r', () => reducing.get()],
    ['r', () => reducing.add(1)],
    ['r', () => reducing.clear()],
    ['a', () => aggregating.get()],
    ['a', () => aggregating.add(1)],
    ['a', () => aggregating.clear()],
  ];
  for (const [name, access] of accesses) {
    throwsCode(access, 'WEIR_STATE_ACCESS_OUTSIDE_KEY', new RegExp(`keyed state '${name}' was accessed outside of a keyed context`));
  }
  assert.is(b.entryCount(), 0);
});

test('registering one name as two kinds of state is rejected, naming both kinds', () => {
  const b = backend();
  b.getValueState('s');
  throwsCode(() => b.getListState('s'), 'WEIR_INVALID_ARGUMENT', /state 's' is already registered as value state, cannot get it as list state/);
  throwsCode(() => b.getMapState('s'), 'WEIR_INVALID_ARGUMENT', /as map state/);
  throwsCode(() => b.getReducingState('s', (a) => a), 'WEIR_INVALID_ARGUMENT', /as reducing state/);
  throwsCode(() => b.getAggregatingState('s', average), 'WEIR_INVALID_ARGUMENT', /as aggregating state/);
  b.getListState('l');
  throwsCode(() => b.getValueState('l'), 'WEIR_INVALID_ARGUMENT', /already registered as list state, cannot get it as value state/);
});

test('a state name must be a non-empty string', () => {
  const b = backend();
  throwsCode(() => b.getValueState(''), 'WEIR_INVALID_ARGUMENT', /state name must be a non-empty string/);
  throwsCode(() => b.getListState(7 as never), 'WEIR_INVALID_ARGUMENT', /state name must be a non-empty string/);
});

test('entryCount counts (state, key) pairs across every state, and dispose forgets them', () => {
  const b = backend();
  const value = b.getValueState<number>('v');
  const list = b.getListState<number>('l');
  const map = b.getMapState<string, number>('m');
  const keys: CanonicalKey[] = ['a', 'b', 'c'];
  for (const key of keys) {
    b.use(key);
    value.update(1);
    list.add(1);
    list.add(2);
    map.put('x', 1);
    map.put('y', 2);
  }
  assert.is(b.entryCount(), 9);
  b.use('a');
  value.clear();
  assert.is(b.entryCount(), 8);
  b.dispose();
  assert.is(b.entryCount(), 0);
});

test('the backend reports the key-group range it was created for', () => {
  assert.equal(new HeapKeyedStateBackend({ start: 3, end: 9 }, 128).keyGroupRange, { start: 3, end: 9 });
});

// ---------------------------------------------------------------------------------------------
// Snapshot and restore

function withKeys(b: HeapKeyedStateBackend): HeapKeyedStateBackend & { use(key: unknown): void } {
  const out = b as HeapKeyedStateBackend & { use(key: unknown): void };
  out.use = (key: unknown) => {
    const canonical = canonicalKey(key);
    out.setCurrentKey(canonical, keyGroupOf(canonical, 128));
  };
  return out;
}

const KEYS = Array.from({ length: 40 }, (_, i) => `key-${i}`);
const groupOf = (key: unknown): number => keyGroupOf(canonicalKey(key), 128);

test('snapshot yields one block per non-empty key group, ascending, each the key group of its keys', () => {
  const b = backend();
  assert.equal(b.snapshot(), [], 'an empty backend snapshots to no blocks');
  const value = b.getValueState<number>('v');
  const list = b.getListState<number>('l');
  for (const [i, key] of KEYS.entries()) {
    b.use(key);
    value.update(i);
    if (i % 2 === 0) list.add(i);
  }
  b.use(KEYS[0]);
  value.clear();
  list.clear(); // key-0 holds nothing any more
  const blocks = b.snapshot();
  const expected = [...new Set(KEYS.slice(1).map(groupOf))].sort((x, y) => x - y);
  assert.equal(blocks.map((block) => block.keyGroup), expected);
  assert.ok(blocks.every((block) => block.bytes instanceof Uint8Array && block.bytes.byteLength > 0));
  // Each block restores exactly the keys of its own key group.
  for (const block of blocks) {
    const single = withKeys(new HeapKeyedStateBackend({ start: block.keyGroup, end: block.keyGroup }, 128));
    single.restore([block]);
    const keys = KEYS.slice(1).filter((key) => groupOf(key) === block.keyGroup);
    const restoredValue = single.getValueState<number>('v');
    for (const key of keys) {
      single.use(key);
      assert.is(restoredValue.value(), KEYS.indexOf(key));
    }
    assert.is(single.entryCount(), keys.length + keys.filter((key) => KEYS.indexOf(key) % 2 === 0).length);
  }
});

test('the key groups a smaller range owns restore into it; a block outside its range is WEIR_INTERNAL', () => {
  const b = backend();
  const value = b.getValueState<string>('v');
  for (const key of KEYS) {
    b.use(key);
    value.update(`value of ${key}`);
  }
  const blocks = b.snapshot();
  const range = { start: 0, end: 63 };
  const inRange = (block: KeyGroupBlock) => block.keyGroup >= range.start && block.keyGroup <= range.end;
  assert.ok(blocks.some(inRange) && blocks.some((block) => !inRange(block)), 'the keys span both halves');
  const half = withKeys(new HeapKeyedStateBackend(range, 128));
  half.restore(blocks.filter(inRange)); // what the keyed operator hands it
  const restored = half.getValueState<string>('v');
  const owned = KEYS.filter((key) => groupOf(key) <= range.end);
  assert.is(half.entryCount(), owned.length);
  for (const key of owned) {
    half.use(key);
    assert.is(restored.value(), `value of ${key}`);
  }
  const outside = blocks.find((block) => !inRange(block))!;
  throwsCode(
    () => withKeys(new HeapKeyedStateBackend(range, 128)).restore([outside]),
    'WEIR_INTERNAL',
    new RegExp(`key group ${outside.keyGroup} restored into a backend owning \\[0, 63\\]`),
  );
});

test('every state kind round-trips through snapshot and restore, with Map, Set, Date and bigint values and key types', () => {
  const b = backend();
  const value = b.getValueState<unknown>('value');
  const list = b.getListState<unknown>('list');
  const map = b.getMapState<unknown, unknown>('map');
  const reducing = b.getReducingState<number>('reducing', (x, y) => x + y);
  const aggregating = b.getAggregatingState('aggregating', average);
  const keys: unknown[] = ['text', 42, true, 10n, ['user', 7], { id: 3 }];
  const rich = (i: number) => ({
    when: new Date(Date.UTC(2024, 0, i + 1)),
    tags: new Set(['a', `t${i}`]),
    index: new Map<unknown, unknown>([[i, 'n'], ['k', [i]]]),
    big: BigInt(i) * 10n ** 20n,
    nested: { list: [i, null, 'x'] },
  });
  for (const [i, key] of keys.entries()) {
    b.use(key);
    value.update(rich(i));
    list.addAll([i, `s${i}`, new Date(i)]);
    map.put(i, new Set([i]));
    map.put(`k${i}`, new Date(1000 * i));
    reducing.add(i);
    reducing.add(100);
    aggregating.add(i);
    aggregating.add(i + 2);
  }
  const blocks = b.snapshot();
  const r = backend();
  r.restore(blocks);
  assert.is(r.entryCount(), b.entryCount());
  const rValue = r.getValueState<unknown>('value');
  const rList = r.getListState<unknown>('list');
  const rMap = r.getMapState<unknown, unknown>('map');
  const rReducing = r.getReducingState<number>('reducing', (x, y) => x + y);
  const rAggregating = r.getAggregatingState('aggregating', average);
  for (const [i, key] of keys.entries()) {
    r.use(key);
    const v = rValue.value() as ReturnType<typeof rich>;
    assert.equal(v, rich(i), `value of key ${String(key)}`);
    assert.instance(v.when, Date);
    assert.instance(v.tags, Set);
    assert.instance(v.index, Map);
    assert.is(typeof v.big, 'bigint');
    assert.equal(rList.get(), [i, `s${i}`, new Date(i)]);
    assert.equal([...rMap.entries()], [
      [i, new Set([i])],
      [`k${i}`, new Date(1000 * i)],
    ]);
    assert.is(rReducing.get(), i + 100);
    rReducing.add(1);
    assert.is(rReducing.get(), i + 101, 'the restored reducing state folds on');
    assert.is(rAggregating.get(), i + 1);
  }
  // The snapshot of a restored backend holds the same key groups with the same content (v8 may
  // encode a deserialized array differently, so the content is compared, not the bytes).
  const again = backend();
  again.restore(blocks);
  const content = (list: KeyGroupBlock[]) => list.map((block) => [block.keyGroup, deserialize(block.bytes)]);
  assert.equal(content(again.snapshot()), content(blocks));
});

test('a restored state asked for as another kind is WEIR_INVALID_ARGUMENT saying it was restored', () => {
  const b = backend();
  b.getValueState<number>('count');
  b.use('k');
  b.getValueState<number>('count').update(1);
  const r = backend();
  r.restore(b.snapshot());
  throwsCode(() => r.getListState('count'), 'WEIR_INVALID_ARGUMENT', /state 'count' is restored from the checkpoint as value state, cannot get it as list state/);
  throwsCode(() => r.getMapState('count'), 'WEIR_INVALID_ARGUMENT', /as value state, cannot get it as map state/);
  const count = r.getValueState<number>('count');
  r.use('k');
  assert.is(count.value(), 1);
});

test('a restored block naming an unknown state kind is WEIR_CHECKPOINT_CORRUPT', () => {
  const keyGroup = groupOf('k');
  const bytes = serialize([['s', 'queue', [['k', 1]]]]);
  throwsCode(() => backend().restore([{ keyGroup, bytes }]), 'WEIR_CHECKPOINT_CORRUPT', /restored state 's' has unknown kind queue/);
});

test('mutating state after a snapshot, also in place through stored references, does not change the snapshot', () => {
  const b = backend();
  const value = b.getValueState<{ n: number; items: number[] }>('v');
  const list = b.getListState<number>('l');
  const map = b.getMapState<string, number>('m');
  b.use('k');
  value.update({ n: 1, items: [1] });
  list.add(1);
  map.put('a', 1);
  const snapshot = b.snapshot();
  const copies = snapshot.map((block) => Uint8Array.from(block.bytes));
  value.value()!.n = 2; // in place: the heap backend stores by reference
  value.value()!.items.push(2);
  list.add(2);
  map.put('b', 2);
  b.use('other');
  value.update({ n: 9, items: [] });
  assert.equal(snapshot.map((block) => Uint8Array.from(block.bytes)), copies, 'the bytes are unchanged');
  const r = backend();
  r.restore(snapshot);
  r.use('k');
  assert.equal(r.getValueState('v').value(), { n: 1, items: [1] });
  assert.equal(r.getListState('l').get(), [1]);
  assert.equal([...r.getMapState('m').entries()], [['a', 1]]);
  r.use('other');
  assert.is(r.getValueState('v').value(), undefined);
});

test.run();
