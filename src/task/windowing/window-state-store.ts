/**
 * Keyed state scoped to a key *and a window* (Flink's namespaced state), for triggers and for
 * ProcessWindowFunction.windowState(). The backends scope state by key only, so every handle of
 * one store lives in a single backend MapState whose entries are `name U+0000 namespace`: the
 * current key comes from the backend, the current window from `store.namespace`, which the
 * WindowOperator sets before each call. Each handle stores its whole value in one entry (lists
 * as arrays, maps as Maps). Subtask worker thread.
 */
import { WeirError } from '../../errors.ts';
import type { KeyedStateBackend } from '../../state/keyed-state-backend.ts';
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  ReduceFunction,
  ReducingState,
  ValueState,
} from '../../state/state.ts';
import type { KeyedStateStore } from './process-window-function.ts';

type Kind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

export class WindowStateStore implements KeyedStateStore {
  /** The current window's namespace; set by the operator before the trigger or function runs. */
  namespace = '';
  readonly #entries: MapState<string, unknown>;
  readonly #handles = new Map<string, { kind: Kind; handle: unknown }>();

  /** `stateName`: the backend MapState holding every entry of this store. */
  constructor(backend: KeyedStateBackend, stateName: string) {
    this.#entries = backend.getMapState<string, unknown>(stateName);
  }

  /** @internal The entry of state `name` for window `namespace` (the current one by default). */
  entryKey(name: string, namespace = this.namespace): string {
    return `${name}\u0000${namespace}`;
  }

  /** @internal */
  get entries(): MapState<string, unknown> {
    return this.#entries;
  }

  getValueState<T>(name: string): ValueState<T> {
    return this.#handle(name, 'value', () => new WindowValueState<T>(this, name));
  }

  getListState<T>(name: string): ListState<T> {
    return this.#handle(name, 'list', () => new WindowListState<T>(this, name));
  }

  getMapState<K, V>(name: string): MapState<K, V> {
    return this.#handle(name, 'map', () => new WindowMapState<K, V>(this, name));
  }

  getReducingState<T>(name: string, reduce: ReduceFunction<T>): ReducingState<T> {
    if (typeof reduce !== 'function') throw new WeirError('WEIR_INVALID_ARGUMENT', `getReducingState('${name}') expects a reduce function`);
    return this.#handle(name, 'reducing', () => new WindowReducingState<T>(this, name, reduce));
  }

