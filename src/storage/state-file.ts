/**
 * The keyed-state file codec: one LZ4 block per key group with an index, so a restore at another
 * parallelism reads (and decompresses) only the key groups it owns. Pure, bytes in and out; runs
 * on subtask worker threads (snapshot, restore) and is called by state backends; it also hosts the
 * xxHash64 checksum helpers every checkpoint format shares.
 *
 * Layout (all integers little-endian):
 *
 *   offset 0          ┌──────────────────────────────────────────────────────────────┐
 *                     │ header: magic "WEIRKS01" (8) │ u32 version = 1 │ u32 0 (reserved) │  16 bytes
 *   16                ├──────────────────────────────────────────────────────────────┤
 *                     │ block of key group g₀: lz4-napi block (u32 raw size + LZ4 data) │
 *                     │ block of key group g₁ …   (ascending key group, back to back)  │
 *   indexOffset       ├──────────────────────────────────────────────────────────────┤
 *                     │ index entry × count, 24 bytes each:                            │
 *                     │   u32 keyGroup │ u64 offset │ u32 length │ u64 xxHash64(block)   │
 *   end − 32          ├──────────────────────────────────────────────────────────────┤
 *                     │ footer: u64 indexOffset │ u32 count │ u32 0 (reserved)          │
 *                     │         u64 xxHash64(index entries ‖ first 16 footer bytes)     │
 *                     │         magic "WEIRKS01" (8)                                    │  32 bytes
 *                     └──────────────────────────────────────────────────────────────┘
 *
 * The footer checksum covers the index and the footer's own offset/count, so a flipped byte in
 * either is caught before any offset is trusted (the header is checked field by field: magic,
 * version, zero reserved word); each block is verified against its index entry
 * before it is decompressed. Errors name the key group or the part; the caller adds the file name.
 */
import { compress, compressSync, uncompressSync } from 'lz4-napi';
import xxhash from 'xxhash-wasm';
import { WeirError } from '../errors.ts';

export const KEYED_STATE_MAGIC = 'WEIRKS01';
export const KEYED_STATE_VERSION = 1;
const HEADER_BYTES = 16;
const INDEX_ENTRY_BYTES = 24;
const FOOTER_BYTES = 32;
/** Below this a block is compressed synchronously: a libuv-pool round trip costs more than LZ4 on a few KiB. */
const ASYNC_COMPRESS_MIN_BYTES = 8 * 1024;

export interface KeyGroupBytes {
  readonly keyGroup: number;
  readonly bytes: Uint8Array;
}

/** One index entry, as stored. `offset`/`length` locate the compressed block in the file. */
export interface KeyGroupIndexEntry {
  readonly keyGroup: number;
  readonly offset: number;
  readonly length: number;
  readonly checksum: bigint;
}

// ── checksums ────────────────────────────────────────────────────────────────────────────────

let h64Raw: ((input: Uint8Array) => bigint) | undefined;

/** Loads the xxHash64 WebAssembly once per thread (~6 ms); the sync functions here need it first. */
export async function loadChecksum(): Promise<void> {
  h64Raw ??= (await xxhash()).h64Raw;
}

/** xxHash64 (seed 0) of `bytes`. Requires `loadChecksum()` to have resolved on this thread. */
export function checksum64(bytes: Uint8Array): bigint {
  if (h64Raw === undefined) {
    throw new WeirError('WEIR_INTERNAL', 'checksum64() called before loadChecksum() resolved on this thread');
  }
  return h64Raw(bytes);
}

/** xxHash64 as 16 lowercase hex digits: the form `StateHandle.checksum` stores. */
export function checksumHex(bytes: Uint8Array): string {
  return checksum64(bytes).toString(16).padStart(16, '0');
}

// ── encode ───────────────────────────────────────────────────────────────────────────────────

/** Encodes key groups into one state file; large blocks are compressed on the libuv pool. */
export async function encodeKeyedStateFile(groups: readonly KeyGroupBytes[]): Promise<Uint8Array> {
  await loadChecksum();
  const sorted = sortedGroups(groups);
  const blocks = await Promise.all(
    sorted.map((g) => (g.bytes.byteLength >= ASYNC_COMPRESS_MIN_BYTES ? compress(g.bytes) : compressSync(asBuffer(g.bytes)))),
  );
  return assemble(sorted, blocks);
}

/** The same file as `encodeKeyedStateFile`, compressed on the calling thread. */
export function encodeKeyedStateFileSync(groups: readonly KeyGroupBytes[]): Uint8Array {
  const sorted = sortedGroups(groups);
  return assemble(sorted, sorted.map((g) => compressSync(asBuffer(g.bytes))));
}

function sortedGroups(groups: readonly KeyGroupBytes[]): KeyGroupBytes[] {
  const sorted = [...groups].sort((a, b) => a.keyGroup - b.keyGroup);
  for (let i = 0; i < sorted.length; i++) {
    const { keyGroup, bytes } = sorted[i]!;
    if (!Number.isInteger(keyGroup) || keyGroup < 0 || keyGroup > 0xffff_ffff) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `keyGroup must be a non-negative 32-bit integer, got ${keyGroup}`);
    }
    if (!(bytes instanceof Uint8Array)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `bytes of key group ${keyGroup} must be a Uint8Array`);
    }
    if (i > 0 && sorted[i - 1]!.keyGroup === keyGroup) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `key group ${keyGroup} appears twice in one state file`);
    }
  }
  return sorted;
}

