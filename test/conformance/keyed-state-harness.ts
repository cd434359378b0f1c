/**
 * The harness of the KeyedStateBackend conformance suite: opening backends the way the keyed
 * operator does (one per subtask, restored from the blocks its key-group range owns), the
 * fixture state written and verified across snapshots, and assertions that hold for every
 * backend (MapState compared as a set). Used by the suite's files only, on the test's thread.
 */
import * as assert from 'uvu/assert';
import { WeirError, type WeirErrorCode } from '../../src/errors.ts';
import { canonicalKey, keyGroupOf, keyGroupRangeFor, type KeyGroupRange } from '../../src/state/key-groups.ts';
import type { KeyedStateBackend, KeyGroupBlock } from '../../src/state/keyed-state-backend.ts';
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  ReducingState,
  ValueState,
} from '../../src/state/state.ts';

export type CreateKeyedStateBackend = (range: KeyGroupRange, maxParallelism: number) => KeyedStateBackend | Promise<KeyedStateBackend>;

export const MAX_PARALLELISM = 128;
export const FULL: KeyGroupRange = { start: 0, end: MAX_PARALLELISM - 1 };

/** A backend under test with the key-setting the keyed operator does. */
export interface Subject {
  readonly backend: KeyedStateBackend;
  /** Makes `key` (as a key selector returned it) current, with its key group. */
  use(key: unknown): void;
}

/** Opens backends for one test and disposes them after it. */
export interface Harness {
  /** A new backend owning `range`. */
  open(range?: KeyGroupRange, maxParallelism?: number): Promise<Subject>;
  /** The backends of one operator at `parallelism`, each restored from the blocks its range owns. */
  openCluster(parallelism: number, blocks?: KeyGroupBlock[], maxParallelism?: number): Promise<Cluster>;
  /** Disposes `backend` now instead of after the test. */
  dispose(backend: KeyedStateBackend): void;
  /** Disposes every backend opened since the last call. */
  disposeAll(): void;
}

export function createHarness(create: CreateKeyedStateBackend): Harness {
  let opened: KeyedStateBackend[] = [];
  const harness: Harness = {
    async open(range = FULL, maxParallelism = MAX_PARALLELISM) {
      const backend = await create(range, maxParallelism);
      opened.push(backend);
      return {
        backend,
        use(key) {
          const canonical = canonicalKey(key);
          backend.setCurrentKey(canonical, keyGroupOf(canonical, maxParallelism));
        },
      };
    },
    async openCluster(parallelism, blocks = [], maxParallelism = MAX_PARALLELISM) {
      const subjects: Subject[] = [];
      for (let subtaskIndex = 0; subtaskIndex < parallelism; subtaskIndex++) {
        const range = keyGroupRangeFor(subtaskIndex, parallelism, maxParallelism);
        const subject = await harness.open(range, maxParallelism);
        // As the keyed operator does: every block of the old snapshots, clipped to its range.
        subject.backend.restore(blocks.filter((block) => inRange(block.keyGroup, range)));
        subjects.push(subject);
      }
      return new Cluster(subjects, maxParallelism);
    },
    dispose(backend) {
      opened = opened.filter((b) => b !== backend);
      backend.dispose();
    },
    disposeAll() {
      const backends = opened;
      opened = [];
      for (const backend of backends) backend.dispose();
    },
  };
  return harness;
}

export type Kind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';
export const KINDS: readonly Kind[] = ['value', 'list', 'map', 'reducing', 'aggregating'];

export interface Average {
  sum: number;
  count: number;
}

export const AVERAGE: AggregateFunction<number, Average, number> = {
  createAccumulator: () => ({ sum: 0, count: 0 }),
  add: (value, acc) => ({ sum: acc.sum + value, count: acc.count + 1 }),
  getResult: (acc) => acc.sum / acc.count,
};

/** Distinct strings seen, as a sorted array; the accumulator is a Set. */
export const DISTINCT: AggregateFunction<string, Set<string>, string[]> = {
  createAccumulator: () => new Set(),
  add: (value, acc) => new Set([...acc, value]),
  getResult: (acc) => [...acc].sort(),
};

export const sum = (a: number, b: number): number => a + b;

/** The five states the fixtures and the model test use, one of each kind. */
export interface Handles {
  readonly value: ValueState<unknown>;
  readonly list: ListState<unknown>;
  readonly map: MapState<unknown, unknown>;
  readonly reducing: ReducingState<number>;
  readonly aggregating: AggregatingState<number, number>;
}

export function handlesOf(backend: KeyedStateBackend): Handles {
  return {
    value: backend.getValueState('value'),
    list: backend.getListState('list'),
    map: backend.getMapState('map'),
    reducing: backend.getReducingState('reducing', sum),
    aggregating: backend.getAggregatingState('aggregating', AVERAGE),
  };
}

