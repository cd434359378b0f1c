/**
 * The five keyed state types over a `SortedKv`, for LsmKeyedStateBackend: every access turns the
 * current key into a byte prefix (state-key-codec.ts) and reads or writes entries under it. Runs
 * on the subtask's worker thread. Values are stored as v8-serialized copies, so a value read is
 * a copy: mutating it changes nothing until it is written back (unlike the heap backend).
 */
import { deserialize, serialize } from 'node:v8';
import { WeirError } from '../../errors.ts';
import type { CanonicalKey } from '../key-groups.ts';
import type { AggregateFunction, AggregatingState, ListState, MapState, ReduceFunction, ReducingState, ValueState } from '../state.ts';
import type { SortedKv } from './sorted-kv.ts';
import {
  decodeKey,
  encodeKey,
  isEncodableKey,
  listElementKey,
  mapEntryKey,
  prefixEnd,
  readU32,
  SEQUENCE_BYTES,
  stateKeyPrefix,
  writeU32,
} from './state-key-codec.ts';

/** The key of the record being processed, shared by all state objects of one backend. */
export class LsmKeyContext {
  #key: CanonicalKey | undefined = undefined;
  #keyGroup = -1;
  /** encodeKey(#key), computed on the first state access after setCurrentKey. */
  #encoded: Uint8Array | undefined = undefined;

  set(key: CanonicalKey, keyGroup: number): void {
    this.#key = key;
    this.#keyGroup = keyGroup;
    this.#encoded = undefined;
  }

  /** keyGroup │ stateId │ key of the current key; a fresh array the caller may hand to `put`. */
  prefix(stateName: string, stateId: number): Uint8Array {
    if (this.#key === undefined) {
      throw new WeirError(
        'WEIR_STATE_ACCESS_OUTSIDE_KEY',
        `keyed state '${stateName}' was accessed outside of a keyed context (no current key: use it in processElement)`,
      );
    }
    this.#encoded ??= encodeKey(this.#key);
    return stateKeyPrefix(this.#keyGroup, stateId, this.#encoded);
  }
}

/** What every state object needs: where its entries live and whose key is current. */
export interface StateScope {
  readonly name: string;
  readonly id: number;
  readonly kv: SortedKv;
  readonly context: LsmKeyContext;
}

/*
 * Stored value := 0xF1 f64-LE (number) │ 0xF2 UTF-8 (string) │ 0xF3 (true) │ 0xF4 (false) │
 *                 0xF5 (null) │ v8 serialization (starts with its version byte 0xFF).
 * The v8 serializer costs ~3.5 µs even for a number (measured); counters and sums are the common
 * state values, so primitives take the tagged forms (sub-microsecond) and the rest v8's.
 */
const TAG_NUMBER = 0xf1;
const TAG_STRING = 0xf2;
const TAG_TRUE = 0xf3;
const TAG_FALSE = 0xf4;
const TAG_NULL = 0xf5;
const TRUE_BYTES = Uint8Array.of(TAG_TRUE);
const FALSE_BYTES = Uint8Array.of(TAG_FALSE);
const NULL_BYTES = Uint8Array.of(TAG_NULL);

function encodeValue(scope: StateScope, value: unknown): Uint8Array {
  switch (typeof value) {
    case 'number': {
      const bytes = new Uint8Array(9);
      bytes[0] = TAG_NUMBER;
      new DataView(bytes.buffer).setFloat64(1, value, true);
      return bytes;
    }
    case 'string': {
      const body = Buffer.from(value, 'utf8');
      // Lone surrogates do not survive UTF-8: leave such strings to v8, which keeps them.
      if (body.toString('utf8') === value) {
        const bytes = new Uint8Array(body.length + 1);
        bytes[0] = TAG_STRING;
        bytes.set(body, 1);
        return bytes;
      }
      break;
    }
    case 'boolean':
      return (value ? TRUE_BYTES : FALSE_BYTES).slice();
    case 'object':
      if (value === null) return NULL_BYTES.slice();
  }
  try {
    return serialize(value);
  } catch (cause) {
    throw new WeirError(
      'WEIR_INVALID_ARGUMENT',
      `a value written to keyed state '${scope.name}' cannot be stored: the lsm state backend takes what the v8 serializer takes (${String(cause)})`,
      { cause },
    );
  }
}

function decodeValue<T>(bytes: Uint8Array): T {
  switch (bytes[0]) {
    case TAG_NUMBER:
      return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(1, true) as T;
    case TAG_STRING:
      return Buffer.from(bytes.buffer, bytes.byteOffset + 1, bytes.byteLength - 1).toString('utf8') as T;
    case TAG_TRUE:
      return true as T;
    case TAG_FALSE:
      return false as T;
    case TAG_NULL:
      return null as T;
    default:
      return deserialize(bytes) as T;
  }
}

/** Deletes every entry in [from, to); keys are collected first so the scan never sees its own deletes. */
function deleteRange(kv: SortedKv, from: Uint8Array, to: Uint8Array): void {
  const keys: Uint8Array[] = [];
  for (const [key] of kv.scan(from, to)) keys.push(key);
  for (const key of keys) kv.delete(key);
}

export class LsmValueState<T> implements ValueState<T> {
  constructor(readonly scope: StateScope) {}

