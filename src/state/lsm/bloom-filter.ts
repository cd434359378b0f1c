/**
 * The bloom filter of an SST file: answers "is this key certainly absent?" so a point read skips
 * files without touching their index or blocks. Pure; runs on the subtask's worker thread (reads,
 * flushes) and on the tree's compaction thread; built by `SstWriter`, read by `SstReader`.
 *
 * Hashing: h1 = xxHash32 (seed 0) of the key, computed here in JavaScript (bit-for-bit
 * xxhash-wasm's `h32Raw`; tested against it) because xxhash-wasm's 64-bit result is a BigInt and
 * splitting it measured 2.5× slower than the hash itself; h2 = murmur3's fmix32 of h1 ^ a constant.
 * Probe i sets bit (h1 + i·h2) mod bitCount (Kirsch–Mitzenmacher double hashing; the sum stays
 * below 2^53, so it is exact in a double). Deriving h2 from h1 leaves 2^32 distinct probe
 * sequences, a false-positive floor of n / 2^32 (0.02 % at a million keys) far below the filter's.
 * k = round(bitsPerKey · ln 2), clamped to [1, 30]. These functions are part of the file format.
 *
 * Serialized form (little-endian):
 *
 *   ┌────────────────┬──────┬──────────────────────────────────────────┐
 *   │ u32 bitCount   │ u8 k │ bits: ceil(bitCount / 8) bytes, bit b at  │
 *   │                │      │ byte b >> 3, mask 1 << (b & 7)            │
 *   └────────────────┴──────┴──────────────────────────────────────────┘
 *
 * bitCount 0 (bitsPerKey 0) is a filter that answers "maybe" for every key. The bytes carry no
 * checksum of their own: the SST footer checksums the filter block.
 */
import { WeirError } from '../../errors.ts';
import { xxh32Bytes } from '../xxhash32.ts';

export const DEFAULT_BLOOM_BITS_PER_KEY = 10;
const HEADER_BYTES = 5;
const MAX_K = 30;

/** Mixed into h1 before deriving h2, so h2 is not a plain function of h1's avalanche. */
const H2_SEED = 0x5bd1e995;

/** xxHash32 (seed 0) of `bytes`, unsigned (see ../xxhash32.ts). */
export const xxh32 = xxh32Bytes;

/** The second hash of double hashing: murmur3's fmix32 of h1 ^ H2_SEED. */
export function bloomDelta(h1: number): number {
  let h = h1 ^ H2_SEED;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key's h1 (xxHash32); pass it to `mayContainHash` to probe several filters with one hash. */
export function bloomHash(key: Uint8Array): number {
  return xxh32(key);
}

/** Number of probes for `bitsPerKey`: round(bitsPerKey · ln 2), at least 1, at most 30. */
export function probeCount(bitsPerKey: number): number {
  return Math.min(MAX_K, Math.max(1, Math.round(bitsPerKey * Math.LN2)));
}

export function validateBitsPerKey(bitsPerKey: number, name = 'bloomBitsPerKey'): void {
  if (typeof bitsPerKey !== 'number' || !Number.isFinite(bitsPerKey) || bitsPerKey < 0 || bitsPerKey > 64) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `${name} must be a number in [0, 64], got ${String(bitsPerKey)}`);
  }
}

/** An immutable bloom filter over a fixed set of keys. */
export class BloomFilter {
  readonly #bits: Uint8Array;
  readonly #bitCount: number;
  readonly #k: number;

  private constructor(bits: Uint8Array, bitCount: number, k: number) {
    this.#bits = bits;
    this.#bitCount = bitCount;
    this.#k = k;
  }

  /**
   * Builds a filter from key hashes (`hashes[i]` from `bloomHash`) with about
   * `bitsPerKey` bits per key (at least 64 bits when there is any key and bitsPerKey > 0).
   */
  static fromHashes(hashes: ArrayLike<number>, count: number, bitsPerKey = DEFAULT_BLOOM_BITS_PER_KEY): BloomFilter {
    const builder = new BloomFilterBuilder(count, bitsPerKey);
    builder.addHashes(hashes, 0, count);
    return builder.finish();
  }

  /** @internal for BloomFilterBuilder. */
  static ofBits(bits: Uint8Array, bitCount: number, k: number): BloomFilter {
    return new BloomFilter(bits, bitCount, k);
  }

