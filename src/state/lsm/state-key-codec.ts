/**
 * The byte layout of keyed state in a `SortedKv`, chosen so that one key group, one state of one
 * key, and one whole backend range are each a single contiguous byte range (DESIGN.md §3). Pure
 * functions; run on the subtask's worker thread, called by LsmKeyedStateBackend.
 *
 *   stateKey  := keyGroup │ stateId │ key │ suffix
 *   keyGroup  := u16 big-endian (< 32768): key groups [s, e] are the byte range [u16 s, u16 e+1)
 *   stateId   := u16 big-endian, the state's number in the backend's name table
 *   key       := encodeKey(current key); self-delimiting, so no key's encoding is a prefix of
 *                another's and "every entry of state s for key k" is the range [p, prefixEnd(p))
 *                for p = keyGroup │ stateId │ key
 *   suffix    := ε                      ValueState, ReducingState, AggregatingState; ListState meta
 *              │ u32 sequence           one ListState element (big-endian: scan order = list order)
 *              │ encodeKey(userKey)     one MapState entry
 *
 *   encodeKey(k) := 01                                        false
 *                 │ 02                                        true
 *                 │ 03 │ f64                                  number (below)
 *                 │ 04 │ escaped(decimal ASCII) │ 00 00       bigint
 *                 │ 05 │ escaped(UTF-8) │ 00 00               well-formed string (a composite key
 *                                                             is one: U+0000 + its JSON)
 *                 │ 06 │ escaped(UTF-16BE units) │ 00 00      a string with a lone surrogate, which
 *                                                             UTF-8 cannot hold without loss
 *   escaped(b)    := b with every 00 byte written as 00 FF, so 00 00 can only be the terminator
 *   f64           := IEEE 754 big-endian; positive: sign bit flipped, negative: all bits flipped
 *                    (byte order = numeric order); -0 is written as 0 and every NaN as one NaN,
 *                    as a JS Map treats them
 *
 *   metaKey   := FF FF │ u16 stateId  →  u8 kind │ UTF-8 name
 *                (the name table, above every key-group range: a reopened store describes itself)
 *
 * Types are told apart by the tag, so 1, '1', 1n and true are four keys.
 */
import { WeirError } from '../../errors.ts';
import type { CanonicalKey, KeyGroupRange } from '../key-groups.ts';

/** Bytes before the encoded key: u16 keyGroup │ u16 stateId. */
export const HEADER_BYTES = 4;
/** Key groups are below this (key-groups.ts UPPER_BOUND_MAX_PARALLELISM), leaving FF FF for the name table. */
export const KEY_GROUP_LIMIT = 0x8000;
export const MAX_STATE_ID = 0xffff;
export const SEQUENCE_BYTES = 4;

const TAG_FALSE = 0x01;
const TAG_TRUE = 0x02;
const TAG_NUMBER = 0x03;
const TAG_BIGINT = 0x04;
const TAG_UTF8 = 0x05;
const TAG_UTF16 = 0x06;

/** A key of a state (CanonicalKey) or a MapState user key: the same primitive types. */
export type EncodableKey = CanonicalKey;

export function isEncodableKey(key: unknown): key is EncodableKey {
  const type = typeof key;
  return type === 'string' || type === 'number' || type === 'boolean' || type === 'bigint';
}

/** The self-delimiting, type-tagged encoding of a key (grammar at the top). */
export function encodeKey(key: EncodableKey): Uint8Array {
  switch (typeof key) {
    case 'boolean':
      return Uint8Array.of(key ? TAG_TRUE : TAG_FALSE);
    case 'number': {
      const out = new Uint8Array(9);
      out[0] = TAG_NUMBER;
      writeOrderedFloat64(out, 1, key);
      return out;
    }
    case 'bigint':
      return escapedWithTag(TAG_BIGINT, Buffer.from(key.toString(), 'latin1'));
    case 'string':
      if ((key as unknown as { isWellFormed(): boolean }).isWellFormed()) return escapedWithTag(TAG_UTF8, Buffer.from(key, 'utf8'));
      return escapedWithTag(TAG_UTF16, Buffer.from(key, 'utf16le').swap16());
  }
}

/** The offset just past the encoded key that starts at `offset`. */
export function encodedKeyEnd(bytes: Uint8Array, offset: number): number {
  switch (bytes[offset]) {
    case TAG_FALSE:
    case TAG_TRUE:
      return offset + 1;
    case TAG_NUMBER:
      if (offset + 9 > bytes.length) throw malformed(bytes, offset);
      return offset + 9;
    case TAG_BIGINT:
    case TAG_UTF8:
    case TAG_UTF16:
      return terminatorEnd(bytes, offset + 1);
    default:
      throw malformed(bytes, offset);
  }
}

/** Decodes the key at `offset`; `end` is the offset just past it. */
export function decodeKey(bytes: Uint8Array, offset = 0): { key: EncodableKey; end: number } {
  const tag = bytes[offset];
  switch (tag) {
    case TAG_FALSE:
    case TAG_TRUE:
      return { key: tag === TAG_TRUE, end: offset + 1 };
    case TAG_NUMBER:
      if (offset + 9 > bytes.length) throw malformed(bytes, offset);
      return { key: readOrderedFloat64(bytes, offset + 1), end: offset + 9 };
    case TAG_BIGINT:
    case TAG_UTF8:
    case TAG_UTF16: {
      const end = terminatorEnd(bytes, offset + 1);
      const body = unescape(bytes, offset + 1, end - 2);
      if (tag === TAG_BIGINT) return { key: BigInt(body.toString('latin1')), end };
      if (tag === TAG_UTF8) return { key: body.toString('utf8'), end };
      return { key: body.swap16().toString('utf16le'), end };
    }
    default:
      throw malformed(bytes, offset);
  }
}

