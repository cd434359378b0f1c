import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FRAME_BARRIER,
  FRAME_END_OF_PARTITION,
  FRAME_PAD,
  FRAME_RECORD,
  FRAME_WATERMARK,
  frameBytes,
  headerLength,
  headerType,
} from '../../../src/channels/frame-codec.ts';
import {
  RING_HEADER_BYTES,
  RingReader,
  RingWriter,
  createRingBuffer,
  debugSetIndices,
  setUsableCapacity,
  usableCapacity,
} from '../../../src/channels/ring-buffer.ts';
import { Doorbell, createDoorbell } from '../../../src/channels/doorbell.ts';
import { fillPayload } from '../../fixtures/ring-producer.ts';
import { startTsWorker } from '../../fixtures/ts-worker.ts';
import { throwsCode } from '../../helpers/errors.ts';


function channel(capacity: number, publishEvery?: number) {
  const ring = createRingBuffer(capacity);
  const doorbell = new Doorbell(createDoorbell());
  return { ring, doorbell, writer: new RingWriter(ring, doorbell, publishEvery), reader: new RingReader(ring) };
}

/** Deterministic xorshift PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function readAll(reader: RingReader): Array<{ type: number; payload: number[] }> {
  const frames: Array<{ type: number; payload: number[] }> = [];
  for (let type = reader.next(); type !== -1; type = reader.next()) {
    frames.push({ type, payload: [...reader.bytes.subarray(reader.payloadOffset, reader.payloadOffset + reader.payloadLength)] });
  }
  reader.release();
  return frames;
}

/**
 * Streams `total` frames of pseudo-random sizes (0..maxPayload) through one thread, draining
 * whenever the ring is full, and checks every byte and the frame order; returns how many times
 * the write position wrapped.
 */
function pumpAndVerify(capacity: number, total: number, startIndex?: number): number {
  const ring = createRingBuffer(capacity);
  if (startIndex !== undefined) debugSetIndices(ring, startIndex);
  const doorbell = new Doorbell(createDoorbell());
  const writer = new RingWriter(ring, doorbell, 8);
  const reader = new RingReader(ring);
  const random = prng(capacity ^ total);
  const scratch = new Uint8Array(writer.maxPayload + 8);
  const lengths: number[] = [];
  let written = 0;
  let readCount = 0;
  let bytesWritten = 0;
  const check = (): void => {
    for (let type = reader.next(); type !== -1; type = reader.next()) {
      const seq = readCount++;
      assert.is(type, seq % 3 === 0 ? FRAME_WATERMARK : FRAME_RECORD, `type of frame ${seq}`);
      assert.is(reader.payloadLength, lengths[seq], `length of frame ${seq}`);
      assert.is(reader.payloadOffset % 4, 0);
      for (let j = 0; j < reader.payloadLength; j++) {
        if (reader.bytes[reader.payloadOffset + j] !== ((seq * 7 + j) & 255)) {
          assert.unreachable(`frame ${seq} byte ${j} differs`);
        }
      }
    }
    reader.release();
  };
  while (written < total) {
    // Mostly small frames, sometimes up to maxPayload, sometimes empty.
    const r = random();
    const length = r < 0.05 ? 0 : r < 0.15 ? Math.floor(random() * (writer.maxPayload + 1)) : Math.floor(random() * 40);
    const offset = written % 5; // copy from the middle of a larger array
    for (let j = 0; j < length; j++) scratch[offset + j] = (written * 7 + j) & 255;
    const type = written % 3 === 0 ? FRAME_WATERMARK : FRAME_RECORD;
    if (writer.tryWrite(type, scratch, offset, length)) {
      lengths.push(length);
      written++;
      bytesWritten += frameBytes(length);
    } else {
      assert.ok(writer.usedBytes() + frameBytes(length) > capacity / 2, 'tryWrite refused a ring with plenty of room');
      writer.flush();
      check();
    }
  }
  writer.flush();
  check();
  assert.is(readCount, total);
  assert.is(writer.usedBytes(), 0);
  return Math.floor(bytesWritten / capacity);
}