  value(): T | undefined {
    const bytes = this.scope.kv.get(this.scope.context.prefix(this.scope.name, this.scope.id));
    return bytes === undefined ? undefined : decodeValue<T>(bytes);
  }

  update(value: T): void {
    const key = this.scope.context.prefix(this.scope.name, this.scope.id);
    // Flink: updating a ValueState with null clears it.
    if (value === undefined || value === null) this.scope.kv.delete(key);
    else this.scope.kv.put(key, encodeValue(this.scope, value));
  }

  clear(): void {
    this.scope.kv.delete(this.scope.context.prefix(this.scope.name, this.scope.id));
  }
}

/** Sequence numbers are u32; past this the list is renumbered from 0 (once per 4 billion appends). */
const MAX_SEQUENCE = 0xffff_ffff;

/**
 * One entry per element (prefix │ u32 sequence) plus a meta entry at the bare prefix holding the
 * next sequence number. `add` is then O(1) — one point read and two blind writes — however long
 * the list grows (window buffers append per record and read once per firing); one entry holding
 * the whole array would read, decode, re-encode and rewrite every element on every append. The
 * price: `get` is a range scan decoding each element, and `clear`/`update` delete per element.
 */
export class LsmListState<T> implements ListState<T> {
  constructor(readonly scope: StateScope) {}

  get(): T[] {
    return this.#read(this.#prefix());
  }

  add(value: T): void {
    const prefix = this.#prefix();
    this.#append(prefix, [value]);
  }

  addAll(values: Iterable<T>): void {
    const prefix = this.#prefix();
    // Copied first: a lazy iterable over this very list must not see the appends.
    const items = Array.from(values);
    if (items.length > 0) this.#append(prefix, items);
  }

  update(values: Iterable<T>): void {
    const prefix = this.#prefix();
    const encoded = Array.from(values, (value) => encodeValue(this.scope, value));
    this.#replace(prefix, encoded);
  }

  clear(): void {
    const prefix = this.#prefix();
    deleteRange(this.scope.kv, prefix, prefixEnd(prefix));
  }

  #prefix(): Uint8Array {
    return this.scope.context.prefix(this.scope.name, this.scope.id);
  }

  #read(prefix: Uint8Array): T[] {
    const items: T[] = [];
    for (const [key, value] of this.scope.kv.scan(prefix, prefixEnd(prefix))) {
      if (key.length !== prefix.length) items.push(decodeValue<T>(value)); // skip the meta entry
    }
    return items;
  }

  #append(prefix: Uint8Array, items: T[]): void {
    const { kv } = this.scope;
    // Encoded before anything is written, so a value the serializer rejects changes nothing.
    const encoded = items.map((item) => encodeValue(this.scope, item));
    const meta = kv.get(prefix);
    let next = meta === undefined ? 0 : readU32(meta, 0);
    if (next + encoded.length > MAX_SEQUENCE) {
      const existing = [];
      for (const [key, value] of kv.scan(prefix, prefixEnd(prefix))) if (key.length !== prefix.length) existing.push(value);
      this.#replace(prefix, existing.concat(encoded));
      return;
    }
    for (const value of encoded) kv.put(listElementKey(prefix, next++), value);
    kv.put(prefix, sequenceBytes(next));
  }

  /** Replaces the list with `encoded` (empty: no entries at all, not even the meta entry). */
  #replace(prefix: Uint8Array, encoded: Uint8Array[]): void {
    const { kv } = this.scope;
    deleteRange(kv, prefix, prefixEnd(prefix));
    if (encoded.length === 0) return;
    for (const [i, value] of encoded.entries()) kv.put(listElementKey(prefix, i), value);
    kv.put(prefix, sequenceBytes(encoded.length));
  }
}

function sequenceBytes(next: number): Uint8Array {
  const bytes = new Uint8Array(SEQUENCE_BYTES);
  writeU32(bytes, 0, next);
  return bytes;
}

