/**
 * Keyed state on the JavaScript heap (Flink's HashMap state backend): one Map per state name
 * from canonical key to value. Runs on the subtask's worker thread. Values are stored by
 * reference: a function that mutates a value it read mutates the stored state, as in Flink's
 * heap backend; snapshots (checkpoint issue) serialize at the barrier.
 */
import { WeirError } from '../../errors.ts';
import { deserialize, serialize } from 'node:v8';
import { keyGroupOf, type CanonicalKey, type KeyGroupRange } from '../key-groups.ts';
import type { KeyedStateBackend, KeyGroupBlock } from '../keyed-state-backend.ts';
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  ReduceFunction,
  ReducingState,
  ValueState,
} from '../state.ts';

/** Holds the key of the record being processed; shared by all state objects of a backend. */
class KeyContext {
  key: CanonicalKey | undefined = undefined;
  keyGroup = -1;

  current(stateName: string): CanonicalKey {
    if (this.key === undefined) {
      throw new WeirError(
        'WEIR_STATE_ACCESS_OUTSIDE_KEY',
        `keyed state '${stateName}' was accessed outside of a keyed context (no current key: use it in processElement)`,
      );
    }
    return this.key;
  }
}

type StateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

interface RegisteredState {
  kind: StateKind;
  table: Map<CanonicalKey, unknown>;
  /** Undefined for state restored from a checkpoint and not yet asked for by the function. */
  handle: unknown;
}

/**
 * A key group's block (v8 serialization, so Map, Set, Date, bigint and the like survive):
 * an array of [stateName, kind, entries] with entries an array of [key, value].
 */
type KeyGroupContent = Array<[name: string, kind: StateKind, entries: Array<[CanonicalKey, unknown]>]>;

const STATE_KINDS: ReadonlySet<string> = new Set(['value', 'list', 'map', 'reducing', 'aggregating']);

export class HeapKeyedStateBackend implements KeyedStateBackend {
  readonly keyGroupRange: KeyGroupRange;
  readonly #maxParallelism: number;
  readonly #context = new KeyContext();
  readonly #states = new Map<string, RegisteredState>();

  constructor(keyGroupRange: KeyGroupRange, maxParallelism: number) {
    this.keyGroupRange = keyGroupRange;
    this.#maxParallelism = maxParallelism;
  }

  snapshot(): KeyGroupBlock[] {
    // Tables are keyed by canonical key only, so each entry's key group is computed here, once
    // per checkpoint, instead of on every access.
    const groups = new Map<number, KeyGroupContent>();
    for (const [name, state] of this.#states) {
      for (const [key, value] of state.table) {
        const keyGroup = keyGroupOf(key, this.#maxParallelism);
        let content = groups.get(keyGroup);
        if (content === undefined) groups.set(keyGroup, (content = []));
        let section = content[content.length - 1];
        if (section === undefined || section[0] !== name) content.push((section = [name, state.kind, []]));
        section[2].push([key, value]);
      }
    }
    return [...groups.keys()].sort((a, b) => a - b).map((keyGroup) => ({ keyGroup, bytes: serialize(groups.get(keyGroup)) }));
  }

  restore(blocks: Iterable<KeyGroupBlock>): void {
    const { start, end } = this.keyGroupRange;
    for (const { keyGroup, bytes } of blocks) {
      if (keyGroup < start || keyGroup > end) {
        throw new WeirError('WEIR_INTERNAL', `key group ${keyGroup} restored into a backend owning [${start}, ${end}]`);
      }
      const content = deserialize(bytes) as KeyGroupContent;
      for (const [name, kind, entries] of content) {
        if (!STATE_KINDS.has(kind)) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `restored state '${name}' has unknown kind ${String(kind)}`);
        let state = this.#states.get(name);
        if (state === undefined) this.#states.set(name, (state = { kind, table: new Map(), handle: undefined }));
        for (const [key, value] of entries) state.table.set(key, value);
      }
    }
  }

  setCurrentKey(key: CanonicalKey, keyGroup: number): void {
    this.#context.key = key;
    this.#context.keyGroup = keyGroup;
  }

  getValueState<T>(name: string): ValueState<T> {
    return this.#register(name, 'value', (table) => new HeapValueState<T>(name, table as Map<CanonicalKey, T>, this.#context));
  }

  getListState<T>(name: string): ListState<T> {
    return this.#register(name, 'list', (table) => new HeapListState<T>(name, table as Map<CanonicalKey, T[]>, this.#context));
  }

  getMapState<K, V>(name: string): MapState<K, V> {
    return this.#register(name, 'map', (table) => new HeapMapState<K, V>(name, table as Map<CanonicalKey, Map<K, V>>, this.#context));
  }

  getReducingState<T>(name: string, reduce: ReduceFunction<T>): ReducingState<T> {
    return this.#register(
      name,
      'reducing',
      (table) => new HeapReducingState<T>(name, table as Map<CanonicalKey, T>, this.#context, reduce),
    );
  }

  getAggregatingState<IN, ACC, OUT>(name: string, aggregate: AggregateFunction<IN, ACC, OUT>): AggregatingState<IN, OUT> {
    return this.#register(
      name,
      'aggregating',
      (table) => new HeapAggregatingState<IN, ACC, OUT>(name, table as Map<CanonicalKey, ACC>, this.#context, aggregate),
    );
  }