test('ring capacity must be a power of two between 1 KiB and 1 GiB', () => {
  throwsCode(
    () => createRingBuffer(1000),
    'WEIR_INVALID_OPTION',
    /^ring capacity must be a power of two between 1024 and 2\^30 bytes, got 1000$/,
  );
  for (const bad of [512, 3000, 2 ** 31, 1024.5, -1024, NaN]) throwsCode(() => createRingBuffer(bad), 'WEIR_INVALID_OPTION');
  assert.is(createRingBuffer(1024).byteLength, RING_HEADER_BYTES + 1024);
  assert.is(new RingReader(createRingBuffer(1 << 20)).capacity, 1 << 20);
  throwsCode(() => new RingReader(new SharedArrayBuffer(1000) as SharedArrayBuffer), 'WEIR_INVALID_ARGUMENT');
  throwsCode(() => new RingWriter(createRingBuffer(1024), new Doorbell(createDoorbell()), 0), 'WEIR_INVALID_OPTION', /publishEvery/);
});

test('maxPayload is a quarter of the capacity minus the header; a bigger payload never fits', () => {
  const { writer, reader } = channel(1024);
  assert.is(writer.maxPayload, 252);
  assert.is(new RingWriter(createRingBuffer(1 << 20), new Doorbell(createDoorbell())).maxPayload, (1 << 18) - 4);
  const payload = new Uint8Array(300).fill(9);
  assert.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 252));
  assert.not.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 253), 'the caller turns this into WEIR_RECORD_TOO_LARGE');
  assert.is(writer.usedBytes(), 256);
  // Waiting for room that can never exist is a caller bug, not a hang.
  throwsCode(() => writer.waitForSpaceSync(frameBytes(253), 60_000), 'WEIR_INVALID_ARGUMENT', /frameBytes must be an integer between 4 and 256/);
  writer.flush();
  assert.is(reader.next(), FRAME_RECORD);
  assert.is(reader.payloadLength, 252);
  assert.is(reader.next(), -1);
});

test('tryWrite rejects frame type PAD and a range outside the payload array', () => {
  const { writer } = channel(1024);
  const payload = new Uint8Array(8);
  throwsCode(() => writer.tryWrite(FRAME_PAD, payload, 0, 4), 'WEIR_INVALID_ARGUMENT', /frame type/);
  throwsCode(() => writer.tryWrite(16, payload, 0, 4), 'WEIR_INVALID_ARGUMENT', /frame type/);
  throwsCode(() => writer.tryWrite(FRAME_RECORD, payload, 6, 4), 'WEIR_INVALID_ARGUMENT', /\[6, 10\)/);
  throwsCode(() => writer.tryWrite(FRAME_RECORD, payload, -1, 4), 'WEIR_INVALID_ARGUMENT');
  assert.is(writer.usedBytes(), 0);
});

test('frames of varying sizes round-trip byte for byte while the ring wraps many times', () => {
  const wraps = pumpAndVerify(1024, 20_000);
  assert.ok(wraps > 100, `only ${wraps} wraps`);
  assert.ok(pumpAndVerify(4096, 20_000) > 20);
});

test('payloads are copied exactly whatever their alignment and however their buffer ends', () => {
  const { writer, reader } = channel(4096);
  const buffers = [new Uint8Array(10), new Uint8Array(30), new Uint8Array(301), new Uint8Array(new SharedArrayBuffer(67))];
  const cases: Array<[Uint8Array, number, number]> = [];
  for (const buffer of buffers) {
    for (let i = 0; i < buffer.length; i++) buffer[i] = (i * 31 + buffer.length) & 255;
    const n = buffer.length;
    cases.push([buffer, 0, n], [buffer, 1, n - 1], [buffer, 4, n - 4], [buffer, n - 6, 6], [buffer, 0, 0]);
  }
  // A view that starts mid-buffer: its byteOffset counts towards alignment.
  const inner = new Uint8Array(buffers[2]!.buffer, 3, 280);
  cases.push([inner, 1, 200], [inner, 0, 280], [inner, 5, 9]);
  for (const [payload, offset, length] of cases) {
    assert.ok(writer.tryWrite(FRAME_RECORD, payload, offset, length));
    writer.flush();
    assert.is(reader.next(), FRAME_RECORD);
    assert.equal(
      [...reader.bytes.subarray(reader.payloadOffset, reader.payloadOffset + reader.payloadLength)],
      [...payload.subarray(offset, offset + length)],
      `${length} bytes at ${offset} of a ${payload.length}-byte array`,
    );
    reader.release();
  }
});

