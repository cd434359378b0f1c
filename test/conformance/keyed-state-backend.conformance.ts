/**
 * The KeyedStateBackend conformance suite: the behaviour every keyed state backend (heap, lsm)
 * must show, registered as a uvu suite against a factory and returned, as abstract-level ships
 * its tests. The caller runs it: `keyedStateBackendConformance('heap', create).run()`. Every
 * backend the suite creates is disposed after its test. This file holds the state-type tests;
 * keyed-state-snapshot.conformance.ts the snapshot/restore/rescale tests and the randomized
 * model test (seed printed; replay with WEIR_CONFORMANCE_SEED=<seed>); keyed-state-harness.ts
 * the helpers.
 *
 * Contract decisions pinned here, beyond the doc comments of the interface:
 * - MapState iteration order is unspecified (heap iterates in insertion order, an LSM tree in
 *   key order): entries(), keys() and values() are compared as sets, and each lists every entry
 *   exactly once, the three agreeing with each other.
 * - ListState keeps insertion order; `add` after `update` appends.
 * - MapState user keys are primitives (string, number, boolean, bigint), told apart by type
 *   (1, '1', 1n and true are four keys); composite user keys are outside the contract.
 * - Whether a value read is a live reference or a copy is unspecified (heap: a reference), so
 *   the suite never mutates a value it stored or read, except to prove snapshot isolation.
 * - `entryCount()` is exact: the number of (state name, key) pairs holding non-empty state, so
 *   a cleared value, an emptied list or map and a cleared reduction count for nothing.
 * - Snapshot bytes are opaque: only `keyGroup` is interpreted, and a block restores into any
 *   backend of the same maxParallelism whose range holds its key group. Restore takes blocks
 *   in any order, from any iterable, over several calls, always before a handle is requested.
 * - Values are anything the v8 serializer takes (Map, Set, Date, bigint, typed arrays, RegExp,
 *   undefined inside arrays and objects, -0, NaN, cycles and shared references within a value).
 * Runs on the main thread of a test process; every test awaits the factory, so an async
 * backend (one that opens files) fits.
 */
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalKey, keyGroupOf, loadKeyHasher } from '../../src/state/key-groups.ts';
import type { AggregateFunction } from '../../src/state/state.ts';
import {
  assertMapEntries,
  AVERAGE,
  createHarness,
  describe,
  DISTINCT_KEYS,
  getHandle,
  handlesOf,
  KINDS,
  MAX_PARALLELISM,
  throwsCode,
  type CreateKeyedStateBackend,
} from './keyed-state-harness.ts';
import { snapshotRestoreConformance } from './keyed-state-snapshot.conformance.ts';

export type { CreateKeyedStateBackend } from './keyed-state-harness.ts';

