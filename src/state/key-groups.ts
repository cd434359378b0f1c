/**
 * Key groups: the unit of keyed state and of rescaling, as in Flink's KeyGroupRangeAssignment.
 * A key hashes (xxHash32 of its canonical form, see key-hash.ts) to one of `maxParallelism` key groups; a
 * subtask owns a contiguous key-group range. Pure functions (after the one-time hasher load),
 * used on every thread.
 */
import { hashKey } from './key-hash.ts';
import { WeirError } from '../errors.ts';

export { loadKeyHasher } from './key-hash.ts';

export const DEFAULT_MAX_PARALLELISM = 128;
export const UPPER_BOUND_MAX_PARALLELISM = 32768;

/** Flink's default: roundUpPow2(p + p/2) clamped to [128, 32768]. */
export function defaultMaxParallelism(parallelism: number): number {
  const wanted = parallelism + Math.floor(parallelism / 2);
  let pow2 = 1;
  while (pow2 < wanted) pow2 *= 2;
  return Math.min(Math.max(pow2, DEFAULT_MAX_PARALLELISM), UPPER_BOUND_MAX_PARALLELISM);
}

/**
 * The form a key takes inside state maps: strings, numbers, booleans and bigints as they are
 * (Map keeps 1 and '1' apart); arrays and objects as a tagged JSON string so two equal composite
 * keys (`['a', 1]` built twice) address the same state. The tag is U+0000, which no JSON text
 * starts with; the rare string that itself starts with U+0000 gets a second one, so no string
 * key can collide with a composite key. Objects compare by their JSON, so key order matters.
 */
export type CanonicalKey = string | number | boolean | bigint;

const COMPOSITE_TAG = '\u0000';

export function canonicalKey(key: unknown): CanonicalKey {
  switch (typeof key) {
    case 'string':
      return key.charCodeAt(0) === 0 ? COMPOSITE_TAG + COMPOSITE_TAG + key : key;
    case 'number':
    case 'boolean':
    case 'bigint':
      return key;
    case 'object':
      if (key !== null) {
        try {
          return COMPOSITE_TAG + JSON.stringify(key);
        } catch (cause) {
          throw new WeirError('WEIR_INVALID_ARGUMENT', 'a key must be JSON-serializable when it is an object', { cause });
        }
      }
  }
  throw new WeirError(
    'WEIR_INVALID_ARGUMENT',
    `a key selector must return a string, number, boolean, bigint, array or plain object, got ${key === null ? 'null' : typeof key}`,
  );
}

/** The key group of a canonical key. */
export function keyGroupOf(key: CanonicalKey, maxParallelism: number): number {
  return hashKey(typeof key === 'string' ? key : String(key)) % maxParallelism;
}

/** Flink's computeOperatorIndexForKeyGroup. */
export function subtaskForKeyGroup(keyGroup: number, parallelism: number, maxParallelism: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

export interface KeyGroupRange {
  /** First key group, inclusive. */
  readonly start: number;
  /** Last key group, inclusive (end < start means empty). */
  readonly end: number;
}

/** The key groups subtask `subtaskIndex` of `parallelism` owns (Flink's computeKeyGroupRangeForOperatorIndex). */
export function keyGroupRangeFor(subtaskIndex: number, parallelism: number, maxParallelism: number): KeyGroupRange {
  const start = Math.floor((subtaskIndex * maxParallelism + parallelism - 1) / parallelism);
  const end = Math.floor(((subtaskIndex + 1) * maxParallelism - 1) / parallelism);
  return { start, end };
}
