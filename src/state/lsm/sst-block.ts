/**
 * The data-block codec of SST files (LevelDB-style prefix-compressed keys with restart points),
 * the unsigned-byte key order, and the little varint/byte-buffer helpers the SST codec shares.
 * Pure; runs wherever `SstWriter`/`SstReader` run (the subtask's worker thread, later the
 * compaction thread). The file-level layout is drawn in `sst-format.ts`.
 *
 * Decompressed block body:
 *
 *   body      := entry+ restart × r │ u32 r
 *   entry     := varint shared │ varint unshared │ varint valueTag │ key suffix (unshared bytes) │ value
 *   valueTag  := 0 for a tombstone │ n + 1 for a value of n bytes (so an empty value is tag 1)
 *   restart   := u32 offset of an entry whose shared = 0; one every RESTART_INTERVAL entries,
 *                the first at offset 0
 *
 * A key is the previous key's first `shared` bytes followed by the suffix. A point read binary
 * searches the restart keys (stored whole) and then scans at most RESTART_INTERVAL entries.
 */
import { WeirError } from '../../errors.ts';

/** Entries between restart points: 16 as in LevelDB, trading block size against scan length. */
export const RESTART_INTERVAL = 16;

/** Unsigned lexicographic order of byte strings: the order of every SST and of the LSM tree. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = a.byteLength < b.byteLength ? a.byteLength : b.byteLength;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.byteLength - b.byteLength;
}

/** `compareKeys(buf[0, length), b)` without allocating a view. */
function comparePrefix(buf: Uint8Array, length: number, b: Uint8Array): number {
  const n = length < b.byteLength ? length : b.byteLength;
  for (let i = 0; i < n; i++) {
    const d = buf[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return length - b.byteLength;
}

/** `compareKeys(buf[start, start + length), b)` without allocating a view. */
export function compareAt(buf: Uint8Array, start: number, length: number, b: Uint8Array): number {
  const n = length < b.byteLength ? length : b.byteLength;
  for (let i = 0; i < n; i++) {
    const d = buf[start + i]! - b[i]!;
    if (d !== 0) return d;
  }
  return length - b.byteLength;
}

/** Little-endian u32 at `at`. */
function u32At(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Thrown for a malformed block; `SstReader` rewraps it with the file name and block number. */
export class BlockFormatError extends Error {}

// ── byte buffer ──────────────────────────────────────────────────────────────────────────────

/** A growable little-endian byte buffer. `bytes()` is a view, valid until the next write. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(initialBytes = 4096) {
    this.#buf = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#length;
  }

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#length);
  }

  reset(): void {
    this.#length = 0;
  }

  #reserve(extra: number): void {
    const need = this.#length + extra;
    if (need <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(value: number): void {
    this.#reserve(1);
    this.#buf[this.#length++] = value;
  }

  u32(value: number): void {
    this.#reserve(4);
    this.#view.setUint32(this.#length, value, true);
    this.#length += 4;
  }

  u64(value: bigint | number): void {
    this.#reserve(8);
    this.#view.setBigUint64(this.#length, BigInt(value), true);
    this.#length += 8;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  varint(value: number): void {
    this.#reserve(8);
    while (value >= 0x80) {
      this.#buf[this.#length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.#buf[this.#length++] = value;
  }

  /** `length` bytes of `src` from `start`. */
  append(src: Uint8Array, start = 0, length = src.byteLength - start): void {
    this.#reserve(length);
    this.#buf.set(src.subarray(start, start + length), this.#length);
    this.#length += length;
  }
}

/** Reads an unsigned LEB128 (up to 2^53) at `at` of `buf` below `end`; returns the value and sets `next.at`. */
export function readVarint(buf: Uint8Array, at: number, end: number, next: { at: number }): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (at >= end) throw new BlockFormatError('varint runs past the end');
    const byte = buf[at++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      next.at = at;
      return value;
    }
    scale *= 0x80;
  }
  throw new BlockFormatError('varint longer than 8 bytes');
}

// ── block builder ────────────────────────────────────────────────────────────────────────────

