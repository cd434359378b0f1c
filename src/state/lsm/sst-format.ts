/**
 * The SST file codec: an immutable sorted table of (key, value | tombstone) in ascending
 * unsigned-byte key order, written once by `SstWriter` and read by `SstReader`. Pure, bytes in
 * and out; runs on the subtask's worker thread (memtable flush, point reads, iteration) and later
 * on the tree's compaction thread. Both need `loadChecksum()` to have resolved on the thread.
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
 * state keys (key group, state id) are prefix-compressed there too; its keys are whole last
 * keys, not LevelDB's shortened separators (simpler; the index is ~1 % of the file and is parsed
 * into arrays once, on open). An SST holds at least one entry:
 * `finish()` on an empty writer throws, so callers skip empty outputs (an empty memtable flush, a
 * compaction that dropped everything).
 */
import { compressSync, uncompressSync } from 'lz4-napi';
import { WeirError } from '../../errors.ts';
import { checksum64 } from '../../storage/state-file.ts';
import { BloomFilter, BloomFilterBuilder, DEFAULT_BLOOM_BITS_PER_KEY, bloomHash, validateBitsPerKey } from './bloom-filter.ts';
import type { BlockCacheHook } from './block-cache.ts';
import { BlockBuilder, BlockCursor, BlockFormatError, ByteWriter, compareAt, compareKeys, readVarint } from './sst-block.ts';

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
/** Keys per step of `prepareFinish`: ~1–2 ms of filter building. */
const FILTER_STEP_KEYS = 16 * 1024;

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
  /** Set by `prepareFinish`, which builds it in steps. */
  #filter: Uint8Array | undefined;
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
    if (this.#finished || this.#filter !== undefined) throw new WeirError('WEIR_INVALID_ARGUMENT', 'SstWriter.add() called after finish()');
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

  /** Bytes of the file's data section so far (finished blocks, taken or not). */
  get dataBytes(): number {
    return this.#dataBytes;
  }

  /**
   * The stored data blocks finished since the last call, in file order, for a caller that writes
   * the file as it is built (`SstFileWriter`); `finish()` then returns only what follows them.
   */
  takeChunks(): Uint8Array[] {
    return this.#chunks.splice(0, this.#chunks.length);
  }

  /**
   * Optional, before `finish()`: cuts the last data block and builds the bloom filter in steps
   * of FILTER_STEP_KEYS keys, so a caller writing a large table can yield between steps;
   * `finish()` then only encodes the index and footer. No entry may be added afterwards.
   */
  *prepareFinish(): Generator<void> {
    if (this.#finished) throw new WeirError('WEIR_INVALID_ARGUMENT', 'SstWriter.prepareFinish() called after finish()');
    if (this.#block.entryCount > 0) this.#flushBlock();
    const count = this.#bitsPerKey > 0 ? this.#entryCount : 0;
    const builder = new BloomFilterBuilder(count, this.#bitsPerKey);
    for (let from = 0; from < count; from += FILTER_STEP_KEYS) {
      builder.addHashes(this.#hashes, from, Math.min(count, from + FILTER_STEP_KEYS));
      yield;
    }
    this.#filter = builder.finish().serialize();
  }

  /**
   * Returns the rest of the file: the data blocks not taken by `takeChunks()` (all of them if it
   * was never called, so the result is the whole file), then index, filter and footer. Throws
   * WEIR_INVALID_ARGUMENT if no entry was added.
   */
  finish(): Uint8Array {
    if (this.#finished) throw new WeirError('WEIR_INVALID_ARGUMENT', 'SstWriter.finish() called twice');
    if (this.#entryCount === 0) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'an SST file needs at least one entry; skip writing an empty table');
    }
    this.#finished = true;
    if (this.#block.entryCount > 0) this.#flushBlock();
    const index = storeBlock(this.#index.finish());
    const filter = this.#filter ?? BloomFilter.fromHashes(this.#hashes, this.#bitsPerKey > 0 ? this.#entryCount : 0, this.#bitsPerKey).serialize();
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

/** Where an `SstReader` reads its file from (implementations in sst-file.ts). */
export interface SstSource {
  readonly byteLength: number;
  /**
   * `length` bytes at `offset`, as a plain Uint8Array (never a pooled Buffer: the reader caches
   * it and hands out `slice` copies, which must not share memory with it).
   */
  read(offset: number, length: number): Uint8Array;
  /** Releases the file; later reads throw. Idempotent. */
  close(): void;
}

/** A whole file held in memory (tests, tools). `read` returns views, not copies. */
class BytesSource implements SstSource {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    // A Buffer's `slice` shares memory; a plain view makes every copy handed out a real copy.
    this.#bytes = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  read(offset: number, length: number): Uint8Array {
    return this.#bytes.subarray(offset, offset + length);
  }

  close(): void {}
}

/** Releases the references of iterators dropped without being finished or returned. */
const abandonedIterators = new FinalizationRegistry<SstReader>((reader) => reader.release());

/**
 * A verified, opened SST file. Only the index, the bloom filter and the footer's keys are held in
 * memory; data blocks are read from the source on a cache miss and verified before they are
 * decompressed or cached. Keys and values it returns are fresh copies unless asked for views.
 *
 * Lifetime: the reader starts with one reference, its owner's, dropped by `close()`; every
 * `entries()` iterator holds another until it is exhausted or returned. The source closes when
 * the last reference goes, so a scan keeps reading a file compaction has already removed (and,
 * on POSIX, unlinked).
 */
export class SstReader {
  readonly #source: SstSource;
  readonly #name: string;
  readonly #cache: BlockCacheHook | undefined;
  readonly #index: ParsedIndex;
  readonly #bloom: BloomFilter;
  readonly #smallest: Uint8Array;
  readonly #largest: Uint8Array;
  readonly #entryCount: number;
  /** Reused by `get` only; each `entries()` iterator has its own, as iterators interleave. */
  readonly #cursor = new BlockCursor();
  readonly #cacheIds: (string | undefined)[];
  #refs = 1;
  #ownerClosed = false;

  private constructor(source: SstSource, name: string, cache: BlockCacheHook | undefined, parsed: ParsedFile) {
    this.#source = source;
    this.#name = name;
    this.#cache = cache;
    this.#index = parsed.index;
    this.#bloom = parsed.bloom;
    this.#smallest = parsed.smallest;
    this.#largest = parsed.largest;
    this.#entryCount = parsed.entryCount;
    this.#cacheIds = new Array<string | undefined>(parsed.index.count);
  }

  /**
   * Verifies tail, footer, index and filter (reading only those) and returns a reader. Bytes are
   * kept, not copied: the caller must not mutate them. A source is owned by the reader from now
   * on (closed on failure too). `name` identifies the file in errors and block-cache ids.
   */
  static open(file: Uint8Array | SstSource, name: string, options: SstReaderOptions = {}): SstReader {
    let source: SstSource;
    if (file instanceof Uint8Array) source = new BytesSource(file);
    else if (typeof file === 'object' && file !== null && typeof (file as SstSource).read === 'function') source = file;
    else throw new WeirError('WEIR_INVALID_ARGUMENT', `SST file ${name} must be a Uint8Array or an SstSource`);
    try {
      return new SstReader(source, name, options.blockCache, parseFile(source, name));
    } catch (error) {
      source.close();
      throw error;
    }
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
    return this.#index.count;
  }

  get byteLength(): number {
    return this.#source.byteLength;
  }

  /** Bytes of the index and filter held in memory (what the reader costs while its blocks are on disk). */
  get memoryBytes(): number {
    const index = this.#index;
    return index.keyBytes.byteLength + index.keyStarts.byteLength + index.offsets.byteLength + index.checksums.byteLength + this.#bloom.byteLength;
  }

  /** Takes a reference: the source stays open until every holder `release`s. @internal */
  retain(): void {
    if (this.#refs === 0) throw new WeirError('WEIR_INTERNAL', `SST file ${this.#name} was used after its reader closed`);
    this.#refs++;
  }

  /** Drops a reference taken by `retain` (or the owner's, via `close`); the last one closes the source. @internal */
  release(): void {
    if (this.#refs === 0) return;
    if (--this.#refs === 0) this.#source.close();
  }

  /** Drops the owner's reference (idempotent): the file closes now, or when its last iterator ends. */
  close(): void {
    if (this.#ownerClosed) return;
    this.#ownerClosed = true;
    this.release();
  }

  /** False only if `key` is certainly not in the file: outside [smallest, largest] or excluded by the bloom filter. */
  mayContain(key: Uint8Array, hash?: number): boolean {
    if (compareKeys(key, this.#smallest) < 0 || compareKeys(key, this.#largest) > 0) return false;
    if (hash !== undefined) return this.#bloom.mayContainHash(hash);
    return this.#bloom.mayContain(key);
  }

  /**
   * Point read: range and bloom check, binary search of the index, then the one block that can
   * hold `key` (from the cache, or read, verified and decompressed). `hash` is `bloomHash(key)`,
   * when the caller probes several files with one key. A tombstone is `{ found: true, value: null }`.
   * The value is a copy, or with `view` a read-only view of the (immutable) block: `LsmTree.get`
   * asks for views, as a point read's value is decoded at once by its caller (the SortedKv
   * contract) and a copy per read is an ArrayBuffer allocation each time.
   */
  get(key: Uint8Array, hash?: number, view = false): SstGetResult {
    if (!(key instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'SST key must be a Uint8Array');
    if (!this.mayContain(key, hash)) return NOT_FOUND;
    const block = this.#findBlock(key);
    const cursor = this.#cursor;
    try {
      cursor.reset(this.#blockBody(block));
      cursor.seek(key);
      if (!cursor.valid || cursor.compareKey(key) !== 0) return NOT_FOUND;
      return { found: true, value: view ? cursor.valueView() : cursor.value() };
    } catch (error) {
      throw this.#rewrap(error, block);
    }
  }

  /**
   * Entries with from ≤ key < to (either bound optional), ascending; tombstones have value null.
   * `fillCache` false (compaction, which reads each block once) uses cached blocks but does not
   * add the ones it reads. `views` true yields views instead of copies, valid only until the
   * iterator's next step (compaction, which copies each entry into its output at once).
   * The iterator holds a reference from this call until it is exhausted or returned, so the file
   * stays readable even if its owner closes the reader meanwhile.
   */
  entries(from?: Uint8Array, to?: Uint8Array, fillCache = true, views = false): IterableIterator<[Uint8Array, Uint8Array | null]> {
    if (from !== undefined && !(from instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'entries() bound `from` must be a Uint8Array');
    if (to !== undefined && !(to instanceof Uint8Array)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'entries() bound `to` must be a Uint8Array');
    this.retain();
    const iterator = new SstIterator(this, from === undefined ? 0 : this.#findBlock(from), from, to, fillCache, views);
    abandonedIterators.register(iterator, this, iterator);
    return iterator;
  }

  /** @internal for SstIterator: ends an iterator's reference. */
  endIteration(iterator: SstIterator): void {
    abandonedIterators.unregister(iterator);
    this.release();
  }

  /** @internal for SstIterator: positions `cursor` in block `block` (at `from`, or its first entry). */
  positionIn(cursor: BlockCursor, block: number, from: Uint8Array | undefined, fillCache: boolean): void {
    try {
      cursor.reset(this.#blockBody(block, fillCache));
      if (from !== undefined) cursor.seek(from);
      else cursor.seekToFirst();
    } catch (error) {
      throw this.#rewrap(error, block);
    }
  }

  /** @internal for SstIterator. */
  rewrap(error: unknown, block: number): unknown {
    return this.#rewrap(error, block);
  }

  /** Index of the first block whose last key is ≥ key (blockCount if none). */
  #findBlock(key: Uint8Array): number {
    const { keyBytes, keyStarts, count } = this.#index;
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const start = keyStarts[mid]!;
      if (compareAt(keyBytes, start, keyStarts[mid + 1]! - start, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The verified, decompressed body of data block `i`, from the cache when present. */
  #blockBody(i: number, fillCache = true): Uint8Array {
    const offsets = this.#index.offsets;
    const offset = offsets[i]!;
    let id = '';
    if (this.#cache !== undefined) {
      // One id string per block, kept: a fresh template string per read would be re-hashed by the cache's Map.
      id = this.#cacheIds[i] ??= `${this.#name}#${offset}`;
      const cached = this.#cache.get(id);
      if (cached !== undefined) return cached;
    }
    const stored = this.#source.read(offset, offsets[i + 1]! - offset);
    if (checksum64(stored) !== this.#index.checksums[i]) throw corrupt(this.#name, `data block ${i} (offset ${offset}) checksum mismatch`);
    let body: Uint8Array;
    try {
      body = unstoreBlock(stored);
    } catch (error) {
      throw this.#rewrap(error, i);
    }
    if (fillCache) this.#cache?.set(id, body);
    return body;
  }

  #rewrap(error: unknown, block: number): unknown {
    if (error instanceof BlockFormatError) {
      return corrupt(this.#name, `data block ${block} (offset ${this.#index.offsets[block]}) is malformed: ${error.message}`, error);
    }
    return error;
  }
}

/** One `entries()` walk: block by block through the reader, holding a reference until done. */
class SstIterator implements IterableIterator<[Uint8Array, Uint8Array | null]> {
  readonly #reader: SstReader;
  readonly #cursor = new BlockCursor();
  readonly #from: Uint8Array | undefined;
  readonly #to: Uint8Array | undefined;
  readonly #fillCache: boolean;
  readonly #views: boolean;
  #block: number;
  #started = false;
  #done = false;

  constructor(reader: SstReader, firstBlock: number, from: Uint8Array | undefined, to: Uint8Array | undefined, fillCache: boolean, views: boolean) {
    this.#reader = reader;
    this.#fillCache = fillCache;
    this.#views = views;
    this.#block = firstBlock;
    this.#from = from;
    this.#to = to;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<[Uint8Array, Uint8Array | null]> {
    if (this.#done) return { done: true, value: undefined };
    const cursor = this.#cursor;
    const reader = this.#reader;
    try {
      if (this.#started) {
        try {
          cursor.next();
        } catch (error) {
          throw reader.rewrap(error, this.#block);
        }
      } else {
        this.#started = true;
        if (this.#block < reader.blockCount) reader.positionIn(cursor, this.#block, this.#from, this.#fillCache);
      }
      while (!cursor.valid) {
        if (++this.#block >= reader.blockCount) return this.#end();
        reader.positionIn(cursor, this.#block, undefined, this.#fillCache);
      }
      if (this.#to !== undefined && cursor.compareKey(this.#to) >= 0) return this.#end();
      return { done: false, value: this.#views ? [cursor.keyView(), cursor.valueView()] : [cursor.key(), cursor.value()] };
    } catch (error) {
      this.#end();
      throw error;
    }
  }

  return(): IteratorResult<[Uint8Array, Uint8Array | null]> {
    return this.#end();
  }

  #end(): IteratorResult<[Uint8Array, Uint8Array | null]> {
    if (!this.#done) {
      this.#done = true;
      this.#reader.endIteration(this);
    }
    return { done: true, value: undefined };
  }
}

// ── open-time parsing ────────────────────────────────────────────────────────────────────────

/**
 * The index, flattened: block i's last key is keyBytes[keyStarts[i], keyStarts[i + 1]); its
 * stored bytes are [offsets[i], offsets[i + 1]). Flat typed arrays rather than an array of keys:
 * a few bytes per block instead of an object each, and a binary search without pointer chasing.
 */
interface ParsedIndex {
  readonly count: number;
  readonly keyBytes: Uint8Array;
  readonly keyStarts: Uint32Array;
  readonly offsets: Float64Array;
  readonly checksums: BigUint64Array;
}

interface ParsedFile {
  index: ParsedIndex;
  bloom: BloomFilter;
  smallest: Uint8Array;
  largest: Uint8Array;
  entryCount: number;
}

function parseFile(source: SstSource, name: string): ParsedFile {
  const size = source.byteLength;
  if (size < TAIL_BYTES + FOOTER_FIXED_BYTES) throw corrupt(name, `file is ${size} bytes, shorter than the smallest footer and tail: truncated`);
  const tailBytes = source.read(size - TAIL_BYTES, TAIL_BYTES);
  const tailView = new DataView(tailBytes.buffer, tailBytes.byteOffset, TAIL_BYTES);
  for (let i = 0; i < 8; i++) {
    if (tailBytes[16 + i] !== SST_MAGIC.charCodeAt(i)) throw corrupt(name, `bad magic in the tail (expected ${SST_MAGIC}): truncated or not an SST file`);
  }
  const tail = size - TAIL_BYTES;
  const footerLength = tailView.getUint32(0, true);
  if (footerLength < FOOTER_FIXED_BYTES + 2 || footerLength > tail) throw corrupt(name, `footer length ${footerLength} is impossible in a ${size}-byte file`);
  const footerOffset = tail - footerLength;
  // footer ‖ footerLength ‖ version: what the tail checksum covers.
  const footer = source.read(footerOffset, footerLength + 8);
  if (checksum64(footer) !== tailView.getBigUint64(8, true)) throw corrupt(name, 'footer checksum mismatch');
  const version = tailView.getUint32(4, true);
  if (version !== SST_VERSION) throw corrupt(name, `unsupported SST version ${version} (expected ${SST_VERSION})`);

  const view = new DataView(footer.buffer, footer.byteOffset, footer.byteLength);
  const indexOffset = u64(view, 0);
  const indexLength = u64(view, 8);
  const indexChecksum = view.getBigUint64(16, true);
  const filterOffset = u64(view, 24);
  const filterLength = u64(view, 32);
  const filterChecksum = view.getBigUint64(40, true);
  const entryCount = u64(view, 48);
  const blockCount = view.getUint32(56, true);
  // The checksum matched, so the checks below fail only for a file written by a buggy writer.
  if (indexOffset + indexLength !== filterOffset || filterOffset + filterLength !== footerOffset || blockCount < 1 || entryCount < blockCount) {
    throw corrupt(name, `footer is inconsistent (index ${indexOffset}+${indexLength}, filter ${filterOffset}+${filterLength}, footer at ${footerOffset}, ${blockCount} blocks, ${entryCount} entries)`);
  }
  let smallest: Uint8Array;
  let largest: Uint8Array;
  try {
    const pos = { at: FOOTER_FIXED_BYTES };
    smallest = readKey(footer, pos, footerLength);
    largest = readKey(footer, pos, footerLength);
    if (pos.at !== footerLength) throw new BlockFormatError(`${footerLength - pos.at} unexpected bytes after the largest key`);
  } catch (error) {
    throw corrupt(name, `footer keys are malformed: ${(error as Error).message}`, error);
  }
  if (compareKeys(smallest, largest) > 0) throw corrupt(name, 'footer smallest key is above its largest key');

  // Index and filter are adjacent: one read for both.
  const meta = source.read(indexOffset, footerOffset - indexOffset);
  const index = meta.subarray(0, indexLength);
  if (checksum64(index) !== indexChecksum) throw corrupt(name, 'index block checksum mismatch');
  // A copy, so the filter does not keep the index's stored bytes alive.
  const filterBytes = meta.slice(indexLength);
  if (checksum64(filterBytes) !== filterChecksum) throw corrupt(name, 'filter block checksum mismatch');
  let bloom: BloomFilter;
  try {
    bloom = BloomFilter.deserialize(filterBytes);
  } catch (error) {
    throw corrupt(name, `filter block is malformed: ${(error as Error).message}`, error);
  }
  return { index: parseIndex(index, name, blockCount, indexOffset, largest), bloom, smallest, largest, entryCount };
}

function parseIndex(stored: Uint8Array, name: string, blockCount: number, dataEnd: number, largest: Uint8Array): ParsedIndex {
  const keys = new ByteWriter(Math.max(64, blockCount * 24));
  const keyStarts = new Uint32Array(blockCount + 1);
  const offsets = new Float64Array(blockCount + 1);
  const checksums = new BigUint64Array(blockCount);
  const pos = { at: 0 };
  let expectedOffset = 0;
  let previous: Uint8Array | undefined;
  let i = 0;
  try {
    const cursor = new BlockCursor();
    cursor.reset(unstoreBlock(stored));
    for (cursor.seekToFirst(); cursor.valid; cursor.next()) {
      if (i === blockCount) throw new BlockFormatError(`more entries than the footer's ${blockCount} blocks`);
      const lastKey = cursor.key();
      const value = cursor.value();
      if (value === null) throw new BlockFormatError(`entry ${i} is a tombstone`);
      const offset = readVarint(value, 0, value.byteLength, pos);
      const length = readVarint(value, pos.at, value.byteLength, pos);
      if (pos.at + 8 !== value.byteLength) throw new BlockFormatError(`entry ${i} has a ${value.byteLength}-byte value`);
      if (offset !== expectedOffset || length < 2) throw new BlockFormatError(`block ${i} at ${offset}+${length} does not follow the previous block`);
      if (previous !== undefined && compareKeys(previous, lastKey) >= 0) throw new BlockFormatError(`last keys of blocks ${i - 1} and ${i} are not ascending`);
      checksums[i] = new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(pos.at, true);
      keyStarts[i] = keys.length;
      keys.append(lastKey);
      offsets[i] = offset;
      expectedOffset = offset + length;
      previous = lastKey;
      i++;
    }
    if (i !== blockCount) throw new BlockFormatError(`${i} entries, the footer says ${blockCount} blocks`);
    if (expectedOffset !== dataEnd) throw new BlockFormatError(`blocks end at ${expectedOffset}, the index starts at ${dataEnd}`);
    if (compareKeys(previous!, largest) !== 0) throw new BlockFormatError('the last block does not end with the largest key');
  } catch (error) {
    if (!(error instanceof BlockFormatError)) throw error;
    throw corrupt(name, `index block is malformed: ${error.message}`, error);
  }
  keyStarts[blockCount] = keys.length;
  offsets[blockCount] = dataEnd;
  return { count: blockCount, keyBytes: keys.bytes().slice(), keyStarts, offsets, checksums };
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