test('a frame that does not fit before the ring end is preceded by a PAD frame and starts at 0', () => {
  const { ring, writer, reader } = channel(1024);
  const payload = new Uint8Array(300);
  // 9 frames of 100 bytes (104 each) end at position 936; drain them.
  for (let i = 0; i < 9; i++) assert.ok(writer.tryWrite(FRAME_RECORD, payload.fill(i), 0, 100));
  writer.flush();
  assert.is(readAll(reader).length, 9);
  // 88 bytes remain before the end: a 100-byte payload must wrap.
  assert.ok(writer.tryWrite(FRAME_BARRIER, payload.fill(0xab), 0, 100));
  writer.flush();
  const words = new Int32Array(ring, RING_HEADER_BYTES);
  assert.is(headerType(words[936 / 4]!), FRAME_PAD);
  assert.is(headerLength(words[936 / 4]!), 84);
  assert.is(headerType(words[0]!), FRAME_BARRIER);
  assert.is(reader.next(), FRAME_BARRIER, 'the reader skips the PAD');
  assert.is(reader.payloadOffset, 4);
  assert.ok(reader.bytes.subarray(4, 104).every((b) => b === 0xab));
  assert.is(reader.next(), -1);
  reader.release();
  assert.is(writer.usedBytes(), 0);
  // A frame that exactly fills the tail needs no PAD.
  const exact = channel(1024);
  for (let i = 0; i < 4; i++) assert.ok(exact.writer.tryWrite(FRAME_RECORD, payload, 0, 252));
  assert.is(exact.writer.usedBytes(), 1024);
  exact.writer.flush();
  assert.is(readAll(exact.reader).length, 4);
  assert.ok(exact.writer.tryWrite(FRAME_END_OF_PARTITION, payload, 0, 0));
  exact.writer.flush();
  assert.is(exact.reader.next(), FRAME_END_OF_PARTITION);
  assert.is(exact.reader.payloadOffset, 4);
});

test('tryWrite returns false when the ring is full and succeeds after the reader releases', () => {
  const { writer, reader } = channel(1024);
  const payload = new Uint8Array(100);
  let n = 0;
  while (writer.tryWrite(FRAME_RECORD, payload, 0, 100)) n++;
  assert.is(n, 9); // 9 × 104 = 936; a tenth needs a PAD of 88 + 104 > 1024 - 936
  assert.is(writer.usedBytes(), 936);
  assert.not.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 100), 'still full');
  writer.flush();
  assert.is(reader.next(), FRAME_RECORD);
  assert.not.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 100), 'the frame is read but not released');
  reader.release();
  assert.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 100));
  assert.is(writer.usedBytes(), 1024); // 832 bytes of frames, an 88-byte PAD, the new frame at 0
});

test('the reader sees nothing before flush, publishEvery frames, or capacity/8 bytes', () => {
  const { writer, reader } = channel(1024, 4);
  const payload = new Uint8Array(60);
  for (let i = 0; i < 3; i++) assert.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 4));
  assert.not.ok(reader.hasData());
  assert.is(reader.next(), -1);
  assert.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 4)); // the 4th frame publishes
  assert.ok(reader.hasData());
  assert.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 4));
  assert.is(readAll(reader).length, 4);
  assert.not.ok(reader.hasData());
  writer.flush();
  assert.is(readAll(reader).length, 1);

  const bytesRule = channel(1024, 1000);
  assert.ok(bytesRule.writer.tryWrite(FRAME_RECORD, payload, 0, 60));
  assert.ok(bytesRule.writer.tryWrite(FRAME_RECORD, payload, 0, 60)); // 128 unpublished bytes: not more than 1024/8
  assert.not.ok(bytesRule.reader.hasData());
  assert.ok(bytesRule.writer.tryWrite(FRAME_RECORD, payload, 0, 60)); // 192 > 128: published
  assert.is(readAll(bytesRule.reader).length, 3);
  bytesRule.writer.flush();
  assert.is(bytesRule.reader.next(), -1);
});

