import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BARRIER_PAYLOAD_BYTES,
  FRAME_BARRIER,
  FRAME_END_OF_PARTITION,
  FRAME_HEADER_BYTES,
  FRAME_MAX_PAYLOAD,
  FRAME_PAD,
  FRAME_RECORD,
  FRAME_WATERMARK,
  WATERMARK_PAYLOAD_BYTES,
  encodeHeader,
  frameBytes,
  headerLength,
  headerType,
  readBarrier,
  readWatermark,
  writeBarrier,
  writeWatermark,
  type Barrier,
} from '../../../src/channels/frame-codec.ts';
import { throwsCode } from '../../helpers/errors.ts';


test('frame type constants are the documented wire values', () => {
  assert.equal(
    [FRAME_PAD, FRAME_RECORD, FRAME_WATERMARK, FRAME_BARRIER, FRAME_END_OF_PARTITION],
    [0, 1, 2, 3, 4],
  );
  assert.is(FRAME_HEADER_BYTES, 4);
  assert.is(FRAME_MAX_PAYLOAD, 2 ** 28 - 1);
});

test('a header packs the type in bits 0..3 and the length in bits 4..31', () => {
  assert.is(encodeHeader(FRAME_RECORD, 0), 1);
  assert.is(encodeHeader(FRAME_BARRIER, 20), (20 << 4) | 3);
  const max = encodeHeader(15, FRAME_MAX_PAYLOAD);
  assert.is(max, 0xffffffff);
  for (const [type, length] of [[0, 0], [1, 1], [2, 8], [4, 0], [15, 12345], [1, FRAME_MAX_PAYLOAD], [3, 2 ** 27]]) {
    const header = encodeHeader(type!, length!);
    assert.ok(header >= 0 && header <= 0xffffffff);
    assert.is(headerType(header), type);
    assert.is(headerLength(header), length);
    // The ring stores headers in Int32 words: the signed form decodes the same.
    assert.is(headerType(header | 0), type);
    assert.is(headerLength(header | 0), length);
  }
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, encodeHeader(FRAME_WATERMARK, 8), true);
  assert.equal([...bytes], [0x82, 0, 0, 0]);
});

test('encodeHeader rejects a type or length the header cannot hold', () => {
  throwsCode(() => encodeHeader(16, 0), 'WEIR_INVALID_ARGUMENT', /frame type must be an integer between 0 and 15, got 16/);
  throwsCode(() => encodeHeader(-1, 0), 'WEIR_INVALID_ARGUMENT');
  throwsCode(() => encodeHeader(1, 2 ** 28), 'WEIR_INVALID_ARGUMENT', /got 268435456/);
  throwsCode(() => encodeHeader(1, 1.5), 'WEIR_INVALID_ARGUMENT');
});

test('a frame occupies the header plus the payload rounded up to 4 bytes', () => {
  assert.equal(
    [0, 1, 2, 3, 4, 5, 8, 9, 1000].map(frameBytes),
    [4, 8, 8, 8, 8, 12, 12, 16, 1004],
  );
  assert.is(frameBytes(FRAME_MAX_PAYLOAD), 4 + 2 ** 28);
});

test('a barrier round-trips through its 20-byte payload at any offset, including a SharedArrayBuffer', () => {
  assert.is(BARRIER_PAYLOAD_BYTES, 20);
  const barriers: Barrier[] = [
    { checkpointId: 0, timestamp: 0, kind: 0, unaligned: false },
    { checkpointId: 1, timestamp: 1_700_000_000_123, kind: 0, unaligned: true },
    { checkpointId: 2 ** 32 + 7, timestamp: -5.5, kind: 1, unaligned: false },
    { checkpointId: Number.MAX_SAFE_INTEGER, timestamp: Number.MAX_VALUE, kind: 1, unaligned: true },
  ];
  const out = new Uint8Array(new SharedArrayBuffer(64));
  for (const offset of [0, 3, 44]) {
    for (const barrier of barriers) {
      assert.is(writeBarrier(barrier, out, offset), BARRIER_PAYLOAD_BYTES);
      assert.equal(readBarrier(out, offset, BARRIER_PAYLOAD_BYTES), barrier);
    }
  }
});

