/**
 * The LSM tree's MANIFEST: the durable list of live SST files per level, and its atomic,
 * crash-safe replacement. Runs on the subtask's worker thread (fs promises); `LsmTree` writes it
 * after every flush and compaction and reads it on open.
 *
 * The file is rewritten whole on every change (not appended to, as LevelDB's log of version
 * edits is): it holds ~40 bytes + two keys per live file, a few KiB for a tree of hundreds of
 * files, so one small write per flush costs less than a log's recovery and trimming logic.
 *
 *   0              ┌─────────────────────────────────────────────────────────────────┐
 *                  │ magic "WEIRMAN1" (8) │ u32 version = 2 │ u32 bodyLength          │ 16 bytes
 *   16             ├─────────────────────────────────────────────────────────────────┤
 *                  │ body:                                                           │
 *                  │   varint nextFileNumber │ varint fileCount                      │
 *                  │   file × fileCount (ascending level, then as the level orders   │
 *                  │   them: L0 newest first, L1+ ascending smallest key):           │
 *                  │     varint level │ varint fileNumber │ varint byteLength        │
 *                  │     u64 xxHash64(the file's bytes)          (version 2 only)    │
 *                  │     varint smallestLength │ smallest │ varint largestLength │    │
 *                  │     largest                                                     │
 *   16 + bodyLen   ├─────────────────────────────────────────────────────────────────┤
 *                  │ u64 xxHash64(header ‖ body)                                     │ 8 bytes
 *                  └─────────────────────────────────────────────────────────────────┘
 *   (integers little-endian; varints unsigned LEB128; the sections tile the file exactly)
 *
 * Version 1 lacked the per-file checksum; it is still read (`checksum` undefined, and `LsmTree`
 * then hashes the file once on open). Writes are always version 2, so a tree reopened by this
 * code cannot be opened by a version-1 reader, which rejects it as an unsupported version.
 *
 * Atomic replacement: write `MANIFEST.tmp`, fsync it, rename it over `MANIFEST`, fsync the
 * directory. A crash leaves either the old or the new file, never a mix; a leftover
 * `MANIFEST.tmp` is ignored and removed on open. The directory fsync also makes the entries of
 * the SST files written before it durable (they live in the same directory).
 */
import { syncDirectory, writeFileSynced } from '../../storage/durable-file.ts';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../../errors.ts';
import { checksum64 } from '../../storage/state-file.ts';
import { BlockFormatError, ByteWriter, compareKeys, readVarint } from './sst-block.ts';

export const MANIFEST_FILE = 'MANIFEST';
export const MANIFEST_TEMP_FILE = 'MANIFEST.tmp';
export const MANIFEST_MAGIC = 'WEIRMAN1';
export const MANIFEST_VERSION = 2;
/** The layout without per-file checksums, still readable. */
const MANIFEST_VERSION_1 = 1;
const HEADER_BYTES = 16;
const CHECKSUM_BYTES = 8;
/** Levels 0..MAX_LEVEL−1; 7 as in LevelDB and RocksDB. */
export const MAX_LEVELS = 7;

/** One live SST file as the manifest records it. */
export interface ManifestFile {
  readonly level: number;
  readonly fileNumber: number;
  readonly byteLength: number;
  readonly smallest: Uint8Array;
  readonly largest: Uint8Array;
  /**
   * xxHash64 of the file's bytes, 16 hex digits: what a checkpoint of the file records, kept here
   * so opening the tree need not read whole files. Undefined only in a version-1 manifest.
   */
  readonly checksum: string | undefined;
}

export interface ManifestData {
  /** Every file number below this has been handed out; new files take this and above. */
  readonly nextFileNumber: number;
  readonly files: readonly ManifestFile[];
}

/** `000042.sst`: zero-padded so names sort by number, which is also creation order. */
export function sstFileName(fileNumber: number): string {
  return `${String(fileNumber).padStart(6, '0')}.sst`;
}