export function keyedStateBackendConformance(name: string, create: CreateKeyedStateBackend): Test {
  const test = suite(`KeyedStateBackend conformance: ${name}`);
  const harness = createHarness(create);
  const { open } = harness;

  test.before(async () => {
    await loadKeyHasher();
  });
  test.after.each(() => {
    harness.disposeAll();
  });

  // ---------------------------------------------------------------- ValueState

  test('ValueState: value() is undefined for a key never set; update() sets the value of the current key only', async () => {
    const { backend, use } = await open();
    const state = backend.getValueState<string>('v');
    use('a');
    assert.is(state.value(), undefined);
    state.update('first');
    assert.is(state.value(), 'first');
    state.update('second');
    assert.is(state.value(), 'second', 'update overwrites');
    use('b');
    assert.is(state.value(), undefined, 'another key is unset');
    state.update('of b');
    use('a');
    assert.is(state.value(), 'second');
    use('b');
    assert.is(state.value(), 'of b');
  });

  test('ValueState: update(undefined) and update(null) clear the value; falsy values 0, "", false and NaN are kept', async () => {
    const { backend, use } = await open();
    const state = backend.getValueState<unknown>('v');
    use('k');
    for (const empty of [undefined, null]) {
      state.update(5);
      state.update(empty);
      assert.is(state.value(), undefined, `update(${String(empty)})`);
      assert.is(backend.entryCount(), 0, `update(${String(empty)}) frees the entry`);
    }
    for (const falsy of [0, '', false, Number.NaN]) {
      state.update(falsy);
      assert.ok(Object.is(state.value(), falsy), `keeps ${String(falsy)}`);
      assert.is(backend.entryCount(), 1);
    }
  });

  test('ValueState: clear() removes the value of the current key only', async () => {
    const { backend, use } = await open();
    const state = backend.getValueState<number>('v');
    use('a');
    state.update(1);
    use('b');
    state.update(2);
    state.clear();
    assert.is(state.value(), undefined);
    state.clear(); // clearing an unset key is a no-op
    use('a');
    assert.is(state.value(), 1);
    assert.is(backend.entryCount(), 1);
  });

  // ---------------------------------------------------------------- ListState

  test('ListState: get() is [] when unset; add and addAll append in insertion order, per key', async () => {
    const { backend, use } = await open();
    const list = backend.getListState<unknown>('l');
    use('a');
    assert.equal(list.get(), []);
    list.add('a1');
    list.addAll(['a2', 'a3']);
    list.add({ n: 4 });
    use('b');
    assert.equal(list.get(), []);
    list.addAll(new Set(['b1', 'b2']));
    use('a');
    assert.equal(list.get(), ['a1', 'a2', 'a3', { n: 4 }]);
    use('b');
    assert.equal(list.get(), ['b1', 'b2']);
    list.add('b1');
    assert.equal(list.get(), ['b1', 'b2', 'b1'], 'duplicates are kept');
  });

  test('ListState: update() replaces the list from any iterable, add() then appends, and update([]) clears it', async () => {
    const { backend, use } = await open();
    const list = backend.getListState<number>('l');
    use('k');
    list.addAll([1, 2, 3]);
    list.update([9]);
    assert.equal(list.get(), [9]);
    list.add(10);
    assert.equal(list.get(), [9, 10]);
    function* generate(): Generator<number> {
      yield 3;
      yield 4;
    }
    list.update(generate());
    assert.equal(list.get(), [3, 4]);
    list.update(new Set([5, 6]));
    assert.equal(list.get(), [5, 6]);
    list.update([]);
    assert.equal(list.get(), []);
    assert.is(backend.entryCount(), 0, 'update([]) frees the entry');
    list.add(7);
    assert.equal(list.get(), [7], 'a cleared list starts over');
  });

  test('ListState: addAll of nothing leaves an unset key unset; clear() empties the current key only', async () => {
    const { backend, use } = await open();
    const list = backend.getListState<number>('l');
    use('a');
    list.addAll([]);
    assert.equal(list.get(), []);
    assert.is(backend.entryCount(), 0);
    list.addAll([1]);
    use('b');
    list.add(2);
    list.clear();
    assert.equal(list.get(), []);
    use('a');
    assert.equal(list.get(), [1]);
    assert.is(backend.entryCount(), 1);
  });

  test('ListState: addAll(get()) appends a copy of the list to itself, and update(get()) keeps it', async () => {
    const { backend, use } = await open();
    const list = backend.getListState<number>('l');
    use('k');
    list.addAll([1, 2, 3]);
    // The guard turns a backend that iterates the very list it appends to (and so never ends)
    // into a failure instead of a hung test.
    list.addAll(atMost(list.get(), 3, 'addAll(get()) iterated the list it was appending to'));
    assert.equal(list.get(), [1, 2, 3, 1, 2, 3]);
    list.update(list.get());
    assert.equal(list.get(), [1, 2, 3, 1, 2, 3]);
  });

  // ---------------------------------------------------------------- MapState

  test('MapState: an unset key reads empty: get undefined, contains false, isEmpty true, empty iterators', async () => {
    const { backend, use } = await open();
    const map = backend.getMapState<string, number>('m');
    use('a');
    map.put('x', 1);
    use('b');
    assert.is(map.get('x'), undefined);
    assert.is(map.contains('x'), false);
    assert.is(map.isEmpty(), true);
    assert.equal([...map.entries()], []);
    assert.equal([...map.keys()], []);
    assert.equal([...map.values()], []);
    assert.is(backend.entryCount(), 1, 'reading creates nothing');
  });

  test('MapState: put overwrites, putAll takes any iterable, and keys(), values(), entries() list each entry once', async () => {
    const { backend, use } = await open();
    const map = backend.getMapState<string, unknown>('m');
    use('a');
    map.put('x', 1);
    map.put('x', 2);
    map.putAll([
      ['y', { deep: [1] }],
      ['z', 3],
    ]);
    map.putAll(
      new Map<string, unknown>([
        ['w', 'w'],
        ['z', 30],
      ]),
    );
    assert.is(map.get('x'), 2);
    assert.equal(map.get('y'), { deep: [1] });
    assert.is(map.contains('w'), true);
    assert.is(map.isEmpty(), false);
    assertMapEntries(map, [
      ['x', 2],
      ['y', { deep: [1] }],
      ['z', 30],
      ['w', 'w'],
    ]);
    use('b');
    map.put('x', 'of b');
    assertMapEntries(map, [['x', 'of b']]);
    use('a');
    assert.is(map.get('x'), 2);
    assert.is(backend.entryCount(), 2, 'one entry per (state, key), however many user keys');
  });

  test('MapState: user keys 1, "1", 1n and true are distinct; falsy and null values are contained', async () => {
    const { backend, use } = await open();
    const map = backend.getMapState<unknown, unknown>('m');
    use('k');
    const entries: Array<[unknown, unknown]> = [
      [1, 'number'],
      ['1', 'string'],
      [1n, 'bigint'],
      [true, 'boolean'],
      ['true', 'string true'],
      ['', 0],
      [0, ''],
      [false, false],
      ['null', null],
    ];
    for (const [key, value] of entries) map.put(key, value);
    for (const [key, value] of entries) {
      assert.is(map.contains(key), true, `contains ${typeof key} ${String(key)}`);
      assert.is(map.get(key), value, `get ${typeof key} ${String(key)}`);
    }
    assert.is(map.contains(2), false);
    assertMapEntries(map, entries);
  });

  test('MapState: remove of an absent user key changes nothing; removing the last entry makes the map empty and frees it', async () => {
    const { backend, use } = await open();
    const map = backend.getMapState<string, number>('m');
    use('a');
    map.remove('nothing'); // on a key with no map at all
    assert.is(map.isEmpty(), true);
    assert.is(backend.entryCount(), 0);
    map.put('x', 1);
    map.put('y', 2);
    map.remove('nothing');
    map.remove('x');
    assert.is(map.contains('x'), false);
    assert.is(map.get('x'), undefined);
    assertMapEntries(map, [['y', 2]]);
    map.remove('y');
    assert.is(map.isEmpty(), true);
    assert.equal([...map.entries()], []);
    assert.is(backend.entryCount(), 0, 'an emptied map is no entry');
    map.put('z', 3);
    assertMapEntries(map, [['z', 3]]);
  });

  test('MapState: clear() empties the current key’s map only; put after clear starts a new map', async () => {
    const { backend, use } = await open();
    const map = backend.getMapState<string, number>('m');
    use('a');
    map.putAll([
      ['x', 1],
      ['y', 2],
    ]);
    use('b');
    map.put('x', 10);
    map.clear();
    assert.is(map.isEmpty(), true);
    assert.is(map.get('x'), undefined);
    map.put('q', 5);
    assertMapEntries(map, [['q', 5]]);
    use('a');
    assertMapEntries(map, [
      ['x', 1],
      ['y', 2],
    ]);
  });

  // ---------------------------------------------------------------- ReducingState

  test('ReducingState: get() is undefined until an add; the first value is stored without reduce, later ones fold as reduce(accumulated, value)', async () => {
    const { backend, use } = await open();
    const calls: Array<[string, string]> = [];
    const concat = backend.getReducingState<string>('r', (accumulated, value) => {
      calls.push([accumulated, value]);
      return `${accumulated}${value}`;
    });
    use('a');
    assert.is(concat.get(), undefined);
    concat.add('x');
    assert.equal(calls, [], 'the first value is stored as it is');
    assert.is(concat.get(), 'x');
    concat.add('y');
    concat.add('z');
    assert.is(concat.get(), 'xyz');
    assert.equal(calls, [
      ['x', 'y'],
      ['xy', 'z'],
    ]);
    use('b');
    assert.is(concat.get(), undefined);
    concat.add('b');
    use('a');
    assert.is(concat.get(), 'xyz');
  });

  test('ReducingState: a falsy first value is kept and folded; clear() starts over for the current key only', async () => {
    const { backend, use } = await open();
    const product = backend.getReducingState<number>('p', (a, b) => a * b);
    use('a');
    product.add(0);
    assert.is(product.get(), 0);
    product.add(5);
    assert.is(product.get(), 0);
    use('b');
    product.add(3);
    product.clear();
    assert.is(product.get(), undefined);
    assert.is(backend.entryCount(), 1);
    product.add(4);
    product.add(2);
    assert.is(product.get(), 8, 'a cleared reduction starts from the next value');
    use('a');
    assert.is(product.get(), 0);
  });

  // ---------------------------------------------------------------- AggregatingState

  test('AggregatingState: get() is undefined until an add; adds fold into one accumulator per key; get() is getResult', async () => {
    const { backend, use } = await open();
    let created = 0;
    const average: AggregateFunction<number, { sum: number; count: number }, number> = {
      createAccumulator: () => {
        created++;
        return { sum: 0, count: 0 };
      },
      add: (value, acc) => ({ sum: acc.sum + value, count: acc.count + 1 }),
      getResult: (acc) => acc.sum / acc.count,
    };
    const avg = backend.getAggregatingState('avg', average);
    use('a');
    assert.is(avg.get(), undefined);
    avg.add(2);
    avg.add(4);
    assert.is(avg.get(), 3);
    use('b');
    assert.is(avg.get(), undefined);
    avg.add(9);
    assert.is(avg.get(), 9);
    use('a');
    avg.add(6);
    assert.is(avg.get(), 4);
    assert.is(created, 2, 'one accumulator per key, created on its first add');
    assert.is(backend.entryCount(), 2);
  });

  test('AggregatingState: clear() starts from a fresh accumulator; an add that mutates its accumulator in place folds correctly', async () => {
    const { backend, use } = await open();
    const collect: AggregateFunction<string, string[], string> = {
      createAccumulator: () => [],
      add: (value, acc) => {
        acc.push(value); // in place, returning the same accumulator
        return acc;
      },
      getResult: (acc) => acc.join(','),
    };
    const joined = backend.getAggregatingState('joined', collect);
    use('a');
    joined.add('x');
    joined.add('y');
    use('b');
    joined.add('q');
    use('a');
    joined.add('z');
    assert.is(joined.get(), 'x,y,z');
    joined.clear();
    assert.is(joined.get(), undefined);
    assert.is(backend.entryCount(), 1);
    joined.add('w');
    assert.is(joined.get(), 'w', 'a cleared key starts from createAccumulator()');
    use('b');
    assert.is(joined.get(), 'q');
  });

  test('AggregatingState: a falsy accumulator (0) is kept and folded on', async () => {
    const { backend, use } = await open();
    const count: AggregateFunction<unknown, number, number> = {
      createAccumulator: () => 0,
      add: (_, acc) => acc + 1,
      getResult: (acc) => acc,
    };
    const zeroFirst: AggregateFunction<number, number, number> = {
      createAccumulator: () => 0,
      add: (value, acc) => acc * value,
      getResult: (acc) => acc,
    };
    const counted = backend.getAggregatingState('count', count);
    const product = backend.getAggregatingState('product', zeroFirst);
    use('k');
    counted.add('x');
    counted.add('y');
    assert.is(counted.get(), 2);
    product.add(5);
    assert.is(product.get(), 0, 'an accumulator of 0 is a value, not an absence');
    product.add(7);
    assert.is(product.get(), 0);
    assert.is(backend.entryCount(), 2);
  });

  // ---------------------------------------------------------------- Names, kinds, keys

  test('states with different names are independent, of the same kind and of different kinds under one key', async () => {
    const { backend, use } = await open();
    const x = backend.getValueState<number>('x');
    const y = backend.getValueState<number>('y');
    const list = backend.getListState<number>('list');
    const map = backend.getMapState<string, number>('map');
    const sum = backend.getReducingState<number>('sum', (a, b) => a + b);
    use('k');
    x.update(1);
    assert.is(y.value(), undefined);
    y.update(2);
    list.add(3);
    map.put('x', 4);
    sum.add(5);
    assert.is(x.value(), 1);
    x.clear();
    assert.is(y.value(), 2);
    assert.equal(list.get(), [3]);
    assert.is(map.get('x'), 4);
    assert.is(sum.get(), 5);
    assert.is(backend.entryCount(), 4);
  });

  test('getting a state again by name reads and writes the same data', async () => {
    const { backend, use } = await open();
    const first = backend.getListState<number>('l');
    use('k');
    first.add(1);
    const second = backend.getListState<number>('l');
    assert.equal(second.get(), [1]);
    second.add(2);
    assert.equal(first.get(), [1, 2]);
    assert.is(backend.entryCount(), 1);
  });

  test('one state name asked for as two kinds is WEIR_INVALID_ARGUMENT, for every pair of kinds', async () => {
    for (const first of KINDS) {
      const { backend } = await open();
      getHandle(backend, first, 's');
      for (const second of KINDS) {
        if (second === first) continue;
        throwsCode(() => getHandle(backend, second, 's'), 'WEIR_INVALID_ARGUMENT', `${first} asked for as ${second}`);
      }
      getHandle(backend, first, 's'); // the first kind still works
    }
  });

  test('a state name must be a non-empty string: WEIR_INVALID_ARGUMENT', async () => {
    const { backend } = await open();
    for (const kind of KINDS) {
      throwsCode(() => getHandle(backend, kind, ''), 'WEIR_INVALID_ARGUMENT', `${kind} named ''`);
      throwsCode(() => getHandle(backend, kind, 7 as never), 'WEIR_INVALID_ARGUMENT', `${kind} named 7`);
    }
  });

  test('handles can be got before any key is set, but every access before setCurrentKey is WEIR_STATE_ACCESS_OUTSIDE_KEY', async () => {
    const { backend, use } = await open();
    const value = backend.getValueState<number>('v');
    const list = backend.getListState<number>('l');
    const map = backend.getMapState<string, number>('m');
    const reducing = backend.getReducingState<number>('r', (a, b) => a + b);
    const aggregating = backend.getAggregatingState('a', AVERAGE);
    const accesses: Array<() => unknown> = [
      () => value.value(),
      () => value.update(1),
      () => value.clear(),
      () => list.get(),
      () => list.add(1),
      () => list.addAll([1]),
      () => list.update([1]),
      () => list.clear(),
      () => map.get('x'),
      () => map.put('x', 1),
      () => map.putAll([['x', 1]]),
      () => map.contains('x'),
      () => map.remove('x'),
      () => [...map.entries()],
      () => [...map.keys()],
      () => [...map.values()],
      () => map.isEmpty(),
      () => map.clear(),
      () => reducing.get(),
      () => reducing.add(1),
      () => reducing.clear(),
      () => aggregating.get(),
      () => aggregating.add(1),
      () => aggregating.clear(),
    ];
    for (const [i, access] of accesses.entries()) {
      throwsCode(access, 'WEIR_STATE_ACCESS_OUTSIDE_KEY', `access #${i}: ${String(access)}`);
    }
    assert.is(backend.entryCount(), 0, 'the failed writes changed nothing');
    assert.equal(backend.snapshot(), []);
    use('k');
    value.update(1);
    assert.is(value.value(), 1, 'after setCurrentKey the same handles work');
  });

  test('keys of every type address distinct state: 1, "1", 1n, true, "true", "", composites; equal composites built twice are one key', async () => {
    const { backend, use } = await open();
    const state = backend.getValueState<string>('v');
    const keys = DISTINCT_KEYS;
    for (const [i, key] of keys.entries()) {
      use(key);
      assert.is(state.value(), undefined, `key #${i} starts unset`);
      state.update(`#${i}`);
    }
    for (const [i, key] of keys.entries()) {
      use(structuredClone(key)); // built again, equal but not identical
      assert.is(state.value(), `#${i}`, `key #${i} ${describe(key)}`);
    }
    assert.is(backend.entryCount(), keys.length);
  });

  test('entryCount counts (state, key) pairs holding non-empty state, across every kind', async () => {
    const { backend, use } = await open();
    assert.is(backend.entryCount(), 0);
    const handles = handlesOf(backend);
    for (const key of ['a', 'b', 'c']) {
      use(key);
      handles.value.update(1);
      handles.list.add(1);
      handles.map.put('x', 1);
      handles.reducing.add(1);
      handles.aggregating.add(1);
    }
    assert.is(backend.entryCount(), 15);
    use('b');
    handles.value.clear();
    handles.list.update([]);
    handles.map.remove('x');
    handles.reducing.clear();
    handles.aggregating.clear();
    assert.is(backend.entryCount(), 10);
    use('a');
    handles.value.update(2); // overwriting adds nothing
    handles.list.add(2);
    handles.map.put('y', 2);
    assert.is(backend.entryCount(), 10);
  });

  test('keys(name) lists each key holding state `name` once, with its key group; after restore too; [] for an unknown name', async () => {
    const { backend, use } = await open();
    const map = backend.getMapState<string, number>('m');
    const value = backend.getValueState<number>('v');
    const keys = ['a', 7, 'a key with spaces', 3.5, true, 10n];
    for (const key of keys) {
      use(key);
      map.put('x', 1);
      map.put('y', 2); // two entries of one key: still one key
    }
    use('only-value');
    value.update(1);
    use(7);
    map.remove('x');
    map.remove('y'); // key 7 has no map entry left
    const expected = keys.filter((k) => k !== 7).map((k) => ({ key: canonicalKey(k), keyGroup: keyGroupOf(canonicalKey(k), MAX_PARALLELISM) }));
    const byKey = (a: { key: unknown }, b: { key: unknown }) => (String(a.key) < String(b.key) ? -1 : 1);
    assert.equal(backend.keys('m').sort(byKey), expected.sort(byKey));
    assert.equal(backend.keys('v'), [{ key: 'only-value', keyGroup: keyGroupOf('only-value', MAX_PARALLELISM) }]);
    assert.equal(backend.keys('never-registered'), []);
    const restored = await open();
    restored.backend.restore(backend.snapshot());
    assert.equal(restored.backend.keys('m').sort(byKey), expected.sort(byKey), 'restored state lists its keys before any handle is asked for');
  });

  snapshotRestoreConformance(test, harness, name);
  return test;
}

/** Yields `items`, failing once more than `max` were taken. */
function* atMost<T>(items: Iterable<T>, max: number, why: string): Generator<T> {
  let taken = 0;
  for (const item of items) {
    if (++taken > max) assert.unreachable(why);
    yield item;
  }
}