  getAggregatingState<IN, ACC, OUT>(name: string, aggregate: AggregateFunction<IN, ACC, OUT>): AggregatingState<IN, OUT> {
    if (typeof aggregate?.createAccumulator !== 'function' || typeof aggregate.add !== 'function' || typeof aggregate.getResult !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `getAggregatingState('${name}') expects an AggregateFunction (createAccumulator, add, getResult)`);
    }
    return this.#handle(name, 'aggregating', () => new WindowAggregatingState<IN, ACC, OUT>(this, name, aggregate));
  }

  /**
   * Folds the entries of state `name` of windows `sources` into window `target`'s with `combine`,
   * removing the sources' entries (session windows merging).
   */
  merge(name: string, target: string, sources: readonly string[], combine: (a: unknown, b: unknown) => unknown): void {
    const entries = this.#entries;
    const targetKey = this.entryKey(name, target);
    let merged = entries.get(targetKey);
    let changed = false;
    for (const source of sources) {
      const key = this.entryKey(name, source);
      const value = entries.get(key);
      if (value === undefined) continue;
      merged = merged === undefined ? value : combine(merged, value);
      entries.remove(key);
      changed = true;
    }
    if (changed) entries.put(targetKey, merged);
  }

  #handle<S>(name: string, kind: Kind, create: () => S): S {
    if (typeof name !== 'string' || name === '') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `a state name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    const existing = this.#handles.get(name);
    if (existing !== undefined) {
      if (existing.kind !== kind) {
        throw new WeirError('WEIR_INVALID_ARGUMENT', `window state '${name}' is already registered as ${existing.kind} state, cannot get it as ${kind} state`);
      }
      return existing.handle as S;
    }
    const handle = create();
    this.#handles.set(name, { kind, handle });
    return handle;
  }
}

class WindowValueState<T> implements ValueState<T> {
  constructor(
    readonly store: WindowStateStore,
    readonly name: string,
  ) {}

  value(): T | undefined {
    return this.store.entries.get(this.store.entryKey(this.name)) as T | undefined;
  }

  update(value: T): void {
    // As ValueState everywhere: null and undefined clear it.
    if (value === undefined || value === null) this.clear();
    else this.store.entries.put(this.store.entryKey(this.name), value);
  }

  clear(): void {
    this.store.entries.remove(this.store.entryKey(this.name));
  }
}

class WindowListState<T> implements ListState<T> {
  constructor(
    readonly store: WindowStateStore,
    readonly name: string,
  ) {}

  get(): T[] {
    return (this.store.entries.get(this.store.entryKey(this.name)) as T[] | undefined) ?? [];
  }

  add(value: T): void {
    this.addAll([value]);
  }

  addAll(values: Iterable<T>): void {
    const items = Array.from(values);
    if (items.length === 0) return;
    const key = this.store.entryKey(this.name);
    const list = this.store.entries.get(key) as T[] | undefined;
    // Written back every time: the lsm backend hands out copies.
    this.store.entries.put(key, list === undefined ? items : list.concat(items));
  }

  update(values: Iterable<T>): void {
    const items = Array.from(values);
    if (items.length === 0) this.clear();
    else this.store.entries.put(this.store.entryKey(this.name), items);
  }

  clear(): void {
    this.store.entries.remove(this.store.entryKey(this.name));
  }
}

class WindowMapState<K, V> implements MapState<K, V> {
  constructor(
    readonly store: WindowStateStore,
    readonly name: string,
  ) {}

  #map(): Map<K, V> | undefined {
    return this.store.entries.get(this.store.entryKey(this.name)) as Map<K, V> | undefined;
  }

  #write(map: Map<K, V>): void {
    if (map.size === 0) this.clear();
    else this.store.entries.put(this.store.entryKey(this.name), map);
  }

  get(key: K): V | undefined {
    return this.#map()?.get(key);
  }

  put(key: K, value: V): void {
    const map = this.#map() ?? new Map<K, V>();
    map.set(key, value);
    this.#write(map);
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    const map = this.#map() ?? new Map<K, V>();
    for (const [key, value] of entries) map.set(key, value);
    this.#write(map);
  }

  contains(key: K): boolean {
    return this.#map()?.has(key) ?? false;
  }

  remove(key: K): void {
    const map = this.#map();
    if (map === undefined || !map.delete(key)) return;
    this.#write(map);
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
    this.store.entries.remove(this.store.entryKey(this.name));
  }
}

class WindowReducingState<T> implements ReducingState<T> {
  constructor(
    readonly store: WindowStateStore,
    readonly name: string,
    readonly reduce: ReduceFunction<T>,
  ) {}

  get(): T | undefined {
    return this.store.entries.get(this.store.entryKey(this.name)) as T | undefined;
  }

  add(value: T): void {
    const key = this.store.entryKey(this.name);
    const current = this.store.entries.get(key) as T | undefined;
    // The first value is stored as it is (as in the keyed ReducingState and Flink).
    this.store.entries.put(key, current === undefined ? value : this.reduce(current, value));
  }

  clear(): void {
    this.store.entries.remove(this.store.entryKey(this.name));
  }
}

class WindowAggregatingState<IN, ACC, OUT> implements AggregatingState<IN, OUT> {
  constructor(
    readonly store: WindowStateStore,
    readonly name: string,
    readonly aggregate: AggregateFunction<IN, ACC, OUT>,
  ) {}

  get(): OUT | undefined {
    const key = this.store.entryKey(this.name);
    const entries = this.store.entries;
    return entries.contains(key) ? this.aggregate.getResult(entries.get(key) as ACC) : undefined;
  }

  add(value: IN): void {
    const key = this.store.entryKey(this.name);
    const entries = this.store.entries;
    const accumulator = entries.contains(key) ? (entries.get(key) as ACC) : this.aggregate.createAccumulator();
    entries.put(key, this.aggregate.add(value, accumulator));
  }

  clear(): void {
    this.store.entries.remove(this.store.entryKey(this.name));
  }
}