export function getHandle(backend: KeyedStateBackend, kind: Kind, name: string): unknown {
  switch (kind) {
    case 'value':
      return backend.getValueState(name);
    case 'list':
      return backend.getListState(name);
    case 'map':
      return backend.getMapState(name);
    case 'reducing':
      return backend.getReducingState(name, sum);
    case 'aggregating':
      return backend.getAggregatingState(name, AVERAGE);
  }
}

/** One entry in each of the five states for the current key, derived from `n`. */
export function writeAll(handles: Handles, n: number): void {
  handles.value.update({ n });
  handles.list.addAll([n, `${n}`]);
  handles.map.put('m', n);
  handles.map.put(1, [n]);
  handles.reducing.add(n);
  handles.reducing.add(n);
  handles.aggregating.add(n);
}

export function assertWritten(handles: Handles, n: number, what: string): void {
  assert.equal(handles.value.value(), { n }, `${what}: value`);
  assert.equal(handles.list.get(), [n, `${n}`], `${what}: list`);
  assertMapEntries(handles.map, [
    ['m', n],
    [1, [n]],
  ]);
  assert.is(handles.reducing.get(), 2 * n, `${what}: reducing`);
  assert.is(handles.aggregating.get(), n, `${what}: aggregating`);
}

/** Keys that must all address different state. */
export const DISTINCT_KEYS: readonly unknown[] = [
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
  2n ** 64n,
  'ü-日本-🙂',
  '\u0000lead',
  ['a', 1],
  ['a', '1'],
  [['a'], 1],
  { id: 1 },
  { id: '1' },
  { id: 1, more: [true] },
  [],
  {},
];

export function describe(key: unknown): string {
  return typeof key === 'bigint' ? `${key}n` : `${typeof key} ${JSON.stringify(key)}`;
}

/** Fixture keys: strings, numbers, bigints, arrays and objects, 150 of them. */
export const FIXTURE_KEYS: readonly unknown[] = Array.from({ length: 150 }, (_, i) => {
  switch (i % 5) {
    case 0:
      return `user-${i}`;
    case 1:
      return i;
    case 2:
      return BigInt(i) * 1_000_003n;
    case 3:
      return ['pair', i];
    default:
      return { id: i };
  }
});

/** The reducing state's content for fixture key #i (absent for every fifth key). */
export function fixtureSum(i: number): number | undefined {
  return i % 5 === 4 ? undefined : i + 1;
}

/** How many (state, key) entries fixture key #i holds. */
export function fixtureEntries(i: number): number {
  if (i % 11 === 10) return 0; // written, then cleared
  return 1 + (i % 3 === 0 ? 0 : 1) + (i % 2 === 0 ? 1 : 0) + (fixtureSum(i) === undefined ? 0 : 1) + (i % 4 === 3 ? 0 : 1);
}

/** Writes a fixed pattern of all five states for `keys` (some absent, some written then cleared). */
export function writeFixture(cluster: Cluster, keys: readonly unknown[]): void {
  for (const [i, key] of keys.entries()) {
    const h = cluster.use(key);
    h.value.update({ key: i, label: `value ${i}`, at: new Date(i * 1000) });
    if (i % 3 !== 0) h.list.addAll([i, `item ${i}`]);
    if (i % 2 === 0) {
      h.map.put('count', i);
      h.map.put(i, new Set([i]));
      h.map.put('gone', 0);
      h.map.remove('gone');
    }
    if (fixtureSum(i) !== undefined) {
      h.reducing.add(i);
      h.reducing.add(1);
    }
    if (i % 4 !== 3) {
      h.aggregating.add(i);
      h.aggregating.add(i + 2);
    }
    if (i % 11 === 10) {
      h.value.clear();
      h.list.clear();
      h.map.clear();
      h.reducing.clear();
      h.aggregating.clear();
    }
  }
}

export function verifyFixture(cluster: Cluster, keys: readonly unknown[]): void {
  for (const [i, key] of keys.entries()) {
    const h = cluster.use(key);
    const what = `fixture key #${i} ${describe(key)}`;
    const cleared = i % 11 === 10;
    assert.equal(h.value.value(), cleared ? undefined : { key: i, label: `value ${i}`, at: new Date(i * 1000) }, `${what}: value`);
    assert.equal(h.list.get(), cleared || i % 3 === 0 ? [] : [i, `item ${i}`], `${what}: list`);
    assertMapEntries(
      h.map,
      cleared || i % 2 !== 0
        ? []
        : [
            ['count', i],
            [i, new Set([i])],
          ],
    );
    assert.is(h.reducing.get(), cleared ? undefined : fixtureSum(i), `${what}: reducing`);
    assert.is(h.aggregating.get(), cleared || i % 4 === 3 ? undefined : i + 1, `${what}: aggregating`);
  }
  assert.is(cluster.entryCount(), totalEntries(keys), 'entryCount');
}

/** The subtasks of one keyed operator: routes each key to the backend owning its key group. */
export class Cluster {
  readonly #handles = new Map<KeyedStateBackend, Handles>();

