/**
 * The frame format of a channel ring: frame types, the 4-byte frame header, and the codecs of
 * the small control payloads (barrier, watermark). Pure functions, used on both ends of a
 * channel: by the producer subtask thread's output writer and the consumer's input gate.
 *
 * Frame grammar (all integers little-endian; a ring's data area is a sequence of frames):
 *
 *   frame     = header payload align
 *   header    = u32: bits 0..3 type, bits 4..31 payload length L (0 ≤ L ≤ 2^28-1)
 *   payload   = L bytes                      (meaning depends on type, see below)
 *   align     = 0..3 bytes of garbage, so that the next frame starts 4-byte aligned
 *               → a frame occupies FRAME_HEADER_BYTES + align4(L) bytes
 *
 *   type 0  PAD               L bytes of filler; the reader skips it (used before a wrap)
 *   type 1  RECORD            L bytes from the record codec
 *   type 2  WATERMARK         f64 timestamp (ms; may be ±Infinity)                      8 bytes
 *   type 3  BARRIER           u32 checkpointId low, u32 checkpointId high (< 2^21),
 *                             f64 timestamp, u8 kind (0 checkpoint, 1 savepoint),
 *                             u8 flags (bit 0 unaligned), u16 reserved = 0              20 bytes
 *   type 4  END_OF_PARTITION  empty                                                     0 bytes
 *   type 5  KEYED_RECORD      u32 key group, then L-4 bytes from the record codec (hash
 *                             edges: the consumer reuses the producer's key group instead
 *                             of hashing the key again)
 *   type 6  TIMESTAMPED_RECORD        f64 event timestamp (ms), then L-8 bytes from the record codec
 *   type 7  TIMESTAMPED_KEYED_RECORD  u32 key group, f64 event timestamp, then L-12 record bytes
 *   type 8  WATERMARK_STATUS  u32: 0 active, 1 idle (the producer has no data for now and
 *                             holds no watermark back)                                  4 bytes
 *   types 9..15 are reserved.
 */

import { WeirError } from '../errors.ts';

export const FRAME_PAD = 0;
export const FRAME_RECORD = 1;
export const FRAME_WATERMARK = 2;
export const FRAME_BARRIER = 3;
export const FRAME_END_OF_PARTITION = 4;
export const FRAME_KEYED_RECORD = 5;
export const FRAME_TIMESTAMPED_RECORD = 6;
export const FRAME_TIMESTAMPED_KEYED_RECORD = 7;
export const FRAME_WATERMARK_STATUS = 8;
/** Bytes before the record in a KEYED_RECORD payload. */
export const KEY_GROUP_PREFIX_BYTES = 4;
/** Bytes of the event timestamp before the record in a TIMESTAMPED_RECORD payload. */
export const TIMESTAMP_PREFIX_BYTES = 8;
/** Bytes before the record in a TIMESTAMPED_KEYED_RECORD payload (key group, then timestamp). */
export const KEYED_TIMESTAMP_PREFIX_BYTES = 12;
export const WATERMARK_STATUS_PAYLOAD_BYTES = 4;

export const FRAME_HEADER_BYTES = 4;
/** Largest payload length the 28-bit length field can hold. */
export const FRAME_MAX_PAYLOAD = 0x0fffffff;

/** Bytes a frame with a payload of `payloadLength` bytes occupies in a ring (header + payload, 4-aligned). */
export function frameBytes(payloadLength: number): number {
  return FRAME_HEADER_BYTES + ((payloadLength + 3) & ~3);
}

/** The header word of a frame, as an unsigned 32-bit number. */
export function encodeHeader(type: number, payloadLength: number): number {
  if (!Number.isInteger(type) || type < 0 || type > 15) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `frame type must be an integer between 0 and 15, got ${type}`);
  }
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > FRAME_MAX_PAYLOAD) {
    throw new WeirError(
      'WEIR_INVALID_ARGUMENT',
      `frame payload length must be an integer between 0 and 2^28-1, got ${payloadLength}`,
    );
  }
  return ((payloadLength << 4) | type) >>> 0;
}

/** The frame type of a header word (signed or unsigned 32-bit form). */
export function headerType(header: number): number {
  return header & 0xf;
}

/** The payload length of a header word (signed or unsigned 32-bit form). */
export function headerLength(header: number): number {
  return header >>> 4;
}

// ---------------------------------------------------------------------------------------------
// Control payloads. Byte math by hand, with one 8-byte scratch for f64, so the codecs work on
// views over SharedArrayBuffers and allocate nothing but the decoded Barrier object.

export interface Barrier {
  checkpointId: number;
  /** Milliseconds since the epoch when the checkpoint was triggered. */
  timestamp: number;
  /** 0 checkpoint, 1 savepoint. */
  kind: number;
  unaligned: boolean;
}

export const BARRIER_PAYLOAD_BYTES = 20;
export const WATERMARK_PAYLOAD_BYTES = 8;

const scratchBytes = new Uint8Array(8);
const scratchView = new DataView(scratchBytes.buffer);

/** Writes the barrier payload at `out[offset]`; returns BARRIER_PAYLOAD_BYTES. */
export function writeBarrier(b: Barrier, out: Uint8Array, offset: number): number {
  const { checkpointId, timestamp, kind } = b;
  if (!Number.isSafeInteger(checkpointId) || checkpointId < 0) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `barrier checkpointId must be a non-negative safe integer, got ${checkpointId}`);
  }
  if (kind !== 0 && kind !== 1) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `barrier kind must be 0 (checkpoint) or 1 (savepoint), got ${kind}`);
  }
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `barrier timestamp must be a finite number, got ${timestamp}`);
  }
  checkRoom(out, offset, BARRIER_PAYLOAD_BYTES, 'barrier');
  writeU32(out, offset, checkpointId >>> 0);
  writeU32(out, offset + 4, Math.floor(checkpointId / 0x1_0000_0000));
  writeF64(out, offset + 8, timestamp);
  out[offset + 16] = kind;
  out[offset + 17] = b.unaligned ? 1 : 0;
  out[offset + 18] = 0;
  out[offset + 19] = 0;
  return BARRIER_PAYLOAD_BYTES;
}

