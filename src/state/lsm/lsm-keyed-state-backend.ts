/**
 * Keyed state in a sorted byte store (Flink's RocksDB backend): every state entry is one key of a
 * `SortedKv` — the LSM tree, or MemorySortedKv in tests — laid out by state-key-codec.ts so a
 * key-group range is a byte range. Runs on the subtask's worker thread; created by the keyed
 * operator, which sets the current key before each record.
 */
import { deserialize, serialize } from 'node:v8';
import { WeirError } from '../../errors.ts';
import { UPPER_BOUND_MAX_PARALLELISM, type CanonicalKey, type KeyGroupRange } from '../key-groups.ts';
import type { KeyedStateBackend, KeyGroupBlock } from '../keyed-state-backend.ts';
import type { AggregateFunction, AggregatingState, ListState, MapState, ReduceFunction, ReducingState, ValueState } from '../state.ts';
import {
  LsmAggregatingState,
  LsmKeyContext,
  LsmListState,
  LsmMapState,
  LsmReducingState,
  LsmValueState,
  type StateScope,
} from './lsm-keyed-states.ts';
import type { SortedKv } from './sorted-kv.ts';
import { BlockFormatError, ByteWriter, readVarint } from './sst-block.ts';
import {
  decodeKey,
  encodedKeyEnd,
  HEADER_BYTES,
  keyGroupOfStateKey,
  keyGroupRangeBounds,
  MAX_STATE_ID,
  META_RANGE,
  prefixEnd,
  stateIdOfStateKey,
  stateKeyPrefix,
  stateMetaKey,
} from './state-key-codec.ts';

type StateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

/** A kind's byte in the name table is its index here: append only. */
const KIND_CODES: readonly StateKind[] = ['value', 'list', 'map', 'reducing', 'aggregating'];

interface RegisteredState {
  readonly name: string;
  readonly kind: StateKind;
  readonly scope: StateScope;
  /** Undefined for state restored (or found in the store) and not yet asked for by the function. */
  handle: unknown;
}

/**
 * A key group's block: v8-serialized [BLOCK_VERSION, sections], one section per state with
 * entries in the key group, in stateId order:
 *
 *   section := [name, kind, count, entries]
 *   entries := (varint restLength │ rest │ varint valueLength │ value) × count
 *   rest    := an entry's key without its 4-byte header (encoded key │ suffix)
 *
 * Values are the stored bytes as they are, and a restore writes each entry back verbatim under
 * the restoring backend's own stateId for the name. Entries are packed into one byte array per
 * section because the v8 serializer spends microseconds on each typed array. Blocks are specific
 * to this backend: a heap backend cannot read them, nor this one a heap block.
 */
type Section = [name: string, kind: StateKind, count: number, entries: Uint8Array];
const BLOCK_VERSION = 1;
const EMPTY = new Uint8Array(0);

export class LsmKeyedStateBackend implements KeyedStateBackend {
  readonly keyGroupRange: KeyGroupRange;
  readonly #kv: SortedKv;
  readonly #context = new LsmKeyContext();
  readonly #states = new Map<string, RegisteredState>();
  /** By stateId; ids are dense from 0 in registration order. */
  readonly #byId: Array<RegisteredState | undefined> = [];