  constructor(
    readonly subjects: readonly Subject[],
    readonly maxParallelism: number,
  ) {}

  /** Makes `key` current on its owning backend and returns that backend's handles. */
  use(key: unknown): Handles {
    const keyGroup = keyGroupOf(canonicalKey(key), this.maxParallelism);
    const subject = this.subjects.find((s) => inRange(keyGroup, s.backend.keyGroupRange));
    if (subject === undefined) throw new Error(`no backend owns key group ${keyGroup}`);
    subject.use(key);
    let handles = this.#handles.get(subject.backend);
    if (handles === undefined) this.#handles.set(subject.backend, (handles = handlesOf(subject.backend)));
    return handles;
  }

  /** Every backend's blocks, as the checkpoint holds them. */
  snapshot(): KeyGroupBlock[] {
    return this.subjects.flatMap((s) => s.backend.snapshot());
  }

  entryCount(): number {
    return this.subjects.reduce((n, s) => n + s.backend.entryCount(), 0);
  }
}

export function inRange(keyGroup: number, range: KeyGroupRange): boolean {
  return keyGroup >= range.start && keyGroup <= range.end;
}

export const MAP_USER_KEYS: readonly unknown[] = ['a', 'b', '', '1', 1, 0, 1.5, -3, 1n, 2n ** 80n, true, false];

/** A value using every kind of thing the v8 serializer supports. */
export function richValue(i: number) {
  return {
    n: i,
    text: `ü${i}🙂\u0000`,
    when: new Date(Date.UTC(2024, 0, i + 1)),
    tags: new Set<unknown>(['a', i, 1n, new Date(0)]),
    index: new Map<unknown, unknown>([
      [i, 'number key'],
      [`${i}`, 'string key'],
      [{ composite: i }, new Set([i])],
    ]),
    big: BigInt(i) * 10n ** 20n,
    sparse: [i, undefined, 'x'],
    nested: { deep: { deeper: [[i], { i }] }, missing: undefined, nothing: null },
    bytes: new Uint8Array([i, 255, 0]),
    floats: new Float64Array([i / 3, -1e300]),
    pattern: /a+b/gi,
    special: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MAX_SAFE_INTEGER],
    negativeZero: -0,
    flags: [true, false],
  };
}

/** Asserts the map holds exactly `expected`, in any order, each entry listed once by every iterator. */
export function assertMapEntries(map: MapState<unknown, unknown>, expected: ReadonlyArray<readonly [unknown, unknown]>, what = 'map'): void {
  const entries = [...map.entries()];
  const keys = [...map.keys()];
  const values = [...map.values()];
  const order = (a: readonly [unknown, unknown], b: readonly [unknown, unknown]): number => cmp(userKeyId(a[0]), userKeyId(b[0]));
  assert.equal(entries.slice().sort(order), expected.map(([k, v]): [unknown, unknown] => [k, v]).sort(order), `${what}: entries()`);
  assert.equal(keys.map(userKeyId).sort(), entries.map(([k]) => userKeyId(k)).sort(), `${what}: keys() lists the keys of entries()`);
  assert.equal(
    values.map((v) => sortable(v)).sort(),
    entries.map(([, v]) => sortable(v)).sort(),
    `${what}: values() lists the values of entries()`,
  );
  assert.is(map.isEmpty(), expected.length === 0, `${what}: isEmpty()`);
  for (const [key, value] of expected) {
    assert.ok(map.contains(key), `${what}: contains ${userKeyId(key)}`);
    assert.equal(map.get(key), value, `${what}: get ${userKeyId(key)}`);
  }
}

/** A user key as a string that keeps 1, '1', 1n and true apart. */
export function userKeyId(key: unknown): string {
  return `${typeof key}:${String(key)}`;
}

/** A value as a string for comparing multisets (v8-serializer values; not JSON-safe in general). */
export function sortable(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Map) return ['Map', [...v]];
    if (v instanceof Set) return ['Set', [...v]];
    if (v === undefined) return '<undefined>';
    return v;
  });
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Asserts `fn` throws a WeirError with `code`. */
export function throwsCode(fn: () => unknown, code: WeirErrorCode, what: string): void {
  let thrown: unknown;
  let threw = false;
  try {
    fn();
  } catch (error) {
    threw = true;
    thrown = error;
  }
  if (!threw) assert.unreachable(`expected ${code} (${what}), nothing was thrown`);
  assert.instance(thrown, WeirError, `${what}: ${String(thrown)}`);
  assert.is((thrown as WeirError).code, code, `${what}: ${(thrown as WeirError).message}`);
}
/** The (state, key) entries the fixture holds for `keys`, or for those of them `owned` picks. */
export function totalEntries(keys: readonly unknown[], owned: (key: unknown) => boolean = () => true): number {
  let entries = 0;
  for (const [i, key] of keys.entries()) if (owned(key)) entries += fixtureEntries(i);
  return entries;
}