test('next() publishes the read index by itself once more than capacity/4 bytes are consumed', () => {
  const { writer, reader } = channel(1024, 1);
  const payload = new Uint8Array(60);
  for (let i = 0; i < 15; i++) assert.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 60));
  for (let i = 0; i < 5; i++) reader.next(); // 256 bytes consumed before the 5th: not more than 256
  assert.is(writer.usedBytes(), 960);
  reader.next(); // 320 bytes consumed before this call: published up to the previous frame
  assert.is(writer.usedBytes(), 960 - 320);
  reader.release();
  assert.is(writer.usedBytes(), 960 - 384);
});

test('indices wrap around 2^31 and 2^32 without losing or reordering frames', () => {
  for (const start of [2 ** 32 - 320, 2 ** 31 - 320, 2 ** 32 - 64]) {
    pumpAndVerify(1024, 3_000, start);
    const ring = createRingBuffer(1024);
    debugSetIndices(ring, start);
    const writer = new RingWriter(ring, new Doorbell(createDoorbell()), 1);
    const reader = new RingReader(ring);
    const payload = new Uint8Array(60);
    let n = 0;
    while (writer.tryWrite(FRAME_RECORD, payload, 0, 60)) n++;
    assert.is(n, 16, `a full ring holds 16 frames from index ${start}`);
    assert.is(writer.usedBytes(), 1024);
    assert.is(readAll(reader).length, 16);
    assert.is(writer.usedBytes(), 0);
  }
});

test('usable capacity limits the bytes in flight and defaults to the capacity', () => {
  const ring = createRingBuffer(1024);
  assert.is(usableCapacity(ring), 1024);
  setUsableCapacity(ring, 256);
  assert.is(usableCapacity(ring), 256);
  const writer = new RingWriter(ring, new Doorbell(createDoorbell()));
  const reader = new RingReader(ring);
  const payload = new Uint8Array(252);
  let n = 0;
  while (writer.tryWrite(FRAME_RECORD, payload, 0, 60)) n++;
  assert.is(n, 4);
  assert.is(writer.usedBytes(), 256);
  // Raising it is picked up when the writer runs out of room.
  setUsableCapacity(ring, 512);
  while (writer.tryWrite(FRAME_RECORD, payload, 0, 60)) n++;
  assert.is(n, 8);
  writer.flush();
  assert.is(readAll(reader).length, 8);
  // Lowering it is picked up at the next publish (flush).
  setUsableCapacity(ring, 128);
  writer.flush();
  n = 0;
  while (writer.tryWrite(FRAME_RECORD, payload, 0, 60)) n++;
  assert.is(n, 2);
  writer.flush();
  assert.is(readAll(reader).length, 2);
  // An empty ring takes one frame of any size even when the limit is below it.
  setUsableCapacity(ring, 1);
  writer.flush();
  assert.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 252));
  assert.not.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 0));
  throwsCode(() => setUsableCapacity(ring, 0), 'WEIR_INVALID_OPTION', /usable ring capacity must be an integer between 1 and the ring capacity 1024, got 0/);
  throwsCode(() => setUsableCapacity(ring, 1025), 'WEIR_INVALID_OPTION');
  throwsCode(() => setUsableCapacity(ring, 2.5), 'WEIR_INVALID_OPTION');
});

test('the reader rejects a frame that runs past the published data as malformed', () => {
  const { ring, writer, reader } = channel(1024);
  assert.ok(writer.tryWrite(FRAME_RECORD, new Uint8Array(8), 0, 8));
  writer.flush();
  new Int32Array(ring, RING_HEADER_BYTES)[0] = (100 << 4) | FRAME_RECORD; // corrupt the length
  throwsCode(() => reader.next(), 'WEIR_MALFORMED_FRAME', /position 0/);
});