/** keyGroup │ stateId │ encoded key: the prefix of every entry of one state of one key. */
export function stateKeyPrefix(keyGroup: number, stateId: number, encodedKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + encodedKey.length);
  out[0] = keyGroup >>> 8;
  out[1] = keyGroup & 0xff;
  out[2] = stateId >>> 8;
  out[3] = stateId & 0xff;
  out.set(encodedKey, HEADER_BYTES);
  return out;
}

/** The key of ListState element number `sequence` under `prefix`. */
export function listElementKey(prefix: Uint8Array, sequence: number): Uint8Array {
  const out = new Uint8Array(prefix.length + SEQUENCE_BYTES);
  out.set(prefix, 0);
  writeU32(out, prefix.length, sequence);
  return out;
}

/** The key of the MapState entry for `userKey` (already encoded) under `prefix`. */
export function mapEntryKey(prefix: Uint8Array, encodedUserKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + encodedUserKey.length);
  out.set(prefix, 0);
  out.set(encodedUserKey, prefix.length);
  return out;
}

/**
 * The smallest key above every key that starts with `prefix` (exclusive scan bound). Never
 * called on an all-FF prefix: state keys start with a key group below 0x8000.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  let i = prefix.length - 1;
  while (i >= 0 && prefix[i] === 0xff) i--;
  if (i < 0) throw new WeirError('WEIR_INTERNAL', 'prefixEnd of an empty or all-0xFF prefix');
  const out = prefix.slice(0, i + 1);
  out[i]!++;
  return out;
}

/** [from, to): the byte range holding every entry of the key groups of `range`. */
export function keyGroupRangeBounds(range: KeyGroupRange): [from: Uint8Array, to: Uint8Array] {
  return [u16(range.start), u16(range.end + 1)];
}

export function keyGroupOfStateKey(key: Uint8Array): number {
  return (key[0]! << 8) | key[1]!;
}

export function stateIdOfStateKey(key: Uint8Array): number {
  return (key[2]! << 8) | key[3]!;
}

/** The name-table entry key of `stateId`. */
export function stateMetaKey(stateId: number): Uint8Array {
  return Uint8Array.of(0xff, 0xff, stateId >>> 8, stateId & 0xff);
}

/** [from, to): the byte range of the name table. */
export const META_RANGE: readonly [from: Uint8Array, to: Uint8Array] = [Uint8Array.of(0xff, 0xff), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff)];

export function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

export function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function u16(value: number): Uint8Array {
  return Uint8Array.of(value >>> 8, value & 0xff);
}

const scratch = new DataView(new ArrayBuffer(8));

function writeOrderedFloat64(out: Uint8Array, at: number, value: number): void {
  // -0 and NaN normalized as a Map's SameValueZero sees them: one key each.
  scratch.setFloat64(0, value === 0 ? 0 : Number.isNaN(value) ? Number.NaN : value, false);
  const negative = (scratch.getUint8(0) & 0x80) !== 0;
  for (let i = 0; i < 8; i++) {
    const b = scratch.getUint8(i);
    out[at + i] = negative ? ~b & 0xff : i === 0 ? b ^ 0x80 : b;
  }
}

function readOrderedFloat64(bytes: Uint8Array, at: number): number {
  const negative = (bytes[at]! & 0x80) === 0;
  for (let i = 0; i < 8; i++) {
    const b = bytes[at + i]!;
    scratch.setUint8(i, negative ? ~b & 0xff : i === 0 ? b ^ 0x80 : b);
  }
  return scratch.getFloat64(0, false);
}

/** tag │ escaped(body) │ 00 00 */
function escapedWithTag(tag: number, body: Uint8Array): Uint8Array {
  let zeros = 0;
  for (let i = 0; i < body.length; i++) if (body[i] === 0) zeros++;
  const out = new Uint8Array(1 + body.length + zeros + 2);
  out[0] = tag;
  if (zeros === 0) {
    out.set(body, 1);
  } else {
    let j = 1;
    for (let i = 0; i < body.length; i++) {
      const b = body[i]!;
      out[j++] = b;
      if (b === 0) out[j++] = 0xff;
    }
  }
  // The two terminator bytes are already 0.
  return out;
}

/** The offset past the 00 00 terminator of an escaped body starting at `offset`. */
function terminatorEnd(bytes: Uint8Array, offset: number): number {
  let i = offset;
  for (;;) {
    if (i + 1 >= bytes.length) throw malformed(bytes, offset - 1);
    if (bytes[i] === 0) {
      if (bytes[i + 1] === 0) return i + 2;
      if (bytes[i + 1] !== 0xff) throw malformed(bytes, offset - 1);
      i += 2;
    } else {
      i++;
    }
  }
}

/** The body bytes of [from, to), escapes removed. */
function unescape(bytes: Uint8Array, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  let j = 0;
  for (let i = from; i < to; i++) {
    const b = bytes[i]!;
    out[j++] = b;
    if (b === 0) i++; // skip the FF of an escaped 00
  }
  return out.subarray(0, j);
}

function malformed(bytes: Uint8Array, offset: number): WeirError {
  return new WeirError('WEIR_CHECKPOINT_CORRUPT', `malformed encoded state key at byte ${offset} of ${bytes.length} (tag ${bytes[offset] ?? 'none'})`);
}
