/**
 * The SST file codec: an immutable sorted table of (key, value | tombstone) in ascending
 * unsigned-byte key order, written once by `SstWriter` and read by `SstReader`. Pure, bytes in
 * and out; runs on the subtask's worker thread (memtable flush, point reads, iteration) and later
 * on the background pool (compaction). Both need `loadChecksum()` to have resolved on the thread.
 *
 * File layout (all fixed-width integers little-endian; varints are unsigned LEB128):
 *
 *   0             ┌──────────────────────────────────────────────────────────────────────────┐
 *                 │ data block 0 │ data block 1 │ … │ data block n−1     (back to back)          │
 *   indexOffset   ├──────────────────────────────────────────────────────────────────────────┤
 *                 │ index block: stored like a data block (below), one entry per data block:  │
 *                 │   key = the block's last key, value = varint offset │ varint length │      │
 *                 │   u64 xxHash64(stored data block)                                          │
 *   filterOffset  ├──────────────────────────────────────────────────────────────────────────┤
 *                 │ filter block: bloom filter (layout in bloom-filter.ts)                     │
 *   footerOffset  ├──────────────────────────────────────────────────────────────────────────┤
 *                 │ footer: u64 indexOffset │ u64 indexLength │ u64 xxHash64(stored index)     │
 *                 │         u64 filterOffset │ u64 filterLength │ u64 xxHash64(filter block)   │
 *                 │         u64 entryCount │ u32 blockCount                                     │
 *                 │         varint smallestKeyLength │ smallestKey                              │
 *                 │         varint largestKeyLength │ largestKey                                │
 *   end − 24      ├──────────────────────────────────────────────────────────────────────────┤
 *                 │ tail: u32 footerLength │ u32 version = 1 │                                  │
 *                 │       u64 xxHash64(footer ‖ footerLength ‖ version) │ magic "WEIRSST1"      │
 *                 └──────────────────────────────────────────────────────────────────────────┘
 *
 *   stored block := payload │ u8 compression        (the checksum covers both)
 *     compression 0: payload is the raw block body (LZ4 did not make it smaller)
 *     compression 1: payload is an lz4-napi block (u32 raw size + LZ4 data) of the raw body
 *   raw block body: prefix-compressed entries with restart points, drawn in sst-block.ts.
 *
 * Every byte is covered: the tail checksum covers the footer; the footer carries the index and
 * filter checksums and their exact extents (the sections must tile the file, so a truncated or
 * padded file fails on open); the index carries each data block's checksum, verified before the
 * block is decompressed or cached. `open` verifies tail, footer, index and filter; data blocks are
 * verified when first read. The index reuses the data block codec, so the long shared prefixes of
 * state keys (key group, state name) are prefix-compressed there too; its keys are whole last
 * keys, not LevelDB's shortened separators (simpler; the index is ~1 % of the file and is parsed
 * into arrays once, on open). An SST holds at least one entry:
 * `finish()` on an empty writer throws, so callers skip empty outputs (an empty memtable flush, a
 * compaction that dropped everything).
 */
import { compressSync, uncompressSync } from 'lz4-napi';
import { WeirError } from '../../errors.ts';
import { checksum64 } from '../../storage/state-file.ts';
import { BloomFilter, DEFAULT_BLOOM_BITS_PER_KEY, bloomHash, validateBitsPerKey } from './bloom-filter.ts';
import type { BlockCacheHook } from './block-cache.ts';
import { BlockBuilder, BlockCursor, BlockFormatError, ByteWriter, compareKeys, readVarint } from './sst-block.ts';

export { compareKeys } from './sst-block.ts';
export type { BlockCacheHook } from './block-cache.ts';

export const SST_MAGIC = 'WEIRSST1';
export const SST_VERSION = 1;
export const DEFAULT_SST_BLOCK_BYTES = 8 * 1024;
const MIN_BLOCK_BYTES = 64;
const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
const TAIL_BYTES = 24;
/** Fixed part of the footer, before the two keys: 7 × u64 + u32. */
const FOOTER_FIXED_BYTES = 60;
const COMPRESSION_NONE = 0;
const COMPRESSION_LZ4 = 1;

