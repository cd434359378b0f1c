import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createDoorbell, Doorbell } from '../../../src/channels/doorbell.ts';
import { FRAME_BARRIER, FRAME_RECORD, forEachFrame } from '../../../src/channels/frame-codec.ts';
import { createRingBuffer, debugSetIndices, RingReader, RingWriter } from '../../../src/channels/ring-buffer.ts';
import { throwsCode } from '../../helpers/errors.ts';

// Barrier announcements (the priority lane of unaligned checkpoints): the consumer learns of a
// barrier before reading the data queued ahead of it, and copies that data without consuming it.

function payload(i: number, bytes = 12): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, k) => (i * 7 + k) & 0xff);
}

function frames(bytes: Uint8Array): Array<[number, number[]]> {
  const out: Array<[number, number[]]> = [];
  forEachFrame(bytes, (type, offset, length) => out.push([type, [...bytes.subarray(offset, offset + length)]]));
  return out;
}

function setup(capacity = 64 * 1024, startIndex?: number): { writer: RingWriter; reader: RingReader } {
  const ring = createRingBuffer(capacity);
  if (startIndex !== undefined) debugSetIndices(ring, startIndex);
  // publishEvery high: frames stay unpublished until the announcement publishes them.
  return { writer: new RingWriter(ring, new Doorbell(createDoorbell()), 1_000_000), reader: new RingReader(ring) };
}

test('the announcement carries the checkpoint id and the position of the data queued ahead; copying does not consume', () => {
  const { writer, reader } = setup();
  for (let i = 0; i < 10; i++) assert.ok(writer.tryWrite(FRAME_RECORD, payload(i), 0, 12));
  assert.is(reader.readAnnouncement(), undefined);
  const position = writer.announceBarrier(7, 1_764_000_000_123.5);
  assert.equal(reader.readAnnouncement(), { checkpointId: 7, position, timestamp: 1_764_000_000_123.5, unaligned: true });
  assert.is(reader.readAnnouncement(), undefined, 'each announcement is returned once');
  const copied = reader.copyUnreadUntil(position);
  assert.equal(frames(copied), Array.from({ length: 10 }, (_, i) => [FRAME_RECORD, [...payload(i)]]));
  // The barrier frame lands exactly at the announced position, after the ten records.
  assert.ok(writer.tryWrite(FRAME_BARRIER, payload(99, 20), 0, 20));
  writer.flush();
  for (let i = 0; i < 10; i++) {
    assert.is(reader.next(), FRAME_RECORD);
    assert.equal([...reader.bytes.subarray(reader.payloadOffset, reader.payloadOffset + reader.payloadLength)], [...payload(i)]);
  }
  assert.is(reader.position, position);
  assert.is(reader.next(), FRAME_BARRIER);
  assert.is(reader.next(), -1);
});

test('only the unread part is copied; a position behind the reader copies nothing', () => {
  const { writer, reader } = setup();
  for (let i = 0; i < 10; i++) writer.tryWrite(FRAME_RECORD, payload(i), 0, 12);
  writer.flush();
  for (let i = 0; i < 4; i++) assert.is(reader.next(), FRAME_RECORD);
  const position = writer.announceBarrier(3);
  assert.equal(
    frames(reader.copyUnreadUntil(position)).map(([, bytes]) => bytes),
    Array.from({ length: 6 }, (_, i) => [...payload(i + 4)]),
  );
  while (reader.next() !== -1);
  assert.is(reader.copyUnreadUntil(position).length, 0);
});

test('data wrapping around the ring end is copied whole, padding included and skipped', () => {
  // Start 40 bytes before the 2^32 wrap and near the ring end, so frames wrap both ways.
  const { writer, reader } = setup(1024, 2 ** 32 - 1000);
  for (let i = 0; i < 40; i++) {
    assert.ok(writer.tryWrite(FRAME_RECORD, payload(i, 20), 0, 20));
    if (i % 8 === 7) {
      writer.flush();
      while (reader.next() !== -1);
      reader.release();
    }
  }
  for (let i = 40; i < 70; i++) assert.ok(writer.tryWrite(FRAME_RECORD, payload(i, 20), 0, 20), `frame ${i}`);
  const position = writer.announceBarrier(1);
  assert.equal(
    frames(reader.copyUnreadUntil(position)).map(([, bytes]) => bytes),
    Array.from({ length: 30 }, (_, i) => [...payload(i + 40, 20)]),
  );
});

test('a newer announcement replaces one not yet read', () => {
  const { writer, reader } = setup();
  writer.tryWrite(FRAME_RECORD, payload(1), 0, 12);
  writer.announceBarrier(4);
  writer.tryWrite(FRAME_RECORD, payload(2), 0, 12);
  const second = writer.announceBarrier(5);
  assert.equal(reader.readAnnouncement(), { checkpointId: 5, position: second, timestamp: 0, unaligned: true });
  assert.is(reader.readAnnouncement(), undefined);
});

test('channel state that is cut short is WEIR_MALFORMED_FRAME, and ids must fit 31 bits', () => {
  const { writer, reader } = setup();
  writer.tryWrite(FRAME_RECORD, payload(1), 0, 12);
  const bytes = reader.copyUnreadUntil(writer.announceBarrier(1));
  throwsCode(() => forEachFrame(bytes.subarray(0, bytes.length - 4), () => {}), 'WEIR_MALFORMED_FRAME', /runs past the end/);
  throwsCode(() => forEachFrame(bytes.subarray(0, 2), () => {}), 'WEIR_MALFORMED_FRAME', /cut short/);
  throwsCode(() => writer.announceBarrier(2 ** 31), 'WEIR_INVALID_ARGUMENT', /2\^31/);
});

test.run();