/**
 * One entry per user key (prefix │ encodeKey(userKey)), so a large map is never loaded whole:
 * point operations touch one entry and the iterators scan lazily, in user-key byte order. An
 * emptied map has no entries left, so it is absent without bookkeeping.
 */
export class LsmMapState<K, V> implements MapState<K, V> {
  constructor(readonly scope: StateScope) {}

  get(key: K): V | undefined {
    const bytes = this.scope.kv.get(this.#entryKey(key));
    return bytes === undefined ? undefined : decodeValue<V>(bytes);
  }

  put(key: K, value: V): void {
    const entryKey = this.#entryKey(key);
    this.scope.kv.put(entryKey, encodeValue(this.scope, value));
  }

  putAll(entries: Iterable<readonly [K, V]>): void {
    for (const [key, value] of entries) this.put(key, value);
  }

  contains(key: K): boolean {
    return this.scope.kv.get(this.#entryKey(key)) !== undefined;
  }

  remove(key: K): void {
    this.scope.kv.delete(this.#entryKey(key));
  }

  entries(): IterableIterator<[K, V]> {
    const prefix = this.#prefix();
    return scanMap(this.scope.kv, prefix, (key, value) => [decodeKey(key, prefix.length).key as K, decodeValue<V>(value)]);
  }

  keys(): IterableIterator<K> {
    const prefix = this.#prefix();
    return scanMap(this.scope.kv, prefix, (key) => decodeKey(key, prefix.length).key as K);
  }

  values(): IterableIterator<V> {
    const prefix = this.#prefix();
    return scanMap(this.scope.kv, prefix, (_, value) => decodeValue<V>(value));
  }

  isEmpty(): boolean {
    const prefix = this.#prefix();
    for (const _ of this.scope.kv.scan(prefix, prefixEnd(prefix))) return false;
    return true;
  }

  clear(): void {
    const prefix = this.#prefix();
    deleteRange(this.scope.kv, prefix, prefixEnd(prefix));
  }

  #prefix(): Uint8Array {
    return this.scope.context.prefix(this.scope.name, this.scope.id);
  }

  #entryKey(key: K): Uint8Array {
    const prefix = this.#prefix();
    if (!isEncodableKey(key)) {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `a user key of MapState '${this.scope.name}' must be a string, number, boolean or bigint with the lsm state backend, got ${key === null ? 'null' : typeof key}`,
      );
    }
    return mapEntryKey(prefix, encodeKey(key));
  }
}

/** The prefix is computed by the caller, eagerly, so the iterator keeps the key current when it was made. */
function* scanMap<R>(kv: SortedKv, prefix: Uint8Array, map: (key: Uint8Array, value: Uint8Array) => R): Generator<R, undefined, undefined> {
  for (const [key, value] of kv.scan(prefix, prefixEnd(prefix))) yield map(key, value);
  return undefined;
}

export class LsmReducingState<T> implements ReducingState<T> {
  constructor(
    readonly scope: StateScope,
    readonly reduce: ReduceFunction<T>,
  ) {}

  get(): T | undefined {
    const bytes = this.scope.kv.get(this.scope.context.prefix(this.scope.name, this.scope.id));
    return bytes === undefined ? undefined : decodeValue<T>(bytes);
  }

  add(value: T): void {
    const key = this.scope.context.prefix(this.scope.name, this.scope.id);
    const bytes = this.scope.kv.get(key);
    // The first value is stored as it is, without calling reduce (as heap and Flink do).
    const reduced = bytes === undefined ? value : this.reduce(decodeValue<T>(bytes), value);
    this.scope.kv.put(key, encodeValue(this.scope, reduced));
  }

  clear(): void {
    this.scope.kv.delete(this.scope.context.prefix(this.scope.name, this.scope.id));
  }
}

export class LsmAggregatingState<IN, ACC, OUT> implements AggregatingState<IN, OUT> {
  constructor(
    readonly scope: StateScope,
    readonly aggregate: AggregateFunction<IN, ACC, OUT>,
  ) {}

  get(): OUT | undefined {
    const bytes = this.scope.kv.get(this.scope.context.prefix(this.scope.name, this.scope.id));
    return bytes === undefined ? undefined : this.aggregate.getResult(decodeValue<ACC>(bytes));
  }

  add(value: IN): void {
    const key = this.scope.context.prefix(this.scope.name, this.scope.id);
    const bytes = this.scope.kv.get(key);
    const accumulator = bytes === undefined ? this.aggregate.createAccumulator() : decodeValue<ACC>(bytes);
    this.scope.kv.put(key, encodeValue(this.scope, this.aggregate.add(value, accumulator)));
  }

  clear(): void {
    this.scope.kv.delete(this.scope.context.prefix(this.scope.name, this.scope.id));
  }
}