export interface SstWriterOptions {
  /** Target uncompressed data block size; a block is cut once it reaches this. Default 8 KiB. */
  blockBytes?: number;
  /** Bloom filter bits per key; 0 writes a filter that never excludes. Default 10 (≈ 0.8 % false positives). */
  bloomBitsPerKey?: number;
}

export interface SstReaderOptions {
  /** Cache for decompressed, verified data blocks, keyed `<name>#<block offset>`; names must be unique per cache. */
  blockCache?: BlockCacheHook;
}

export type SstGetResult = { found: true; value: Uint8Array | null } | { found: false };

const NOT_FOUND: SstGetResult = Object.freeze({ found: false });

// ── writer ───────────────────────────────────────────────────────────────────────────────────

/** Builds one SST file in memory from entries added in strictly ascending key order. */
export class SstWriter {
  readonly #blockBytes: number;
  readonly #bitsPerKey: number;
  readonly #block = new BlockBuilder();
  readonly #chunks: Uint8Array[] = [];
  readonly #index = new BlockBuilder();
  readonly #indexValue = new ByteWriter(32);
  #dataBytes = 0;
  #blockCount = 0;
  #entryCount = 0;
  #smallest: Uint8Array | undefined;
  /** The last key of the last flushed block (the index's last key so far). */
  #lastIndexedKey: Uint8Array | undefined;
  #hashes = new Uint32Array(1024);
  #finished = false;

