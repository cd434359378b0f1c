/**
 * The interface every keyed state backend implements (heap now, lsm later), and the one the
 * task runtime talks to. Runs on the subtask's worker thread: the operator sets the current
 * key before each record, then user functions read and write state scoped to that key.
 */
import type { CanonicalKey, KeyGroupRange } from './key-groups.ts';
import type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  ReduceFunction,
  ReducingState,
  ValueState,
} from './state.ts';

/** The serialized state of one key group. */
export interface KeyGroupBlock {
  readonly keyGroup: number;
  readonly bytes: Uint8Array;
}

export interface KeyedStateBackend {
  /** The key groups this backend holds. */
  readonly keyGroupRange: KeyGroupRange;
  /** Scopes every state access to `key` until the next call. */
  setCurrentKey(key: CanonicalKey, keyGroup: number): void;
  getValueState<T>(name: string): ValueState<T>;
  getListState<T>(name: string): ListState<T>;
  getMapState<K, V>(name: string): MapState<K, V>;
  getReducingState<T>(name: string, reduce: ReduceFunction<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(name: string, aggregate: AggregateFunction<IN, ACC, OUT>): AggregatingState<IN, OUT>;
  /**
   * Every key holding an entry of state `name`, with its key group (none when the state is
   * unknown). Collected before it returns, so the caller may change state while going through
   * them. O(entries): for restore-time rebuilds (timers), not for the record path.
   */
  keys(name: string): Array<{ key: CanonicalKey; keyGroup: number }>;
  /** Number of (state, key) entries held; for metrics and tests. */
  entryCount(): number;
  /**
   * The synchronous part of a checkpoint: a self-contained copy of all state, one serialized
   * block per non-empty key group, so a restore at another parallelism can take exactly the key
   * groups it owns. Later changes to state do not affect the returned bytes.
   */
  snapshot(): KeyGroupBlock[];
  /** Adds the state of these key groups (each must be in this backend's range); before open(). */
  restore(blocks: Iterable<KeyGroupBlock>): void;
  dispose(): void;
}