  constructor(keyGroupRange: KeyGroupRange, maxParallelism: number, kv: SortedKv) {
    if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `maxParallelism must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${maxParallelism}`);
    }
    const { start, end } = keyGroupRange;
    if (end >= start && (start < 0 || end >= maxParallelism)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `key-group range [${start}, ${end}] is outside [0, ${maxParallelism - 1}]`);
    }
    this.keyGroupRange = keyGroupRange;
    this.#kv = kv;
    this.#loadNameTable();
  }

  setCurrentKey(key: CanonicalKey, keyGroup: number): void {
    this.#context.set(key, keyGroup);
  }

  getValueState<T>(name: string): ValueState<T> {
    return this.#register(name, 'value', (scope) => new LsmValueState<T>(scope));
  }

  getListState<T>(name: string): ListState<T> {
    return this.#register(name, 'list', (scope) => new LsmListState<T>(scope));
  }

  getMapState<K, V>(name: string): MapState<K, V> {
    return this.#register(name, 'map', (scope) => new LsmMapState<K, V>(scope));
  }

  getReducingState<T>(name: string, reduce: ReduceFunction<T>): ReducingState<T> {
    return this.#register(name, 'reducing', (scope) => new LsmReducingState<T>(scope, reduce));
  }

  getAggregatingState<IN, ACC, OUT>(name: string, aggregate: AggregateFunction<IN, ACC, OUT>): AggregatingState<IN, OUT> {
    return this.#register(name, 'aggregating', (scope) => new LsmAggregatingState<IN, ACC, OUT>(scope, aggregate));
  }

  keys(name: string): Array<{ key: CanonicalKey; keyGroup: number }> {
    const state = this.#states.get(name);
    const keys: Array<{ key: CanonicalKey; keyGroup: number }> = [];
    if (state === undefined || this.#isEmptyRange()) return keys;
    const id = state.scope.id;
    for (let keyGroup = this.keyGroupRange.start; keyGroup <= this.keyGroupRange.end; keyGroup++) {
      const from = stateKeyPrefix(keyGroup, id, EMPTY);
      let previousEnd = -1;
      let previous: Uint8Array | undefined;
      // Entries of one key are adjacent (keyGroup │ stateId │ key │ suffix): one key per run.
      for (const [stateKey] of this.#kv.scan(from, prefixEnd(from))) {
        const end = encodedKeyEnd(stateKey, HEADER_BYTES);
        if (previous !== undefined && end === previousEnd && samePrefix(previous, stateKey, end)) continue;
        previous = stateKey.slice(0, end); // the scanned key may be a view of a cached block
        previousEnd = end;
        keys.push({ key: decodeKey(stateKey, HEADER_BYTES).key, keyGroup });
      }
    }
    return keys;
  }

  /**
   * Counted by a scan, not a counter: a counter would need a read before every blind write
   * (ValueState.update, MapState.put/remove) to know whether an entry appeared or vanished.
   * All entries of one (state, key) are adjacent, so the count is the number of distinct
   * keyGroup │ stateId │ key prefixes. O(entries): for tests, not for a metrics hot path.
   */
  entryCount(): number {
    if (this.#isEmptyRange()) return 0;
    const [from, to] = keyGroupRangeBounds(this.keyGroupRange);
    let count = 0;
    let previous: Uint8Array | undefined;
    let previousEnd = 0;
    for (const [key] of this.#kv.scan(from, to)) {
      const end = encodedKeyEnd(key, HEADER_BYTES);
      if (previous === undefined || end !== previousEnd || !samePrefix(previous, key, end)) {
        count++;
        previous = key;
        previousEnd = end;
      }
    }
    return count;
  }

  snapshot(): KeyGroupBlock[] {
    const blocks: KeyGroupBlock[] = [];
    if (this.#isEmptyRange()) return blocks;
    const [from, to] = keyGroupRangeBounds(this.keyGroupRange);
    let keyGroup = -1;
    let sections: Section[] = [];
    /** The section being filled: the last of `sections`. */
    let open: { stateId: number; section: Section; writer: ByteWriter } | undefined;
    const closeSection = (): void => {
      if (open !== undefined) open.section[3] = open.writer.bytes();
      open = undefined;
    };
    const closeBlock = (): void => {
      closeSection();
      if (sections.length > 0) blocks.push({ keyGroup, bytes: serialize([BLOCK_VERSION, sections]) });
      sections = [];
    };
    // One scan over the whole range, split where the key group changes: the entries are in key
    // order, so groups come ascending and each state's entries are adjacent within a group.
    for (const [key, value] of this.#kv.scan(from, to)) {
      const group = keyGroupOfStateKey(key);
      if (group !== keyGroup) {
        closeBlock();
        keyGroup = group;
      }
      const id = stateIdOfStateKey(key);
      if (open?.stateId !== id) {
        closeSection();
        const state = this.#byId[id];
        if (state === undefined) throw new WeirError('WEIR_INTERNAL', `state entry with unknown stateId ${id} in key group ${group}`);
        const section: Section = [state.name, state.kind, 0, EMPTY];
        sections.push(section);
        open = { stateId: id, section, writer: new ByteWriter(256) };
      }
      open.writer.varint(key.length - HEADER_BYTES);
      open.writer.append(key, HEADER_BYTES);
      open.writer.varint(value.length);
      open.writer.append(value);
      open.section[2]++;
    }
    closeBlock();
    return blocks;
  }

  restore(blocks: Iterable<KeyGroupBlock>): void {
    const { start, end } = this.keyGroupRange;
    for (const { keyGroup, bytes } of blocks) {
      if (keyGroup < start || keyGroup > end) {
        throw new WeirError('WEIR_INTERNAL', `key group ${keyGroup} restored into a backend owning [${start}, ${end}]`);
      }
      for (const [name, kind, count, entries] of decodeBlock(keyGroup, bytes)) {
        const state = this.#states.get(name) ?? this.#define(name, kind);
        if (state.kind !== kind) {
          throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `key group ${keyGroup} holds state '${name}' as ${kind} state, but it is ${state.kind} state`);
        }
        this.#restoreEntries(keyGroup, state, count, entries);
      }
    }
  }

  #restoreEntries(keyGroup: number, state: RegisteredState, count: number, entries: Uint8Array): void {
    const next = { at: 0 };
    let at = 0;
    try {
      for (let i = 0; i < count; i++) {
        const restLength = readVarint(entries, at, entries.length, next);
        const rest = entries.subarray(next.at, next.at + restLength);
        const valueLength = readVarint(entries, next.at + restLength, entries.length, next);
        at = next.at + valueLength;
        if (rest.length !== restLength || at > entries.length) throw new BlockFormatError('entry runs past the end');
        // Copies: the store takes ownership, and a view would pin the whole block in memory.
        this.#kv.put(stateKeyPrefix(keyGroup, state.scope.id, rest), entries.slice(next.at, at));
      }
      if (at !== entries.length) throw new BlockFormatError(`${entries.length - at} bytes after the last entry`);
    } catch (cause) {
      if (!(cause instanceof BlockFormatError)) throw cause;
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `the entries of state '${state.name}' in key group ${keyGroup} are malformed: ${cause.message}`, { cause });
    }
  }

  /**
   * Copies every entry of `source` whose key group this backend owns (a rescaled restore from
   * another subtask's tree). Entries keep their bytes; only the stateId is translated, through
   * the state names, to this backend's own ids.
   */
  copyFrom(source: LsmKeyedStateBackend): void {
    const start = Math.max(this.keyGroupRange.start, source.keyGroupRange.start);
    const end = Math.min(this.keyGroupRange.end, source.keyGroupRange.end);
    if (end < start) return;
    const [from, to] = keyGroupRangeBounds({ start, end });
    const ids = new Map<number, number>();
    for (const [key, value] of source.#kv.scan(from, to)) {
      const sourceId = stateIdOfStateKey(key);
      let id = ids.get(sourceId);
      if (id === undefined) {
        const state = source.#byId[sourceId];
        if (state === undefined) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `restored state entry with unknown stateId ${sourceId} in key group ${keyGroupOfStateKey(key)}`);
        const own = this.#states.get(state.name) ?? this.#define(state.name, state.kind);
        if (own.kind !== state.kind) {
          throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `restored state '${state.name}' is ${state.kind} state in one subtask's snapshot and ${own.kind} state in another's`);
        }
        id = own.scope.id;
        ids.set(sourceId, id);
      }
      if (id === sourceId) {
        this.#kv.put(key, value);
        continue;
      }
      const renamed = key.slice(); // the scanned key may be a view of a cached block
      renamed[2] = id >>> 8;
      renamed[3] = id & 0xff;
      this.#kv.put(renamed, value);
    }
  }

  /** Drops the handles and the name table; the store belongs to whoever opened it. */
  dispose(): void {
    this.#states.clear();
    this.#byId.length = 0;
  }

  #isEmptyRange(): boolean {
    return this.keyGroupRange.end < this.keyGroupRange.start;
  }

  #register<S>(name: string, kind: StateKind, create: (scope: StateScope) => S): S {
    if (typeof name !== 'string' || name === '') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `a state name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    const existing = this.#states.get(name);
    if (existing !== undefined && existing.kind !== kind) {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `state '${name}' is ${existing.handle === undefined ? 'restored from the checkpoint' : 'already registered'} as ${existing.kind} state, cannot get it as ${kind} state`,
      );
    }
    const state = existing ?? this.#define(name, kind);
    state.handle ??= create(state.scope);
    return state.handle as S;
  }

  /** Gives `name` the next stateId and records it in the store's name table. */
  #define(name: string, kind: StateKind): RegisteredState {
    const id = this.#byId.length;
    if (id > MAX_STATE_ID) throw new WeirError('WEIR_INVALID_ARGUMENT', `at most ${MAX_STATE_ID + 1} keyed states per operator, '${name}' is one more`);
    const nameBytes = Buffer.from(name, 'utf8');
    const entry = new Uint8Array(1 + nameBytes.length);
    entry[0] = KIND_CODES.indexOf(kind);
    entry.set(nameBytes, 1);
    this.#kv.put(stateMetaKey(id), entry);
    return this.#add(id, name, kind);
  }

  #add(id: number, name: string, kind: StateKind): RegisteredState {
    const state: RegisteredState = { name, kind, scope: { name, id, kv: this.#kv, context: this.#context }, handle: undefined };
    this.#states.set(name, state);
    this.#byId[id] = state;
    return state;
  }

  /** A store that already holds state (a reopened LSM tree) brings its name table along. */
  #loadNameTable(): void {
    for (const [key, value] of this.#kv.scan(META_RANGE[0], META_RANGE[1])) {
      const id = stateIdOfStateKey(key);
      const kind = KIND_CODES[value[0]!];
      if (key.length !== 4 || kind === undefined) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `malformed state name-table entry for stateId ${id}`);
      this.#add(id, Buffer.from(value.buffer, value.byteOffset + 1, value.byteLength - 1).toString('utf8'), kind);
    }
  }
}

/** `a` and `b` agree on their first `length` bytes (both are at least that long). */
function samePrefix(a: Uint8Array, b: Uint8Array, length: number): boolean {
  for (let i = length - 1; i >= 0; i--) if (a[i] !== b[i]) return false;
  return true;
}

function decodeBlock(keyGroup: number, bytes: Uint8Array): Section[] {
  let content: unknown;
  try {
    content = deserialize(bytes);
  } catch (cause) {
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `the block of key group ${keyGroup} cannot be decoded`, { cause });
  }
  const corrupt = (why: string): WeirError => new WeirError('WEIR_CHECKPOINT_CORRUPT', `the block of key group ${keyGroup} is not an lsm state block: ${why}`);
  if (!Array.isArray(content) || content[0] !== BLOCK_VERSION || !Array.isArray(content[1])) {
    // The file's checksum held, so the bytes are as written: by another backend, not damaged.
    throw new WeirError(
      'WEIR_CHECKPOINT_INCOMPATIBLE',
      `the block of key group ${keyGroup} is not an lsm state block (expected version ${BLOCK_VERSION}): the checkpoint was taken with another state backend; restore it with that one`,
    );
  }
  for (const section of content[1] as unknown[]) {
    if (
      !Array.isArray(section) ||
      typeof section[0] !== 'string' ||
      !KIND_CODES.includes(section[1] as StateKind) ||
      !Number.isSafeInteger(section[2]) ||
      !(section[3] instanceof Uint8Array)
    ) {
      throw corrupt('bad section header');
    }
  }
  return content[1] as Section[];
}