function assemble(sorted: readonly KeyGroupBytes[], blocks: readonly Uint8Array[]): Uint8Array {
  const blockBytes = blocks.reduce((sum, b) => sum + b.byteLength, 0);
  const indexOffset = HEADER_BYTES + blockBytes;
  const total = indexOffset + sorted.length * INDEX_ENTRY_BYTES + FOOTER_BYTES;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  writeMagic(out, 0);
  view.setUint32(8, KEYED_STATE_VERSION, true);
  let offset = HEADER_BYTES;
  let entry = indexOffset;
  for (let i = 0; i < sorted.length; i++) {
    const block = blocks[i]!;
    out.set(block, offset);
    view.setUint32(entry, sorted[i]!.keyGroup, true);
    view.setBigUint64(entry + 4, BigInt(offset), true);
    view.setUint32(entry + 12, block.byteLength, true);
    view.setBigUint64(entry + 16, checksum64(block), true);
    offset += block.byteLength;
    entry += INDEX_ENTRY_BYTES;
  }
  const footer = total - FOOTER_BYTES;
  view.setBigUint64(footer, BigInt(indexOffset), true);
  view.setUint32(footer + 8, sorted.length, true);
  view.setBigUint64(footer + 16, checksum64(out.subarray(indexOffset, footer + 16)), true);
  writeMagic(out, footer + 24);
  return out;
}

// ── decode ───────────────────────────────────────────────────────────────────────────────────

/** Verifies header, footer and index and returns the index (ascending key group). Sync; needs `loadChecksum()`. */
export function readKeyGroupIndex(file: Uint8Array): KeyGroupIndexEntry[] {
  if (file.byteLength < HEADER_BYTES + FOOTER_BYTES) {
    throw corrupt(`file is ${file.byteLength} bytes, shorter than header + footer (${HEADER_BYTES + FOOTER_BYTES}): truncated`);
  }
  if (!hasMagic(file, 0)) throw corrupt(`bad magic in the header (expected ${KEYED_STATE_MAGIC})`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint32(8, true);
  if (version !== KEYED_STATE_VERSION) throw corrupt(`unsupported version ${version} (expected ${KEYED_STATE_VERSION})`);
  if (view.getUint32(12, true) !== 0) throw corrupt('reserved header bytes are not zero');
  const footer = file.byteLength - FOOTER_BYTES;
  if (!hasMagic(file, footer + 24)) throw corrupt('bad magic in the footer: truncated or not a keyed state file');
  const indexOffset = Number(view.getBigUint64(footer, true));
  const count = view.getUint32(footer + 8, true);
  if (indexOffset < HEADER_BYTES || indexOffset + count * INDEX_ENTRY_BYTES !== footer) {
    throw corrupt(`footer is inconsistent (index at ${indexOffset}, ${count} entries, footer at ${footer})`);
  }
  if (checksum64(file.subarray(indexOffset, footer + 16)) !== view.getBigUint64(footer + 16, true)) {
    throw corrupt('index checksum mismatch');
  }
  const entries: KeyGroupIndexEntry[] = [];
  for (let i = 0, at = indexOffset; i < count; i++, at += INDEX_ENTRY_BYTES) {
    const e: KeyGroupIndexEntry = {
      keyGroup: view.getUint32(at, true),
      offset: Number(view.getBigUint64(at + 4, true)),
      length: view.getUint32(at + 12, true),
      checksum: view.getBigUint64(at + 16, true),
    };
    // The index checksum matched, so these only fail for a file written by a buggy encoder.
    if (e.offset < HEADER_BYTES || e.offset + e.length > indexOffset) {
      throw corrupt(`index entry of key group ${e.keyGroup} points outside the block area`);
    }
    entries.push(e);
  }
  return entries;
}

/**
 * Decompresses the key groups `wanted` accepts, verifying each block's checksum first. Blocks of
 * other key groups are neither read nor verified. Sync; needs `loadChecksum()`.
 */
export function readKeyGroups(file: Uint8Array, wanted: (keyGroup: number) => boolean): KeyGroupBytes[] {
  const out: KeyGroupBytes[] = [];
  for (const entry of readKeyGroupIndex(file)) {
    if (!wanted(entry.keyGroup)) continue;
    const block = file.subarray(entry.offset, entry.offset + entry.length);
    if (checksum64(block) !== entry.checksum) throw corrupt(`block of key group ${entry.keyGroup} checksum mismatch`);
    let bytes: Uint8Array;
    try {
      bytes = uncompressSync(block);
    } catch (cause) {
      throw corrupt(`block of key group ${entry.keyGroup} does not decompress`, cause);
    }
    out.push({ keyGroup: entry.keyGroup, bytes });
  }
  return out;
}

function corrupt(what: string, cause?: unknown): WeirError {
  return new WeirError('WEIR_CHECKPOINT_CORRUPT', `keyed state file is corrupt: ${what}`, cause === undefined ? {} : { cause });
}

function writeMagic(out: Uint8Array, at: number): void {
  for (let i = 0; i < 8; i++) out[at + i] = KEYED_STATE_MAGIC.charCodeAt(i);
}

function hasMagic(file: Uint8Array, at: number): boolean {
  for (let i = 0; i < 8; i++) if (file[at + i] !== KEYED_STATE_MAGIC.charCodeAt(i)) return false;
  return true;
}

/** lz4-napi's sync functions type their input as Buffer; a view over the same memory costs nothing. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