/** The file number of an SST name, or undefined for any other file. */
export function parseSstFileName(name: string): number | undefined {
  const match = /^(\d{6,})\.sst$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

export function encodeManifest(data: ManifestData): Uint8Array {
  const out = new ByteWriter(256 + data.files.length * 64);
  for (let i = 0; i < 8; i++) out.u8(MANIFEST_MAGIC.charCodeAt(i));
  out.u32(MANIFEST_VERSION);
  out.u32(0); // bodyLength, patched below
  out.varint(data.nextFileNumber);
  out.varint(data.files.length);
  for (const f of data.files) {
    out.varint(f.level);
    out.varint(f.fileNumber);
    out.varint(f.byteLength);
    if (f.checksum === undefined || !/^[0-9a-f]{16}$/.test(f.checksum)) {
      throw new WeirError('WEIR_INTERNAL', `manifest entry for file ${f.fileNumber} has no valid checksum (${String(f.checksum)})`);
    }
    out.u64(BigInt(`0x${f.checksum}`));
    out.varint(f.smallest.byteLength);
    out.append(f.smallest);
    out.varint(f.largest.byteLength);
    out.append(f.largest);
  }
  const bodyLength = out.length - HEADER_BYTES;
  out.u64(0); // checksum, patched below
  const bytes = out.bytes().slice();
  const view = new DataView(bytes.buffer);
  view.setUint32(12, bodyLength, true);
  view.setBigUint64(HEADER_BYTES + bodyLength, checksum64(bytes.subarray(0, HEADER_BYTES + bodyLength)), true);
  return bytes;
}

/** Verifies and decodes a manifest; `path` names the file in WEIR_CHECKPOINT_CORRUPT errors. */
export function decodeManifest(bytes: Uint8Array, path: string): ManifestData {
  if (bytes.byteLength < HEADER_BYTES + CHECKSUM_BYTES) throw corrupt(path, `file is ${bytes.byteLength} bytes, shorter than header + checksum: truncated`);
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== MANIFEST_MAGIC.charCodeAt(i)) throw corrupt(path, `bad magic (expected ${MANIFEST_MAGIC}): not a manifest`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== MANIFEST_VERSION && version !== MANIFEST_VERSION_1) {
    throw corrupt(path, `unsupported version ${version} (expected ${MANIFEST_VERSION_1} or ${MANIFEST_VERSION})`);
  }
  const bodyLength = view.getUint32(12, true);
  const end = HEADER_BYTES + bodyLength;
  if (end + CHECKSUM_BYTES !== bytes.byteLength) throw corrupt(path, `body length ${bodyLength} does not match the ${bytes.byteLength}-byte file: truncated or padded`);
  if (checksum64(bytes.subarray(0, end)) !== view.getBigUint64(end, true)) throw corrupt(path, 'checksum mismatch');
  // The checksum matched: the checks below fail only for a manifest written by a buggy writer.
  try {
    const pos = { at: HEADER_BYTES };
    const nextFileNumber = readVarint(bytes, pos.at, end, pos);
    const count = readVarint(bytes, pos.at, end, pos);
    const files: ManifestFile[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      const level = readVarint(bytes, pos.at, end, pos);
      const fileNumber = readVarint(bytes, pos.at, end, pos);
      const byteLength = readVarint(bytes, pos.at, end, pos);
      let checksum: string | undefined;
      if (version !== MANIFEST_VERSION_1) {
        if (pos.at + 8 > end) throw new BlockFormatError(`file ${fileNumber}'s checksum runs past the end`);
        checksum = view.getBigUint64(pos.at, true).toString(16).padStart(16, '0');
        pos.at += 8;
      }
      const smallest = readBytes(bytes, pos, end);
      const largest = readBytes(bytes, pos, end);
      if (level >= MAX_LEVELS) throw new BlockFormatError(`file ${fileNumber} is at level ${level}, above the last level ${MAX_LEVELS - 1}`);
      if (fileNumber >= nextFileNumber || seen.has(fileNumber)) throw new BlockFormatError(`file number ${fileNumber} is repeated or not below nextFileNumber ${nextFileNumber}`);
      if (compareKeys(smallest, largest) > 0) throw new BlockFormatError(`file ${fileNumber} has its smallest key above its largest`);
      seen.add(fileNumber);
      files.push({ level, fileNumber, byteLength, smallest, largest, checksum });
    }
    if (pos.at !== end) throw new BlockFormatError(`${end - pos.at} unexpected bytes after the last file`);
    return { nextFileNumber, files };
  } catch (error) {
    if (!(error instanceof BlockFormatError)) throw error;
    throw corrupt(path, `body is malformed: ${error.message}`, error);
  }
}

/** Reads `<directory>/MANIFEST`; undefined when there is none. */
export async function readManifest(directory: string): Promise<ManifestData | undefined> {
  const path = join(directory, MANIFEST_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(`read the LSM manifest ${path}`, error, path);
  }
  return decodeManifest(bytes, path);
}

/** Replaces `<directory>/MANIFEST` atomically and durably (temp file, fsync, rename, fsync dir). */
export async function writeManifest(directory: string, data: ManifestData): Promise<void> {
  const path = join(directory, MANIFEST_FILE);
  const temp = join(directory, MANIFEST_TEMP_FILE);
  try {
    await writeFileSynced(temp, encodeManifest(data));
    await fsp.rename(temp, path);
    await syncDirectory(directory);
  } catch (error) {
    throw ioError(`write the LSM manifest ${path}`, error, path);
  }
}

export function ioError(what: string, cause: unknown, path: string): WeirError {
  if (cause instanceof WeirError) return cause;
  return new WeirError('WEIR_CHECKPOINT_IO', `could not ${what}: ${(cause as Error)?.message ?? String(cause)}`, { cause, context: { file: path } });
}

function readBytes(bytes: Uint8Array, pos: { at: number }, end: number): Uint8Array {
  const length = readVarint(bytes, pos.at, end, pos);
  if (pos.at + length > end) throw new BlockFormatError(`key of ${length} bytes runs past the end`);
  const out = bytes.slice(pos.at, pos.at + length);
  pos.at += length;
  return out;
}

function corrupt(path: string, what: string, cause?: unknown): WeirError {
  return new WeirError('WEIR_CHECKPOINT_CORRUPT', `LSM manifest ${path} is corrupt: ${what}`, cause === undefined ? { context: { file: path } } : { cause, context: { file: path } });
}