  constructor(options: SstWriterOptions = {}) {
    const blockBytes = options.blockBytes ?? DEFAULT_SST_BLOCK_BYTES;
    if (!Number.isInteger(blockBytes) || blockBytes < MIN_BLOCK_BYTES || blockBytes > MAX_BLOCK_BYTES) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `options.blockBytes must be an integer in [${MIN_BLOCK_BYTES}, ${MAX_BLOCK_BYTES}], got ${String(blockBytes)}`);
    }
    const bitsPerKey = options.bloomBitsPerKey ?? DEFAULT_BLOOM_BITS_PER_KEY;
    validateBitsPerKey(bitsPerKey, 'options.bloomBitsPerKey');
    this.#blockBytes = blockBytes;
    this.#bitsPerKey = bitsPerKey;
  }

  get entryCount(): number {
    return this.#entryCount;
  }

  /** Adds an entry; `value` null is a tombstone. Keys must be strictly ascending (compareKeys). */
  add(key: Uint8Array, value: Uint8Array | null): void {
    if (this.#finished) throw new WeirError('WEIR_INVALID_ARGUMENT', 'SstWriter.add() called after finish()');
    if (!(key instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'SST key must be a Uint8Array');
    if (value !== null && !(value instanceof Uint8Array)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'SST value must be a Uint8Array or null (tombstone)');
    }
    if (this.#entryCount > 0) {
      const previous = this.#block.entryCount > 0 ? this.#block.lastKey() : this.#lastIndexedKey!;
      if (compareKeys(key, previous) <= 0) {
        throw new WeirError(
          'WEIR_INVALID_ARGUMENT',
          `SST keys must be strictly ascending: key ${hex(key)} (entry ${this.#entryCount}) is not above the previous key ${hex(previous)}`,
        );
      }
    } else {
      this.#smallest = key.slice();
    }
    if (this.#bitsPerKey > 0) this.#addHash(key);
    this.#block.add(key, value);
    this.#entryCount++;
    if (this.#block.estimatedBytes >= this.#blockBytes) this.#flushBlock();
  }

  /** Returns the whole file. Throws WEIR_INVALID_ARGUMENT if no entry was added. */
  finish(): Uint8Array {
    if (this.#finished) throw new WeirError('WEIR_INVALID_ARGUMENT', 'SstWriter.finish() called twice');
    if (this.#entryCount === 0) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'an SST file needs at least one entry; skip writing an empty table');
    }
    this.#finished = true;
    if (this.#block.entryCount > 0) this.#flushBlock();
    const index = storeBlock(this.#index.finish());
    const filter = BloomFilter.fromHashes(this.#hashes, this.#bitsPerKey > 0 ? this.#entryCount : 0, this.#bitsPerKey).serialize();
    const indexOffset = this.#dataBytes;
    const filterOffset = indexOffset + index.byteLength;

    const footer = new ByteWriter(FOOTER_FIXED_BYTES + 64 + TAIL_BYTES);
    footer.u64(indexOffset);
    footer.u64(index.byteLength);
    footer.u64(checksum64(index));
    footer.u64(filterOffset);
    footer.u64(filter.byteLength);
    footer.u64(checksum64(filter));
    footer.u64(this.#entryCount);
    footer.u32(this.#blockCount);
    footer.varint(this.#smallest!.byteLength);
    footer.append(this.#smallest!);
    const largest = this.#lastIndexedKey!;
    footer.varint(largest.byteLength);
    footer.append(largest);
    const footerLength = footer.length;
    footer.u32(footerLength);
    footer.u32(SST_VERSION);
    footer.u64(checksum64(footer.bytes()));
    for (let i = 0; i < 8; i++) footer.u8(SST_MAGIC.charCodeAt(i));

    const parts = [...this.#chunks, index, filter, footer.bytes()];
    const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    this.#chunks.length = 0;
    return out;
  }

  #flushBlock(): void {
    const stored = storeBlock(this.#block.finish());
    const lastKey = this.#block.lastKey().slice();
    const value = this.#indexValue;
    value.reset();
    value.varint(this.#dataBytes);
    value.varint(stored.byteLength);
    value.u64(checksum64(stored));
    this.#index.add(lastKey, value.bytes());
    this.#chunks.push(stored);
    this.#dataBytes += stored.byteLength;
    this.#blockCount++;
    this.#lastIndexedKey = lastKey;
    this.#block.reset();
  }

  #addHash(key: Uint8Array): void {
    const i = this.#entryCount;
    if (i === this.#hashes.length) {
      const grown = new Uint32Array(i * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[i] = bloomHash(key);
  }
}

// ── reader ───────────────────────────────────────────────────────────────────────────────────

/** A verified, opened SST file held in memory. Keys and values it returns are fresh copies. */
export class SstReader {
  readonly #file: Uint8Array;
  readonly #name: string;
  readonly #cache: BlockCacheHook | undefined;
  readonly #lastKeys: Uint8Array[];
  readonly #offsets: number[];
  readonly #lengths: number[];
  readonly #checksums: bigint[];
  readonly #bloom: BloomFilter;
  readonly #smallest: Uint8Array;
  readonly #largest: Uint8Array;
  readonly #entryCount: number;
  /** Reused by `get` only; each `entries()` generator has its own, as generators interleave. */
  readonly #cursor = new BlockCursor();
  readonly #cacheIds: string[] = [];

  private constructor(file: Uint8Array, name: string, cache: BlockCacheHook | undefined, parsed: ParsedFile) {
    this.#file = file;
    this.#name = name;
    this.#cache = cache;
    this.#lastKeys = parsed.lastKeys;
    this.#offsets = parsed.offsets;
    this.#lengths = parsed.lengths;
    this.#checksums = parsed.checksums;
    this.#bloom = parsed.bloom;
    this.#smallest = parsed.smallest;
    this.#largest = parsed.largest;
    this.#entryCount = parsed.entryCount;
  }

  /**
   * Verifies tail, footer, index and filter and returns a reader over `file` (kept, not copied:
   * the caller must not mutate it). `name` identifies the file in errors and block-cache ids.
   */
  static open(file: Uint8Array, name: string, options: SstReaderOptions = {}): SstReader {
    if (!(file instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', `SST file ${name} must be a Uint8Array`);
    // A Buffer's `slice` shares memory; a plain view makes every copy handed out a real copy.
    const plain = file.constructor === Uint8Array ? file : new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
    return new SstReader(plain, name, options.blockCache, parseFile(plain, name));
  }

  get name(): string {
    return this.#name;
  }

  get smallestKey(): Uint8Array {
    return this.#smallest.slice();
  }

  get largestKey(): Uint8Array {
    return this.#largest.slice();
  }

  get entryCount(): number {
    return this.#entryCount;
  }

  get blockCount(): number {
    return this.#offsets.length;
  }

  get byteLength(): number {
    return this.#file.byteLength;
  }

  /** False only if `key` is certainly not in the file: outside [smallest, largest] or excluded by the bloom filter. */
  mayContain(key: Uint8Array, hash?: number): boolean {
    if (compareKeys(key, this.#smallest) < 0 || compareKeys(key, this.#largest) > 0) return false;
    if (hash !== undefined) return this.#bloom.mayContainHash(hash);
    return this.#bloom.mayContain(key);
  }

  /**
   * Point read: range and bloom check, binary search of the index, then the one block that can
   * hold `key` (verified and decompressed, or from the cache). `hash` is `bloomHash(key)`, when the
   * caller probes several files with one key. A tombstone is `{ found: true, value: null }`.
   */
  get(key: Uint8Array, hash?: number): SstGetResult {
    if (!(key instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'SST key must be a Uint8Array');
    if (!this.mayContain(key, hash)) return NOT_FOUND;
    const block = this.#findBlock(key);
    const cursor = this.#cursor;
    try {
      cursor.reset(this.#blockBody(block));
      cursor.seek(key);
      if (!cursor.valid || cursor.compareKey(key) !== 0) return NOT_FOUND;
      return { found: true, value: cursor.value() };
    } catch (error) {
      throw this.#rewrap(error, block);
    }
  }

  /** Entries with from ≤ key < to (either bound optional), ascending. Tombstones are yielded with value null. */
  *entries(from?: Uint8Array, to?: Uint8Array): Generator<[Uint8Array, Uint8Array | null]> {
    if (from !== undefined && !(from instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'entries() bound `from` must be a Uint8Array');
    if (to !== undefined && !(to instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'entries() bound `to` must be a Uint8Array');
    const cursor = new BlockCursor();
    const blockCount = this.#offsets.length;
    let block = from === undefined ? 0 : this.#findBlock(from);
    let first = true;
    for (; block < blockCount; block++) {
      try {
        cursor.reset(this.#blockBody(block));
        if (first && from !== undefined) cursor.seek(from);
        else cursor.seekToFirst();
      } catch (error) {
        throw this.#rewrap(error, block);
      }
      first = false;
      while (cursor.valid) {
        if (to !== undefined && cursor.compareKey(to) >= 0) return;
        yield [cursor.key(), cursor.value()];
        try {
          cursor.next();
        } catch (error) {
          throw this.#rewrap(error, block);
        }
      }
    }
  }

  /** Index of the first block whose last key is ≥ key (blockCount if none). */
  #findBlock(key: Uint8Array): number {
    const lastKeys = this.#lastKeys;
    let lo = 0;
    let hi = lastKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(lastKeys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The verified, decompressed body of data block `i`, from the cache when present. */
  #blockBody(i: number): Uint8Array {
    const offset = this.#offsets[i]!;
    let id = '';
    if (this.#cache !== undefined) {
      // One id string per block, kept: a fresh template string per read would be re-hashed by the cache's Map.
      id = this.#cacheIds[i] ??= `${this.#name}#${offset}`;
      const cached = this.#cache.get(id);
      if (cached !== undefined) return cached;
    }
    const stored = this.#file.subarray(offset, offset + this.#lengths[i]!);
    if (checksum64(stored) !== this.#checksums[i]) throw corrupt(this.#name, `data block ${i} (offset ${offset}) checksum mismatch`);
    let body: Uint8Array;
    try {
      body = unstoreBlock(stored);
    } catch (error) {
      throw this.#rewrap(error, i);
    }
    this.#cache?.set(id, body);
    return body;
  }

  #rewrap(error: unknown, block: number): unknown {
    if (error instanceof BlockFormatError) {
      return corrupt(this.#name, `data block ${block} (offset ${this.#offsets[block]}) is malformed: ${error.message}`, error);
    }
    return error;
  }
}

// ── open-time parsing ────────────────────────────────────────────────────────────────────────

interface ParsedFile {
  lastKeys: Uint8Array[];
  offsets: number[];
  lengths: number[];
  checksums: bigint[];
  bloom: BloomFilter;
  smallest: Uint8Array;
  largest: Uint8Array;
  entryCount: number;
}

function parseFile(file: Uint8Array, name: string): ParsedFile {
  const size = file.byteLength;
  if (size < TAIL_BYTES + FOOTER_FIXED_BYTES) throw corrupt(name, `file is ${size} bytes, shorter than the smallest footer and tail: truncated`);
  const view = new DataView(file.buffer, file.byteOffset, size);
  const tail = size - TAIL_BYTES;
  for (let i = 0; i < 8; i++) {
    if (file[tail + 16 + i] !== SST_MAGIC.charCodeAt(i)) throw corrupt(name, `bad magic in the tail (expected ${SST_MAGIC}): truncated or not an SST file`);
  }
  const footerLength = view.getUint32(tail, true);
  if (footerLength < FOOTER_FIXED_BYTES + 2 || footerLength > tail) throw corrupt(name, `footer length ${footerLength} is impossible in a ${size}-byte file`);
  const footerOffset = tail - footerLength;
  if (checksum64(file.subarray(footerOffset, tail + 8)) !== view.getBigUint64(tail + 8, true)) throw corrupt(name, 'footer checksum mismatch');
  const version = view.getUint32(tail + 4, true);
  if (version !== SST_VERSION) throw corrupt(name, `unsupported SST version ${version} (expected ${SST_VERSION})`);

  const f = footerOffset;
  const indexOffset = u64(view, f);
  const indexLength = u64(view, f + 8);
  const indexChecksum = view.getBigUint64(f + 16, true);
  const filterOffset = u64(view, f + 24);
  const filterLength = u64(view, f + 32);
  const filterChecksum = view.getBigUint64(f + 40, true);
  const entryCount = u64(view, f + 48);
  const blockCount = view.getUint32(f + 56, true);
  // The checksum matched, so the checks below fail only for a file written by a buggy writer.
  if (indexOffset + indexLength !== filterOffset || filterOffset + filterLength !== footerOffset || blockCount < 1 || entryCount < blockCount) {
    throw corrupt(name, `footer is inconsistent (index ${indexOffset}+${indexLength}, filter ${filterOffset}+${filterLength}, footer at ${footerOffset}, ${blockCount} blocks, ${entryCount} entries)`);
  }
  let smallest: Uint8Array;
  let largest: Uint8Array;
  try {
    const pos = { at: f + FOOTER_FIXED_BYTES };
    smallest = readKey(file, pos, tail);
    largest = readKey(file, pos, tail);
    if (pos.at !== tail) throw new BlockFormatError(`${tail - pos.at} unexpected bytes after the largest key`);
  } catch (error) {
    throw corrupt(name, `footer keys are malformed: ${(error as Error).message}`, error);
  }
  if (compareKeys(smallest, largest) > 0) throw corrupt(name, 'footer smallest key is above its largest key');

  const index = file.subarray(indexOffset, filterOffset);
  if (checksum64(index) !== indexChecksum) throw corrupt(name, 'index block checksum mismatch');
  const filterBytes = file.subarray(filterOffset, footerOffset);
  if (checksum64(filterBytes) !== filterChecksum) throw corrupt(name, 'filter block checksum mismatch');
  let bloom: BloomFilter;
  try {
    bloom = BloomFilter.deserialize(filterBytes);
  } catch (error) {
    throw corrupt(name, `filter block is malformed: ${(error as Error).message}`, error);
  }
  return { ...parseIndex(index, name, blockCount, indexOffset, largest), bloom, smallest, largest, entryCount };
}

function parseIndex(stored: Uint8Array, name: string, blockCount: number, dataEnd: number, largest: Uint8Array) {
  const lastKeys: Uint8Array[] = [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  const checksums: bigint[] = [];
  const pos = { at: 0 };
  let expectedOffset = 0;
  try {
    const cursor = new BlockCursor();
    cursor.reset(unstoreBlock(stored));
    for (cursor.seekToFirst(); cursor.valid; cursor.next()) {
      const i = lastKeys.length;
      const lastKey = cursor.key();
      const value = cursor.value();
      if (value === null) throw new BlockFormatError(`entry ${i} is a tombstone`);
      const offset = readVarint(value, 0, value.byteLength, pos);
      const length = readVarint(value, pos.at, value.byteLength, pos);
      if (pos.at + 8 !== value.byteLength) throw new BlockFormatError(`entry ${i} has a ${value.byteLength}-byte value`);
      const checksum = new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(pos.at, true);
      if (offset !== expectedOffset || length < 2) throw new BlockFormatError(`block ${i} at ${offset}+${length} does not follow the previous block`);
      if (i > 0 && compareKeys(lastKeys[i - 1]!, lastKey) >= 0) throw new BlockFormatError(`last keys of blocks ${i - 1} and ${i} are not ascending`);
      expectedOffset = offset + length;
      lastKeys.push(lastKey);
      offsets.push(offset);
      lengths.push(length);
      checksums.push(checksum);
    }
    if (lastKeys.length !== blockCount) throw new BlockFormatError(`${lastKeys.length} entries, the footer says ${blockCount} blocks`);
    if (expectedOffset !== dataEnd) throw new BlockFormatError(`blocks end at ${expectedOffset}, the index starts at ${dataEnd}`);
    if (compareKeys(lastKeys[blockCount - 1]!, largest) !== 0) throw new BlockFormatError('the last block does not end with the largest key');
  } catch (error) {
    if (!(error instanceof BlockFormatError)) throw error;
    throw corrupt(name, `index block is malformed: ${error.message}`, error);
  }
  return { lastKeys, offsets, lengths, checksums };
}

// ── stored blocks ────────────────────────────────────────────────────────────────────────────

/** payload ‖ compression flag: LZ4 when it makes the body smaller, else the raw body. */
function storeBlock(body: Uint8Array): Uint8Array {
  const compressed = compressSync(asBuffer(body));
  const useLz4 = compressed.byteLength < body.byteLength;
  const payload = useLz4 ? compressed : body;
  const stored = new Uint8Array(payload.byteLength + 1);
  stored.set(payload);
  stored[payload.byteLength] = useLz4 ? COMPRESSION_LZ4 : COMPRESSION_NONE;
  return stored;
}

/**
 * The validated raw body of a stored block whose checksum already matched. Always a plain
 * Uint8Array: lz4-napi returns a Buffer, whose `slice` would share memory with a cached block.
 * Throws `BlockFormatError`.
 */
function unstoreBlock(stored: Uint8Array): Uint8Array {
  if (stored.byteLength < 2) throw new BlockFormatError(`stored block is ${stored.byteLength} bytes`);
  const payload = stored.subarray(0, stored.byteLength - 1);
  const compression = stored[stored.byteLength - 1];
  let body: Uint8Array;
  if (compression === COMPRESSION_NONE) {
    body = payload;
  } else if (compression === COMPRESSION_LZ4) {
    let raw: Buffer;
    try {
      raw = uncompressSync(payload);
    } catch (cause) {
      throw new BlockFormatError(`does not decompress: ${String(cause)}`);
    }
    body = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  } else {
    throw new BlockFormatError(`unknown compression ${String(compression)}`);
  }
  BlockCursor.validate(body);
  return body;
}

function readKey(buf: Uint8Array, pos: { at: number }, end: number): Uint8Array {
  const length = readVarint(buf, pos.at, end, pos);
  if (pos.at + length > end) throw new BlockFormatError(`key of ${length} bytes runs past the end`);
  const key = buf.slice(pos.at, pos.at + length);
  pos.at += length;
  return key;
}

function u64(view: DataView, at: number): number {
  return Number(view.getBigUint64(at, true));
}

function corrupt(name: string, what: string, cause?: unknown): WeirError {
  return new WeirError('WEIR_CHECKPOINT_CORRUPT', `SST file ${name} is corrupt: ${what}`, cause === undefined ? { context: { file: name } } : { cause, context: { file: name } });
}

function hex(key: Uint8Array): string {
  const shown = key.byteLength > 32 ? key.subarray(0, 32) : key;
  return `0x${Buffer.from(shown.buffer, shown.byteOffset, shown.byteLength).toString('hex')}${key.byteLength > 32 ? '…' : ''}`;
}

/** lz4-napi's sync functions type their input as Buffer; a view over the same memory costs nothing. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