/** Decodes a barrier payload of `length` bytes at `bytes[offset]`. */
export function readBarrier(bytes: Uint8Array, offset: number, length: number): Barrier {
  checkPayload(bytes, offset, length, BARRIER_PAYLOAD_BYTES, 'barrier');
  const high = readU32(bytes, offset + 4);
  const kind = bytes[offset + 16]!;
  const flags = bytes[offset + 17]!;
  if (high > 0x1fffff || kind > 1 || flags > 1 || bytes[offset + 18] !== 0 || bytes[offset + 19] !== 0) {
    throw new WeirError(
      'WEIR_MALFORMED_FRAME',
      `barrier payload is malformed (checkpointId high word ${high}, kind ${kind}, flags ${flags})`,
    );
  }
  return {
    checkpointId: high * 0x1_0000_0000 + readU32(bytes, offset),
    timestamp: readF64(bytes, offset + 8),
    kind,
    unaligned: flags === 1,
  };
}

/** Writes the watermark payload (an f64 timestamp) at `out[offset]`; returns WATERMARK_PAYLOAD_BYTES. */
export function writeWatermark(ts: number, out: Uint8Array, offset: number): number {
  if (typeof ts !== 'number' || Number.isNaN(ts)) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `watermark timestamp must be a number, got ${ts}`);
  }
  checkRoom(out, offset, WATERMARK_PAYLOAD_BYTES, 'watermark');
  writeF64(out, offset, ts);
  return WATERMARK_PAYLOAD_BYTES;
}

/** Decodes a watermark payload of `length` bytes at `bytes[offset]`. */
export function readWatermark(bytes: Uint8Array, offset: number, length: number): number {
  checkPayload(bytes, offset, length, WATERMARK_PAYLOAD_BYTES, 'watermark');
  const ts = readF64(bytes, offset);
  if (Number.isNaN(ts)) throw new WeirError('WEIR_MALFORMED_FRAME', 'watermark payload is NaN');
  return ts;
}

/** Writes a record timestamp (f64) at `out[offset]`: the prefix of the TIMESTAMPED record frames. */
export function writeTimestamp(ts: number, out: Uint8Array, offset: number): void {
  writeF64(out, offset, ts);
}

/** Reads the record timestamp (f64) at `bytes[offset]`. */
export function readTimestamp(bytes: Uint8Array, offset: number): number {
  return readF64(bytes, offset);
}

/** Decodes a WATERMARK_STATUS payload: true when the producer went idle. */
export function readWatermarkStatus(bytes: Uint8Array, offset: number, length: number): boolean {
  checkPayload(bytes, offset, length, WATERMARK_STATUS_PAYLOAD_BYTES, 'watermark status');
  const status = readU32(bytes, offset);
  if (status > 1) throw new WeirError('WEIR_MALFORMED_FRAME', `watermark status payload must be 0 or 1, got ${status}`);
  return status === 1;
}

function checkRoom(out: Uint8Array, offset: number, size: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + size > out.length) {
    throw new WeirError(
      'WEIR_INVALID_ARGUMENT',
      `${what} payload needs ${size} bytes at offset ${offset}, but the output holds ${out.length}`,
    );
  }
}

function checkPayload(bytes: Uint8Array, offset: number, length: number, size: number, what: string): void {
  if (length !== size) {
    throw new WeirError('WEIR_MALFORMED_FRAME', `${what} payload must be ${size} bytes, got ${length}`);
  }
  if (!Number.isInteger(offset) || offset < 0 || offset + size > bytes.length) {
    throw new WeirError(
      'WEIR_MALFORMED_FRAME',
      `${what} payload at offset ${offset} runs past the end of its ${bytes.length}-byte buffer`,
    );
  }
}

function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v;
  out[at + 1] = v >>> 8;
  out[at + 2] = v >>> 16;
  out[at + 3] = v >>> 24;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

function writeF64(out: Uint8Array, at: number, v: number): void {
  scratchView.setFloat64(0, v, true);
  for (let i = 0; i < 8; i++) out[at + i] = scratchBytes[i]!;
}

function readF64(bytes: Uint8Array, at: number): number {
  for (let i = 0; i < 8; i++) scratchBytes[i] = bytes[at + i]!;
  return scratchView.getFloat64(0, true);
}

/**
 * Walks the frames of a byte array copied out of a ring (unaligned checkpoint channel state):
 * calls `visit(type, payloadOffset, payloadLength)` for each frame but PAD. Throws
 * WEIR_MALFORMED_FRAME when a frame runs past the end.
 */
export function forEachFrame(bytes: Uint8Array, visit: (type: number, payloadOffset: number, payloadLength: number) => void): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + FRAME_HEADER_BYTES > bytes.length) throw malformed(`a frame header at byte ${at} is cut short`);
    const header = view.getInt32(at, true);
    const type = headerType(header);
    const length = headerLength(header);
    const size = frameBytes(length);
    if (at + size > bytes.length) throw malformed(`the frame at byte ${at} (type ${type}, length ${length}) runs past the end (${bytes.length} bytes)`);
    if (type !== FRAME_PAD) visit(type, at + FRAME_HEADER_BYTES, length);
    at += size;
  }
}

function malformed(message: string): WeirError {
  return new WeirError('WEIR_MALFORMED_FRAME', `channel state: ${message}`);
}