test('the barrier payload layout is little-endian checkpointId, f64 timestamp, kind, flags', () => {
  const out = new Uint8Array(20);
  writeBarrier({ checkpointId: 0x1_0000_0102, timestamp: 1, kind: 1, unaligned: true }, out, 0);
  const view = new DataView(out.buffer);
  assert.is(view.getUint32(0, true), 0x102);
  assert.is(view.getUint32(4, true), 1);
  assert.is(view.getFloat64(8, true), 1);
  assert.equal([...out.subarray(16)], [1, 1, 0, 0]);
});

test('writeBarrier rejects bad fields and an output without room', () => {
  const out = new Uint8Array(32);
  const ok: Barrier = { checkpointId: 1, timestamp: 0, kind: 0, unaligned: false };
  throwsCode(() => writeBarrier({ ...ok, checkpointId: -1 }, out, 0), 'WEIR_INVALID_ARGUMENT', /checkpointId/);
  throwsCode(() => writeBarrier({ ...ok, checkpointId: 2 ** 53 }, out, 0), 'WEIR_INVALID_ARGUMENT');
  throwsCode(() => writeBarrier({ ...ok, kind: 2 }, out, 0), 'WEIR_INVALID_ARGUMENT', /kind/);
  throwsCode(() => writeBarrier({ ...ok, timestamp: NaN }, out, 0), 'WEIR_INVALID_ARGUMENT', /timestamp/);
  throwsCode(() => writeBarrier(ok, out, 13), 'WEIR_INVALID_ARGUMENT', /needs 20 bytes at offset 13/);
});

test('readBarrier rejects a wrong length or corrupt fields as a malformed frame', () => {
  const out = new Uint8Array(24);
  writeBarrier({ checkpointId: 9, timestamp: 0, kind: 0, unaligned: false }, out, 0);
  throwsCode(() => readBarrier(out, 0, 19), 'WEIR_MALFORMED_FRAME', /barrier payload must be 20 bytes, got 19/);
  throwsCode(() => readBarrier(out, 0, 24), 'WEIR_MALFORMED_FRAME');
  throwsCode(() => readBarrier(out, 8, 20), 'WEIR_MALFORMED_FRAME', /runs past the end/);
  out[16] = 7;
  throwsCode(() => readBarrier(out, 0, 20), 'WEIR_MALFORMED_FRAME', /kind 7/);
});

test('a watermark round-trips through 8 bytes, including ±Infinity', () => {
  assert.is(WATERMARK_PAYLOAD_BYTES, 8);
  const out = new Uint8Array(new SharedArrayBuffer(16));
  for (const ts of [0, 1, -1, 1_700_000_000_000, 2 ** 53 - 1, -Infinity, Infinity, 0.25]) {
    assert.is(writeWatermark(ts, out, 5), 8);
    assert.is(readWatermark(out, 5, 8), ts);
  }
});

test('watermark codecs reject NaN, a short output and a wrong length', () => {
  const out = new Uint8Array(8);
  throwsCode(() => writeWatermark(NaN, out, 0), 'WEIR_INVALID_ARGUMENT');
  throwsCode(() => writeWatermark(1, out, 1), 'WEIR_INVALID_ARGUMENT', /needs 8 bytes/);
  throwsCode(() => readWatermark(out, 0, 4), 'WEIR_MALFORMED_FRAME', /watermark payload must be 8 bytes, got 4/);
  new DataView(out.buffer).setFloat64(0, NaN, true);
  throwsCode(() => readWatermark(out, 0, 8), 'WEIR_MALFORMED_FRAME', /NaN/);
});

test.run();