/** Accumulates one data block body. Keys must arrive in ascending order (the writer checks). */
export class BlockBuilder {
  readonly #out = new ByteWriter(8192);
  readonly #restarts: number[] = [];
  #lastKey = new Uint8Array(64);
  #lastKeyLength = 0;
  #sinceRestart = 0;
  #count = 0;

  get entryCount(): number {
    return this.#count;
  }

  /** Bytes the body would have if finished now. */
  get estimatedBytes(): number {
    return this.#out.length + 4 * this.#restarts.length + 4;
  }

  /** The last key added, as a view valid until the next `add`/`reset`. */
  lastKey(): Uint8Array {
    return this.#lastKey.subarray(0, this.#lastKeyLength);
  }

  add(key: Uint8Array, value: Uint8Array | null): void {
    let shared = 0;
    if (this.#count === 0 || this.#sinceRestart === RESTART_INTERVAL) {
      this.#restarts.push(this.#out.length);
      this.#sinceRestart = 0;
    } else {
      const limit = Math.min(this.#lastKeyLength, key.byteLength);
      const last = this.#lastKey;
      while (shared < limit && last[shared] === key[shared]) shared++;
    }
    const out = this.#out;
    out.varint(shared);
    out.varint(key.byteLength - shared);
    out.varint(value === null ? 0 : value.byteLength + 1);
    out.append(key, shared);
    if (value !== null) out.append(value);
    if (key.byteLength > this.#lastKey.byteLength) this.#lastKey = new Uint8Array(key.byteLength * 2);
    this.#lastKey.set(key);
    this.#lastKeyLength = key.byteLength;
    this.#sinceRestart++;
    this.#count++;
  }

  /** Appends the restart array and returns the body, a view valid until `reset`. */
  finish(): Uint8Array {
    for (const r of this.#restarts) this.#out.u32(r);
    this.#out.u32(this.#restarts.length);
    return this.#out.bytes();
  }

  reset(): void {
    this.#out.reset();
    this.#restarts.length = 0;
    this.#lastKeyLength = 0;
    this.#sinceRestart = 0;
    this.#count = 0;
  }
}

// ── block cursor ─────────────────────────────────────────────────────────────────────────────

/**
 * Walks one decompressed block body. The current key is rebuilt in a scratch buffer owned by the
 * cursor; `key()`/`value()` return fresh copies, so neither the cursor nor a cached block is ever
 * exposed to the caller. Malformed bodies throw `BlockFormatError` (only a writer bug can produce
 * one: bodies are checksummed before they reach a cursor).
 */
export class BlockCursor {
  #body: Uint8Array = new Uint8Array(0);
  #dataEnd = 0;
  #restartCount = 0;
  #key = new Uint8Array(64);
  #keyLength = 0;
  /** Offset of the current entry, or `#dataEnd` when exhausted. */
  #at = 0;
  #nextAt = 0;
  #valueStart = 0;
  #valueTag = 0;
  readonly #pos = { at: 0 };

  /**
   * Checks a freshly decompressed body's restart array once, before it is cached; `reset` then
   * trusts it. Throws `BlockFormatError`.
   */
  static validate(body: Uint8Array): void {
    if (body.byteLength < 8) throw new BlockFormatError(`block body is ${body.byteLength} bytes, too short`);
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const r = view.getUint32(body.byteLength - 4, true);
    const dataEnd = body.byteLength - 4 - 4 * r;
    if (r < 1 || dataEnd < 1) throw new BlockFormatError(`block restart count ${r} does not fit its ${body.byteLength} bytes`);
    let previous = -1;
    for (let i = 0; i < r; i++) {
      const offset = view.getUint32(dataEnd + 4 * i, true);
      if (offset <= previous || offset >= dataEnd || (i === 0 && offset !== 0)) {
        throw new BlockFormatError(`block restart ${i} at offset ${offset} is out of order or out of range`);
      }
      previous = offset;
    }
  }

  /** Points the cursor at a body that passed `validate`; the cursor is then unpositioned. */
  reset(body: Uint8Array): void {
    // No DataView here: creating one per point read measured as a visible share of a cached get.
    const r = u32At(body, body.byteLength - 4);
    this.#body = body;
    this.#dataEnd = body.byteLength - 4 - 4 * r;
    this.#restartCount = r;
    this.#at = this.#dataEnd;
    this.#nextAt = this.#dataEnd;
  }

  get valid(): boolean {
    return this.#at < this.#dataEnd;
  }

  seekToFirst(): void {
    this.#keyLength = 0;
    this.#decodeAt(0);
  }

  /** Positions at the first entry whose key is ≥ `target` (invalid if there is none). */
  seek(target: Uint8Array): void {
    // Binary search for the last restart whose (whole) key is ≤ target, then scan forward.
    let lo = 0;
    let hi = this.#restartCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#compareRestartKey(mid, target) <= 0) lo = mid;
      else hi = mid - 1;
    }
    this.#keyLength = 0;
    this.#decodeAt(this.#restartOffset(lo));
    while (this.valid && comparePrefix(this.#key, this.#keyLength, target) < 0) this.next();
  }

  next(): void {
    this.#decodeAt(this.#nextAt);
  }

  /** Compares the current key with `other` without copying it. */
  compareKey(other: Uint8Array): number {
    return comparePrefix(this.#key, this.#keyLength, other);
  }

  key(): Uint8Array {
    return this.#key.slice(0, this.#keyLength);
  }

  /** A copy of the current value, or null for a tombstone. */
  value(): Uint8Array | null {
    if (this.#valueTag === 0) return null;
    return this.#body.slice(this.#valueStart, this.#valueStart + this.#valueTag - 1);
  }

  /**
   * The current key as a view of the cursor's scratch buffer: valid until the cursor moves.
   * Saves the copy where the caller consumes the key at once (compaction copies it into the
   * output block).
   */
  keyView(): Uint8Array {
    return this.#key.subarray(0, this.#keyLength);
  }

  /**
   * The current value as a view of the block body, or null for a tombstone. Bodies are never
   * mutated (cached ones are shared), so the view stays valid; it keeps the whole body alive.
   */
  valueView(): Uint8Array | null {
    if (this.#valueTag === 0) return null;
    return this.#body.subarray(this.#valueStart, this.#valueStart + this.#valueTag - 1);
  }

  #restartOffset(i: number): number {
    return u32At(this.#body, this.#dataEnd + 4 * i);
  }

  #compareRestartKey(i: number, target: Uint8Array): number {
    const pos = this.#pos;
    const at = this.#restartOffset(i);
    const end = this.#dataEnd;
    const shared = readVarint(this.#body, at, end, pos);
    const unshared = readVarint(this.#body, pos.at, end, pos);
    readVarint(this.#body, pos.at, end, pos);
    if (shared !== 0 || pos.at + unshared > end) throw new BlockFormatError(`restart entry at offset ${at} is malformed`);
    return compareAt(this.#body, pos.at, unshared, target);
  }

  /** Decodes the entry at `at` on top of the current key (the previous entry's key). */
  #decodeAt(at: number): void {
    const end = this.#dataEnd;
    if (at >= end) {
      this.#at = end;
      return;
    }
    const body = this.#body;
    const pos = this.#pos;
    const shared = readVarint(body, at, end, pos);
    const unshared = readVarint(body, pos.at, end, pos);
    const valueTag = readVarint(body, pos.at, end, pos);
    const keyStart = pos.at;
    const valueStart = keyStart + unshared;
    const next = valueStart + (valueTag === 0 ? 0 : valueTag - 1);
    if (shared > this.#keyLength || next > end) throw new BlockFormatError(`entry at offset ${at} is malformed`);
    const keyLength = shared + unshared;
    if (keyLength > this.#key.byteLength) {
      const grown = new Uint8Array(keyLength * 2);
      grown.set(this.#key.subarray(0, shared));
      this.#key = grown;
    }
    // A byte loop beats subarray + set for the short suffixes prefix compression leaves.
    if (unshared < 32) {
      const key = this.#key;
      for (let i = 0; i < unshared; i++) key[shared + i] = body[keyStart + i]!;
    } else {
      this.#key.set(body.subarray(keyStart, valueStart), shared);
    }
    this.#keyLength = keyLength;
    this.#at = at;
    this.#valueStart = valueStart;
    this.#valueTag = valueTag;
    this.#nextAt = next;
  }
}
