/**
 * The randomized model test of the KeyedStateBackend conformance suite: thousands of seeded
 * random operations over every state type, each checked against a plain-JS model, with
 * snapshot/restore round trips and rescales in between. Runs on the test's thread.
 */
import * as assert from 'uvu/assert';
import { canonicalKey, type CanonicalKey } from '../../src/state/key-groups.ts';
import type { KeyGroupBlock } from '../../src/state/keyed-state-backend.ts';
import { assertMapEntries, AVERAGE, describe, type Average, type Cluster } from './keyed-state-harness.ts';

// ------------------------------------------------------------------ The randomized model test

/** mulberry32: a small seeded PRNG, so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The plain-JS model: per state, per canonical key, the expected content (absent = unset). */
interface Model {
  value: Map<CanonicalKey, unknown>;
  list: Map<CanonicalKey, unknown[]>;
  map: Map<CanonicalKey, Map<unknown, unknown>>;
  reducing: Map<CanonicalKey, number>;
  aggregating: Map<CanonicalKey, Average>;
}

const OPERATIONS = 5000;
const MODEL_KEYS = 200;
/** At these operation counts all backends are snapshotted and replaced by `parallelism` new ones. */
const ROUND_TRIPS: ReadonlyArray<{ at: number; parallelism: number }> = [
  { at: 1000, parallelism: 1 },
  { at: 2000, parallelism: 2 },
  { at: 3000, parallelism: 3 },
  { at: 4000, parallelism: 1 },
];
/** At this count a snapshot and a copy of the model are kept, to be checked at the end. */
const HELD_AT = 2500;

export async function runModelTest(
  seed: number,
  openCluster: (parallelism: number, blocks?: KeyGroupBlock[]) => Promise<Cluster>,
): Promise<void> {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const keys = Array.from({ length: MODEL_KEYS }, (_, i) => (i % 7 === 3 ? ['k', i] : i % 7 === 5 ? BigInt(i) : i % 2 === 0 ? i : `k${i}`));
  const mapKeys = ['a', 'b', 'c', '', '1', 1, 2, 0, 1n, true];
  const model: Model = { value: new Map(), list: new Map(), map: new Map(), reducing: new Map(), aggregating: new Map() };
  const randomValue = (): unknown => {
    switch (int(8)) {
      case 0:
        return int(1000) - 500;
      case 1:
        return `s${int(100)}`;
      case 2:
        return { n: int(10), nested: { list: [int(5), undefined, 'x'] } };
      case 3:
        return new Map<unknown, unknown>([[int(3), 'v'], ['k', new Set([int(3)])]]);
      case 4:
        return new Set([int(4), `${int(4)}`]);
      case 5:
        return new Date(int(1e12));
      case 6:
        return BigInt(int(1e6)) * 10n ** 15n;
      default:
        return [int(3) === 0, null, [undefined]];
    }
  };

  let cluster = await openCluster(1);
  let held: { blocks: KeyGroupBlock[]; model: Model } | undefined;

  const checkKey = (key: unknown, where: string): void => {
    const h = cluster.use(key);
    const ck = canonicalKey(key);
    const what = `${where}, key ${describe(key)} (seed ${seed})`;
    assert.equal(h.value.value(), model.value.get(ck), `${what}: value`);
    assert.equal(h.list.get(), model.list.get(ck) ?? [], `${what}: list`);
    assertMapEntries(h.map, [...(model.map.get(ck) ?? [])], `${what}: map`);
    assert.is(h.reducing.get(), model.reducing.get(ck), `${what}: reducing`);
    const acc = model.aggregating.get(ck);
    assert.is(h.aggregating.get(), acc === undefined ? undefined : AVERAGE.getResult(acc), `${what}: aggregating`);
  };
  const checkAll = (where: string): void => {
    for (const key of keys) checkKey(key, where);
    const entries = model.value.size + model.list.size + model.map.size + model.reducing.size + model.aggregating.size;
    assert.is(cluster.entryCount(), entries, `${where}: entryCount (seed ${seed})`);
  };

  for (let op = 0; op < OPERATIONS; op++) {
    const roundTrip = ROUND_TRIPS.find((r) => r.at === op);
    if (roundTrip !== undefined) {
      checkAll(`before round trip at op ${op}`);
      cluster = await openCluster(roundTrip.parallelism, cluster.snapshot());
      checkAll(`after round trip at op ${op} into parallelism ${roundTrip.parallelism}`);
    }
    if (op === HELD_AT) held = { blocks: cluster.snapshot(), model: structuredClone(model) };
    const key = pick(keys);
    const ck = canonicalKey(key);
    const h = cluster.use(key);
    const r = int(100);
    if (r < 20) {
      // ValueState
      if (r < 12) {
        const value = randomValue();
        h.value.update(value);
        model.value.set(ck, value);
      } else if (r < 15) {
        h.value.update(int(2) === 0 ? null : undefined);
        model.value.delete(ck);
      } else {
        h.value.clear();
        model.value.delete(ck);
      }
    } else if (r < 40) {
      // ListState
      const current = model.list.get(ck) ?? [];
      if (r < 28) {
        const value = randomValue();
        h.list.add(value);
        model.list.set(ck, [...current, value]);
      } else if (r < 33) {
        const values = Array.from({ length: int(4) }, randomValue);
        h.list.addAll(values);
        if (current.length + values.length > 0) model.list.set(ck, [...current, ...values]);
      } else if (r < 37) {
        const values = Array.from({ length: int(3) }, randomValue);
        h.list.update(values);
        if (values.length > 0) model.list.set(ck, values);
        else model.list.delete(ck);
      } else {
        h.list.clear();
        model.list.delete(ck);
      }
    } else if (r < 65) {
      // MapState
      const current = new Map(model.map.get(ck) ?? []);
      if (r < 50) {
        const userKey = pick(mapKeys);
        const value = randomValue();
        h.map.put(userKey, value);
        current.set(userKey, value);
      } else if (r < 54) {
        const entries: Array<[unknown, unknown]> = Array.from({ length: int(3) }, () => [pick(mapKeys), randomValue()]);
        h.map.putAll(entries);
        for (const [k, v] of entries) current.set(k, v);
      } else if (r < 62) {
        const userKey = pick(mapKeys);
        h.map.remove(userKey);
        current.delete(userKey);
      } else {
        h.map.clear();
        current.clear();
      }
      if (current.size > 0) model.map.set(ck, current);
      else model.map.delete(ck);
    } else if (r < 80) {
      // ReducingState
      if (r < 76) {
        const value = int(200) - 100;
        h.reducing.add(value);
        const current = model.reducing.get(ck);
        model.reducing.set(ck, current === undefined ? value : current + value);
      } else {
        h.reducing.clear();
        model.reducing.delete(ck);
      }
    } else {
      // AggregatingState
      if (r < 96) {
        const value = int(100);
        h.aggregating.add(value);
        model.aggregating.set(ck, AVERAGE.add(value, model.aggregating.get(ck) ?? AVERAGE.createAccumulator()));
      } else {
        h.aggregating.clear();
        model.aggregating.delete(ck);
      }
    }
    checkKey(key, `after op ${op}`);
    if (op % 500 === 499) checkAll(`at op ${op}`);
  }
  checkAll('at the end');

  // The snapshot held since HELD_AT still restores the state of that moment.
  cluster = await openCluster(2, held!.blocks);
  Object.assign(model, held!.model);
  checkAll(`restoring the snapshot held since op ${HELD_AT}`);
}