  /** Builds a filter over `keys`. */
  static fromKeys(keys: Iterable<Uint8Array>, bitsPerKey = DEFAULT_BLOOM_BITS_PER_KEY): BloomFilter {
    const hashes: number[] = [];
    for (const key of keys) hashes.push(bloomHash(key));
    return BloomFilter.fromHashes(hashes, hashes.length, bitsPerKey);
  }

  /**
   * Reads a serialized filter. The bytes are trusted to be checksummed by the container; this
   * only checks that the shape is consistent (WEIR_CHECKPOINT_CORRUPT otherwise, without a file
   * name: the caller adds it). The filter keeps a view of `bytes`, not a copy.
   */
  static deserialize(bytes: Uint8Array): BloomFilter {
    if (bytes.byteLength < HEADER_BYTES) {
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `bloom filter is ${bytes.byteLength} bytes, shorter than its ${HEADER_BYTES}-byte header`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const bitCount = view.getUint32(0, true);
    const k = bytes[4]!;
    const expected = HEADER_BYTES + Math.ceil(bitCount / 8);
    if (k < 1 || k > MAX_K || bytes.byteLength !== expected) {
      throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `bloom filter header is inconsistent (bitCount ${bitCount}, k ${k}, ${bytes.byteLength} bytes)`);
    }
    return new BloomFilter(bytes.subarray(HEADER_BYTES), bitCount, k);
  }

  get bitCount(): number {
    return this.#bitCount;
  }

  get probeCount(): number {
    return this.#k;
  }

  /** Bytes of the bit array (what the filter holds in memory). */
  get byteLength(): number {
    return this.#bits.byteLength;
  }

  /** False only when the key was certainly not among those the filter was built from. */
  mayContain(key: Uint8Array): boolean {
    if (this.#bitCount === 0) return true;
    return this.mayContainHash(xxh32(key));
  }

  /** `mayContain` for a precomputed `bloomHash`, so one hash serves every file a read visits. */
  mayContainHash(h1: number): boolean {
    const bitCount = this.#bitCount;
    if (bitCount === 0) return true;
    const h2 = bloomDelta(h1);
    const bits = this.#bits;
    for (let j = 0; j < this.#k; j++) {
      const bit = (h1 + j * h2) % bitCount;
      if ((bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }

  serialize(): Uint8Array {
    const out = new Uint8Array(HEADER_BYTES + this.#bits.byteLength);
    new DataView(out.buffer).setUint32(0, this.#bitCount, true);
    out[4] = this.#k;
    out.set(this.#bits, HEADER_BYTES);
    return out;
  }
}

/**
 * Builds the filter of `count` keys in pieces (`addHashes` over ranges of the hashes), so a large
 * SST's filter can be built between yields to the event loop; `fromHashes` is the one-piece form.
 */
export class BloomFilterBuilder {
  readonly #bits: Uint8Array;
  readonly #bitCount: number;
  readonly #k: number;

  constructor(count: number, bitsPerKey = DEFAULT_BLOOM_BITS_PER_KEY) {
    validateBitsPerKey(bitsPerKey);
    this.#k = probeCount(bitsPerKey);
    this.#bitCount = bitsPerKey === 0 || count === 0 ? 0 : Math.min(0xffff_fff8, Math.max(64, Math.ceil((count * bitsPerKey) / 8) * 8));
    this.#bits = new Uint8Array(this.#bitCount >>> 3);
  }

  /** Sets the bits of `hashes[from, to)` (each a `bloomHash`). */
  addHashes(hashes: ArrayLike<number>, from: number, to: number): void {
    const bitCount = this.#bitCount;
    if (bitCount === 0) return;
    const bits = this.#bits;
    const k = this.#k;
    for (let i = from; i < to; i++) {
      const h1 = hashes[i]!;
      const h2 = bloomDelta(h1);
      for (let j = 0; j < k; j++) {
        const bit = (h1 + j * h2) % bitCount;
        bits[bit >>> 3]! |= 1 << (bit & 7);
      }
    }
  }

  finish(): BloomFilter {
    return BloomFilter.ofBits(this.#bits, this.#bitCount, this.#k);
  }
}