  keys(name: string): Array<{ key: CanonicalKey; keyGroup: number }> {
    const state = this.#states.get(name);
    if (state === undefined) return [];
    const keys: Array<{ key: CanonicalKey; keyGroup: number }> = [];
    for (const key of state.table.keys()) keys.push({ key, keyGroup: keyGroupOf(key, this.#maxParallelism) });
    return keys;
  }

  entryCount(): number {
    let count = 0;
    for (const state of this.#states.values()) count += state.table.size;
    return count;
  }

  dispose(): void {
    this.#states.clear();
  }

  #register<S>(name: string, kind: StateKind, create: (table: Map<CanonicalKey, unknown>) => S): S {
    if (typeof name !== 'string' || name === '') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `a state name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    const existing = this.#states.get(name);
    if (existing !== undefined) {
      if (existing.kind !== kind) {
        throw new WeirError(
          'WEIR_INVALID_ARGUMENT',
          `state '${name}' is ${existing.handle === undefined ? 'restored from the checkpoint' : 'already registered'} as ${existing.kind} state, cannot get it as ${kind} state`,
        );
      }
      existing.handle ??= create(existing.table);
      return existing.handle as S;
    }
    const table = new Map<CanonicalKey, unknown>();
    const handle = create(table);
    this.#states.set(name, { kind, table, handle });
    return handle;
  }
}

class HeapValueState<T> implements ValueState<T> {
  constructor(
    readonly name: string,
    readonly table: Map<CanonicalKey, T>,
    readonly context: KeyContext,
  ) {}

  value(): T | undefined {
    return this.table.get(this.context.current(this.name));
  }

  update(value: T): void {
    const key = this.context.current(this.name);
    // Flink: updating a ValueState with null clears it.
    if (value === undefined || value === null) this.table.delete(key);
    else this.table.set(key, value);
  }

  clear(): void {
    this.table.delete(this.context.current(this.name));
  }
}

class HeapListState<T> implements ListState<T> {
  constructor(
    readonly name: string,
    readonly table: Map<CanonicalKey, T[]>,
    readonly context: KeyContext,
  ) {}

  get(): T[] {
    return this.table.get(this.context.current(this.name)) ?? [];
  }

  add(value: T): void {
    const key = this.context.current(this.name);
    const list = this.table.get(key);
    if (list === undefined) this.table.set(key, [value]);
    else list.push(value);
  }

  addAll(values: Iterable<T>): void {
    // Copy first: `values` may be this very list (addAll(get())), which pushing would extend forever.
    const items = Array.from(values);
    if (items.length === 0) return;
    const key = this.context.current(this.name);
    const list = this.table.get(key);
    if (list === undefined) this.table.set(key, items);
    else for (const item of items) list.push(item);
  }

  update(values: Iterable<T>): void {
    const list = Array.from(values);
    const key = this.context.current(this.name);
    if (list.length === 0) this.table.delete(key);
    else this.table.set(key, list);
  }

  clear(): void {
    this.table.delete(this.context.current(this.name));
  }
}

class HeapMapState<K, V> implements MapState<K, V> {
  constructor(
    readonly name: string,
    readonly table: Map<CanonicalKey, Map<K, V>>,
    readonly context: KeyContext,
  ) {}

  #map(): Map<K, V> | undefined {
    return this.table.get(this.context.current(this.name));
  }

  get(key: K): V | undefined {
    return this.#map()?.get(key);
  }

  put(key: K, value: V): void {
    const current = this.context.current(this.name);
    let map = this.table.get(current);
    if (map === undefined) {
      map = new Map();
      this.table.set(current, map);
    }
    map.set(key, value);
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    for (const [key, value] of entries) this.put(key, value);
  }

  contains(key: K): boolean {
    return this.#map()?.has(key) ?? false;
  }

  remove(key: K): void {
    const current = this.context.current(this.name);
    const map = this.table.get(current);
    if (map === undefined) return;
    map.delete(key);
    if (map.size === 0) this.table.delete(current);
  }

  entries(): IterableIterator<[K, V]> {
    return (this.#map() ?? new Map<K, V>()).entries();
  }

  keys(): IterableIterator<K> {
    return (this.#map() ?? new Map<K, V>()).keys();
  }

  values(): IterableIterator<V> {
    return (this.#map() ?? new Map<K, V>()).values();
  }

  isEmpty(): boolean {
    return (this.#map()?.size ?? 0) === 0;
  }

  clear(): void {
    this.table.delete(this.context.current(this.name));
  }
}

class HeapReducingState<T> implements ReducingState<T> {
  constructor(
    readonly name: string,
    readonly table: Map<CanonicalKey, T>,
    readonly context: KeyContext,
    readonly reduce: ReduceFunction<T>,
  ) {}

  get(): T | undefined {
    return this.table.get(this.context.current(this.name));
  }

  add(value: T): void {
    const key = this.context.current(this.name);
    const table = this.table;
    table.set(key, table.has(key) ? this.reduce(table.get(key) as T, value) : value);
  }

  clear(): void {
    this.table.delete(this.context.current(this.name));
  }
}

class HeapAggregatingState<IN, ACC, OUT> implements AggregatingState<IN, OUT> {
  constructor(
    readonly name: string,
    readonly table: Map<CanonicalKey, ACC>,
    readonly context: KeyContext,
    readonly aggregate: AggregateFunction<IN, ACC, OUT>,
  ) {}

  get(): OUT | undefined {
    const key = this.context.current(this.name);
    return this.table.has(key) ? this.aggregate.getResult(this.table.get(key) as ACC) : undefined;
  }

  add(value: IN): void {
    const key = this.context.current(this.name);
    const accumulator = this.table.has(key) ? (this.table.get(key) as ACC) : this.aggregate.createAccumulator();
    this.table.set(key, this.aggregate.add(value, accumulator));
  }

  clear(): void {
    this.table.delete(this.context.current(this.name));
  }
}