test('a doorbell wakes its consumer only while it sleeps, and wake() always', async () => {
  const sab = createDoorbell();
  const consumer = new Doorbell(sab);
  const producer = new Doorbell(sab);
  const idle = consumer.prepareToSleep();
  consumer.cancelSleep();
  producer.ring(); // not sleeping: no-op
  const token = consumer.prepareToSleep();
  assert.is(token, idle);
  producer.ring(); // sleeping: bumps the counter, so the wait returns at once
  consumer.sleepSync(token, 60_000);
  const token2 = consumer.prepareToSleep();
  assert.is.not(token2, token);
  consumer.cancelSleep();
  producer.ring();
  assert.is(consumer.prepareToSleep(), token2, 'a cancelled sleeper is not rung');
  consumer.cancelSleep();
  producer.wake();
  const token3 = consumer.prepareToSleep();
  assert.is.not(token3, token2);
  // sleepAsync parks until a later wake() on the event loop.
  let woken = false;
  setTimeout(() => {
    woken = true;
    producer.ring();
  }, 5);
  await consumer.sleepAsync(token3, 60_000);
  assert.ok(woken);
});

test('waitForSpace reports room at once, times out when full, and wakes on release', async () => {
  const { writer, reader } = channel(1024);
  const payload = new Uint8Array(252);
  assert.ok(writer.waitForSpaceSync(256, 0));
  while (writer.tryWrite(FRAME_RECORD, payload, 0, 252));
  assert.not.ok(writer.waitForSpaceSync(256, 0));
  assert.not.ok(writer.waitForSpaceSync(256, 1));
  assert.not.ok(await writer.waitForSpaceAsync(256, 1));
  throwsCode(() => writer.waitForSpaceSync(260, 0), 'WEIR_INVALID_ARGUMENT', /frameBytes/);
  assert.is(reader.next(), FRAME_RECORD, 'waitForSpace flushed');
  setTimeout(() => reader.release(), 5);
  assert.ok(await writer.waitForSpaceAsync(256, 60_000));
  assert.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 252));
});

/**
 * Runs the fixture producer on a worker thread and consumes `count` frames through a 4 KiB ring
 * on this thread, sleeping on the doorbell whenever the ring is empty. Fails after 30 s.
 */
async function twoThreadRun(wait: 'sync' | 'async', sleep: 'sync' | 'async'): Promise<void> {
  const count = 200_000;
  const ring = createRingBuffer(4096);
  const doorbellSab = createDoorbell();
  const doorbell = new Doorbell(doorbellSab);
  const reader = new RingReader(ring);
  const worker = startTsWorker(new URL('../../fixtures/ring-producer.ts', import.meta.url), {
    workerData: { ring, doorbell: doorbellSab, count, wait, publishEvery: 16 },
  });
  const deadline = Date.now() + 30_000;
  let failure: unknown;
  worker.on('error', (error) => (failure = error));
  const expected = new Uint8Array(64);
  let seq = 0;
  let sleeps = 0;
  try {
    for (;;) {
      let type: number;
      while ((type = reader.next()) !== -1) {
        if (type === FRAME_END_OF_PARTITION) {
          assert.is(seq, count, 'END_OF_PARTITION after every record');
          assert.is(reader.next(), -1);
          reader.release();
          return;
        }
        assert.is(type, FRAME_RECORD);
        const length = fillPayload(expected, seq);
        if (reader.payloadLength !== length) assert.unreachable(`record ${seq}: length ${reader.payloadLength}, expected ${length}`);
        for (let j = 0; j < length; j++) {
          if (reader.bytes[reader.payloadOffset + j] !== expected[j]) assert.unreachable(`record ${seq}: byte ${j} differs`);
        }
        seq++;
      }
      reader.release();
      if (failure !== undefined) throw failure;
      if (Date.now() > deadline) assert.unreachable(`timed out after 30 s at record ${seq} of ${count}`);
      const token = doorbell.prepareToSleep();
      if (reader.hasData()) {
        doorbell.cancelSleep();
        continue;
      }
      sleeps++;
      if (sleep === 'sync') doorbell.sleepSync(token, 100);
      else await doorbell.sleepAsync(token, 100);
    }
  } finally {
    await worker.terminate();
    assert.ok(sleeps >= 0);
  }
}

test('two threads: 200k records through a 4 KiB ring arrive complete and in order (async consumer, sync producer)', async () => {
  await twoThreadRun('sync', 'async');
});

test('two threads: 200k records through a 4 KiB ring arrive complete and in order (sync consumer, async producer)', async () => {
  await twoThreadRun('async', 'sync');
});

test.run();
