/**
 * The snapshot, restore and rescale half of the KeyedStateBackend conformance suite (see
 * keyed-state-backend.conformance.ts for the contract), registered on the caller's suite.
 */
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalKey, keyGroupOf, keyGroupRangeFor } from '../../src/state/key-groups.ts';
import type { KeyGroupBlock } from '../../src/state/keyed-state-backend.ts';
import {
  assertMapEntries,
  assertWritten,
  Cluster,
  describe,
  DISTINCT,
  DISTINCT_KEYS,
  FIXTURE_KEYS,
  fixtureEntries,
  fixtureSum,
  getHandle,
  handlesOf,
  inRange,
  KINDS,
  MAP_USER_KEYS,
  MAX_PARALLELISM,
  richValue,
  throwsCode,
  totalEntries,
  verifyFixture,
  writeAll,
  writeFixture,
  type Harness,
} from './keyed-state-harness.ts';
import { runModelTest } from './keyed-state-model.ts';

export function snapshotRestoreConformance(test: Test, harness: Harness, name: string): void {
  const { open, openCluster } = harness;

  test('an empty backend, and one whose state was all cleared, snapshots to no blocks', async () => {
    const { backend, use } = await open();
    assert.equal(backend.snapshot(), []);
    const handles = handlesOf(backend);
    use('k');
    writeAll(handles, 1);
    assert.ok(backend.snapshot().length > 0);
    handles.value.update(null);
    handles.list.update([]);
    handles.map.remove('m');
    handles.map.remove(1);
    handles.reducing.clear();
    handles.aggregating.clear();
    assert.is(backend.entryCount(), 0);
    assert.equal(backend.snapshot(), []);
  });

  test('snapshot gives one block per non-empty key group, ascending, under its maxParallelism; each block alone restores its key group', async () => {
    for (const maxParallelism of [MAX_PARALLELISM, 10]) {
      const source = await openCluster(1, [], maxParallelism);
      writeFixture(source, FIXTURE_KEYS);
      const blocks = source.snapshot();
      const groupOf = (key: unknown): number => keyGroupOf(canonicalKey(key), maxParallelism);
      const live = FIXTURE_KEYS.filter((_, i) => fixtureEntries(i) > 0);
      const expected = [...new Set(live.map(groupOf))].sort((a, b) => a - b);
      assert.equal(blocks.map((block) => block.keyGroup), expected, `maxParallelism ${maxParallelism}`);
      for (const block of blocks) {
        assert.instance(block.bytes, Uint8Array);
        const single = await open({ start: block.keyGroup, end: block.keyGroup }, maxParallelism);
        single.backend.restore([block]);
        const entries = totalEntries(FIXTURE_KEYS, (key) => groupOf(key) === block.keyGroup);
        assert.is(single.backend.entryCount(), entries, `key group ${block.keyGroup}`);
      }
    }
  });

  test('restoring all blocks into a new backend reproduces every state of every key, and the restored states fold on', async () => {
    const source = await openCluster(1);
    writeFixture(source, FIXTURE_KEYS);
    const target = await openCluster(1, source.snapshot());
    verifyFixture(target, FIXTURE_KEYS);
    for (const [i, key] of FIXTURE_KEYS.entries()) {
      const handles = target.use(key);
      const cleared = i % 11 === 10;
      handles.reducing.add(1000);
      assert.is(handles.reducing.get(), (cleared ? 0 : (fixtureSum(i) ?? 0)) + 1000);
      handles.aggregating.add(i + 1); // the average of i, i + 2 and i + 1, or of i + 1 alone
      assert.is(handles.aggregating.get(), i + 1);
      handles.list.add('more');
      handles.map.put('more', i);
      assert.is(handles.map.get('more'), i);
    }
  });

  test('values of every kind the v8 serializer supports round-trip through snapshot and restore in every state type', async () => {
    const { backend, use } = await open();
    const handles = handlesOf(backend);
    const bigSum = backend.getReducingState<bigint>('bigSum', (a, b) => a + b);
    const mapMerge = backend.getReducingState<Map<string, number>>('mapMerge', (a, b) => new Map([...a, ...b]));
    const distinct = backend.getAggregatingState('distinct', DISTINCT);
    const keys = ['rich', 7, 7n, ['rich', 7]];
    for (const [i, key] of keys.entries()) {
      use(key);
      handles.value.update(richValue(i));
      handles.list.addAll([richValue(i), i, 10n ** 30n, new Date(i), [undefined, i]]);
      for (const [j, userKey] of MAP_USER_KEYS.entries()) handles.map.put(userKey, j % 2 === 0 ? richValue(i + j) : j);
      bigSum.add(2n ** 70n);
      bigSum.add(BigInt(i));
      mapMerge.add(new Map([['a', i]]));
      mapMerge.add(new Map([['b', i]]));
      for (const seen of ['x', 'y', 'x', `k${i}`]) distinct.add(seen);
    }
    const { backend: restored, use: useRestored } = await open();
    restored.restore(backend.snapshot());
    assert.is(restored.entryCount(), backend.entryCount());
    const r = handlesOf(restored);
    const rBigSum = restored.getReducingState<bigint>('bigSum', (a, b) => a + b);
    const rMapMerge = restored.getReducingState<Map<string, number>>('mapMerge', (a, b) => new Map([...a, ...b]));
    const rDistinct = restored.getAggregatingState('distinct', DISTINCT);
    for (const [i, key] of keys.entries()) {
      useRestored(key);
      const value = r.value.value() as ReturnType<typeof richValue>;
      assert.equal(value, richValue(i), `value of ${describe(key)}`);
      assert.ok(Object.is(value.negativeZero, -0), '-0 stays -0');
      assert.ok(value.when instanceof Date && value.tags instanceof Set && value.index instanceof Map && value.bytes instanceof Uint8Array);
      assert.is(typeof value.big, 'bigint');
      assert.ok(value.sparse.length === 3 && 1 in value.sparse, 'undefined inside an array is an element');
      assert.ok('missing' in value.nested, 'an undefined property is kept');
      assert.equal(r.list.get(), [richValue(i), i, 10n ** 30n, new Date(i), [undefined, i]]);
      assertMapEntries(
        r.map,
        MAP_USER_KEYS.map((userKey, j) => [userKey, j % 2 === 0 ? richValue(i + j) : j]),
      );
      assert.is(rBigSum.get(), 2n ** 70n + BigInt(i));
      assert.equal(rMapMerge.get(), new Map([['a', i], ['b', i]]));
      assert.equal(rDistinct.get(), ['x', 'y', `k${i}`].sort());
      rDistinct.add('z');
      assert.equal(rDistinct.get(), ['x', 'y', `k${i}`, 'z'].sort(), 'the restored accumulator (a Set) folds on');
    }
  });

  test('cyclic and shared references inside one value survive snapshot and restore', async () => {
    const { backend, use } = await open();
    const state = backend.getValueState<{ a: object; b: object; node: { name: string; self?: unknown } }>('v');
    use('k');
    const shared = { shared: true };
    const node: { name: string; self?: unknown } = { name: 'node' };
    node.self = node;
    state.update({ a: shared, b: shared, node });
    const { backend: restored, use: useRestored } = await open();
    restored.restore(backend.snapshot());
    useRestored('k');
    const value = restored.getValueState<{ a: object; b: object; node: { name: string; self?: unknown } }>('v').value()!;
    assert.is(value.a, value.b, 'a shared object stays shared');
    assert.is(value.node.self, value.node, 'a cycle stays a cycle');
    assert.is(value.node.name, 'node');
  });

  test('keys of every type stay distinct through snapshot and restore, also 1, "1" and 1n, which share a key group', async () => {
    assert.is(keyGroupOf(1, MAX_PARALLELISM), keyGroupOf('1', MAX_PARALLELISM));
    assert.is(keyGroupOf(1n, MAX_PARALLELISM), keyGroupOf('1', MAX_PARALLELISM));
    const { backend, use } = await open();
    const handles = handlesOf(backend);
    for (const [i, key] of DISTINCT_KEYS.entries()) {
      use(key);
      handles.value.update(`#${i}`);
      handles.map.put(i, key);
    }
    const { backend: restored, use: useRestored } = await open();
    restored.restore(backend.snapshot());
    const r = handlesOf(restored);
    for (const [i, key] of DISTINCT_KEYS.entries()) {
      useRestored(key);
      assert.is(r.value.value(), `#${i}`, `key #${i} ${describe(key)}`);
      assertMapEntries(r.map, [[i, key]]);
    }
    assert.is(restored.entryCount(), 2 * DISTINCT_KEYS.length);
  });

  test('a snapshot is not affected by later updates, clears, new keys, in-place mutation of values read, or dispose', async () => {
    const { backend, use } = await open();
    const handles = handlesOf(backend);
    const object = backend.getValueState<{ n: number; items: number[] }>('object');
    use('a');
    writeAll(handles, 1);
    object.update({ n: 1, items: [1] });
    use('b');
    writeAll(handles, 2);
    const blocks = backend.snapshot();
    const copies = blocks.map((block) => Uint8Array.from(block.bytes));
    use('a');
    object.value()!.n = 99; // in place: a live reference on heap, a copy elsewhere
    object.value()!.items.push(99);
    handles.list.get().push(99);
    writeAll(handles, 3);
    use('b');
    handles.value.clear();
    handles.list.update([]);
    handles.map.clear();
    handles.reducing.clear();
    handles.aggregating.clear();
    use('c');
    writeAll(handles, 4);
    harness.dispose(backend);
    assert.equal(blocks.map((block) => Uint8Array.from(block.bytes)), copies, 'the bytes are unchanged');
    const { backend: restored, use: useRestored } = await open();
    restored.restore(blocks);
    const r = handlesOf(restored);
    useRestored('a');
    assertWritten(r, 1, 'key a');
    assert.equal(restored.getValueState('object').value(), { n: 1, items: [1] });
    useRestored('b');
    assertWritten(r, 2, 'key b');
    useRestored('c');
    assert.is(r.value.value(), undefined, 'key c came after the snapshot');
    assert.is(restored.entryCount(), 11);
  });

  test('restore comes before any handle is requested; handles then see the restored values and a restored state keeps its kind', async () => {
    const { backend, use } = await open();
    use('k');
    writeAll(handlesOf(backend), 5);
    const { backend: restored, use: useRestored } = await open();
    restored.restore(backend.snapshot());
    for (const kind of KINDS) {
      for (const other of KINDS) {
        if (other !== kind) throwsCode(() => getHandle(restored, other, kind), 'WEIR_INVALID_ARGUMENT', `restored ${kind} asked for as ${other}`);
      }
    }
    useRestored('k');
    assertWritten(handlesOf(restored), 5, 'restored');
  });

  test('a restored backend snapshotted before any handle was requested still carries all restored state', async () => {
    const source = await openCluster(1);
    writeFixture(source, FIXTURE_KEYS);
    const middle = await openCluster(1, source.snapshot());
    const target = await openCluster(1, middle.snapshot());
    verifyFixture(target, FIXTURE_KEYS);
  });

  test('restore takes blocks in any order, from any iterable, and over several calls', async () => {
    const source = await openCluster(1);
    writeFixture(source, FIXTURE_KEYS);
    const blocks = source.snapshot();
    const reversed = await open();
    reversed.backend.restore(
      (function* reverse(): Generator<KeyGroupBlock> {
        for (let i = blocks.length - 1; i >= 0; i--) yield blocks[i]!;
      })(),
    );
    verifyFixture(new Cluster([reversed], MAX_PARALLELISM), FIXTURE_KEYS);
    const piecewise = await open();
    for (let i = 0; i < blocks.length; i += 7) piecewise.backend.restore(blocks.slice(i, i + 7));
    verifyFixture(new Cluster([piecewise], MAX_PARALLELISM), FIXTURE_KEYS);
  });

  for (const [from, to, maxParallelism] of [
    [1, 2, MAX_PARALLELISM],
    [3, 1, MAX_PARALLELISM],
    [2, 3, MAX_PARALLELISM],
    [3, 2, 10],
  ] as const) {
    test(`rescale ${from} → ${to} (maxParallelism ${maxParallelism}): each backend restores exactly the keys of its key-group range`, async () => {
      const source = await openCluster(from, [], maxParallelism);
      writeFixture(source, FIXTURE_KEYS);
      assert.is(source.entryCount(), totalEntries(FIXTURE_KEYS));
      const target = await openCluster(to, source.snapshot(), maxParallelism);
      for (const [subtaskIndex, subject] of target.subjects.entries()) {
        const range = subject.backend.keyGroupRange;
        assert.equal(range, keyGroupRangeFor(subtaskIndex, to, maxParallelism));
        const own = totalEntries(FIXTURE_KEYS, (key) => inRange(keyGroupOf(canonicalKey(key), maxParallelism), range));
        assert.ok(own > 0, `subtask ${subtaskIndex} of ${to} owns some keys`);
        assert.is(subject.backend.entryCount(), own, `subtask ${subtaskIndex} of ${to} holds exactly its keys`);
        assert.ok(subject.backend.snapshot().every((block) => inRange(block.keyGroup, range)));
      }
      verifyFixture(target, FIXTURE_KEYS);
    });
  }

  test('restoring a block outside the backend’s key-group range is WEIR_INTERNAL, below and above the range', async () => {
    const source = await openCluster(1);
    writeFixture(source, FIXTURE_KEYS);
    const blocks = source.snapshot();
    const lower = keyGroupRangeFor(0, 2, MAX_PARALLELISM);
    const upper = keyGroupRangeFor(1, 2, MAX_PARALLELISM);
    const above = blocks.find((block) => block.keyGroup > lower.end)!;
    const below = blocks.find((block) => block.keyGroup < upper.start)!;
    const lowerBackend = await open(lower);
    throwsCode(() => lowerBackend.backend.restore([above]), 'WEIR_INTERNAL', `key group ${above.keyGroup} into [${lower.start}, ${lower.end}]`);
    const upperBackend = await open(upper);
    throwsCode(() => upperBackend.backend.restore([below]), 'WEIR_INTERNAL', `key group ${below.keyGroup} into [${upper.start}, ${upper.end}]`);
  });

  test('randomized model: ~5000 operations over every state type and 200 keys match a plain model across snapshots, restores and rescales', async () => {
    const seed = Number(process.env.WEIR_CONFORMANCE_SEED ?? Math.floor(Math.random() * 2 ** 32));
    console.log(`  [${name}] keyed state model test seed ${seed} (rerun with WEIR_CONFORMANCE_SEED=${seed})`);
    await runModelTest(seed, openCluster);
  });
}
