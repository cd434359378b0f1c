import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import { OutputWriter, type ChannelSelector } from '../../../src/channels/output-writer.ts';
import { InputGate } from '../../../src/channels/input-gate.ts';
import { defaultRecordCodec, recordCodecByName } from '../../../src/channels/record-codec.ts';
import { Doorbell, createDoorbell } from '../../../src/channels/doorbell.ts';
import { RingWriter } from '../../../src/channels/ring-buffer.ts';
import {
  FRAME_END_OF_PARTITION,
  FRAME_KEYED_RECORD,
  FRAME_RECORD,
  FRAME_WATERMARK,
  KEY_GROUP_PREFIX_BYTES,
} from '../../../src/channels/frame-codec.ts';
import { collector, consumerRings } from '../../helpers/channels.ts';

interface Rec {
  ch: number;
  seq: number;
}

const byField: ChannelSelector = { selectChannel: (r) => (r as Rec).ch, lastKeyGroup: -1 };

/** Fills channel c of a fresh gate's rings with counts[c] records, then end of partition on every channel. */
function filledGate(counts: number[], codec = defaultRecordCodec): InputGate {
  const { rings, outputs } = consumerRings(counts.length, 256 * 1024);
  const writer = new OutputWriter(outputs, byField, codec, () => true, () => {});
  counts.forEach((count, ch) => {
    for (let seq = 0; seq < count; seq++) writer.emit({ ch, seq });
  });
  writer.endOfPartition();
  writer.flush();
  return new InputGate(rings, codec);
}

test('a gate over channels with data reads every record, each channel in its own order', () => {
  const gate = filledGate([300, 0, 1000, 7]);
  const handler = collector();
  while (!gate.finished) assert.ok(gate.poll(handler, 100) > 0, 'a finite backlog never leaves the gate idle');
  const records = handler.records as Rec[];
  assert.is(records.length, 1307);
  for (const [ch, count] of [300, 0, 1000, 7].entries()) {
    assert.equal(
      records.filter((r) => r.ch === ch).map((r) => r.seq),
      Array.from({ length: count }, (_, i) => i),
    );
  }
  assert.equal(gate.recordsPerChannel, [300, 0, 1000, 7]);
});

test('round robin: each turn reads at most 256 frames from a channel before moving to the next', () => {
  const gate = filledGate([1000, 1000, 1000]);
  const handler = collector();
  // A turn reads a bounded batch from one channel; asking for 1 frame still finishes the batch.
  assert.is(gate.poll(handler, 1), 256);
  assert.equal(gate.recordsPerChannel, [256, 0, 0]);
  assert.is(gate.poll(handler, 1), 256);
  assert.equal(gate.recordsPerChannel, [256, 256, 0]);
  assert.is(gate.poll(handler, 1), 256);
  assert.equal(gate.recordsPerChannel, [256, 256, 256]);
  assert.is(gate.poll(handler, 1), 256);
  assert.equal(gate.recordsPerChannel, [512, 256, 256]);
});

test('no channel starves: one record on a quiet channel is read within one turn of the busy channels', () => {
  const gate = filledGate([5000, 1, 5000]);
  const handler = collector();
  while (gate.recordsPerChannel[1] === 0) {
    assert.ok(gate.poll(handler, 1) > 0);
  }
  const position = (handler.records as Rec[]).findIndex((r) => r.ch === 1);
  assert.ok(position <= 256, `the quiet channel's record came at position ${position}`);
  // And the busy channels advance in step: neither gets more than one turn ahead.
  for (let i = 0; i < 20; i++) {
    gate.poll(handler, 1);
    const [a, , c] = gate.recordsPerChannel;
    assert.ok(Math.abs(a! - c!) <= 256, `channels 0 and 2 at ${a} and ${c}`);
  }
});

test('poll reads across channels until it has about maxFrames, then resumes at the next channel', () => {
  const gate = filledGate([10, 10, 10]);
  const handler = collector();
  // 10 + 1 (end of partition) frames per channel: three channels reach 12 frames after the second channel.
  assert.is(gate.poll(handler, 12), 22);
  assert.equal(gate.recordsPerChannel, [10, 10, 0]);
  assert.not.ok(gate.finished);
  assert.is(gate.poll(handler, 12), 11);
  assert.ok(gate.finished);
});

test('the gate finishes only once every channel delivered end of partition', () => {
  const { rings } = consumerRings(3);
  const doorbell = new Doorbell(createDoorbell());
  const writers = rings.map((ring) => new RingWriter(ring, doorbell));
  const gate = new InputGate(rings, defaultRecordCodec);
  const handler = collector();
  assert.not.ok(gate.finished);
  assert.is(gate.poll(handler, 100), 0, 'nothing published yet');
  const empty = new Uint8Array(0);
  for (const [i, writer] of writers.entries()) {
    assert.ok(writer.tryWrite(FRAME_END_OF_PARTITION, empty, 0, 0));
    writer.flush();
    assert.is(gate.poll(handler, 100), 1);
    assert.is(gate.finished, i === writers.length - 1, `after ${i + 1} of 3 channels ended`);
  }
  assert.is(gate.poll(handler, 100), 0, 'a finished gate reads nothing');
  assert.not.ok(gate.hasData());
  assert.equal(handler.records, []);
});

test('hasData sees a published frame on any open channel and ignores unpublished ones', () => {
  const { rings } = consumerRings(2);
  const writer = new RingWriter(rings[1]!, new Doorbell(createDoorbell()), 64);
  const gate = new InputGate(rings, defaultRecordCodec);
  const encoder = defaultRecordCodec.createEncoder();
  const length = encoder.encode('x');
  assert.ok(writer.tryWrite(FRAME_RECORD, encoder.buffer, 0, length));
  assert.not.ok(gate.hasData());
  writer.flush();
  assert.ok(gate.hasData());
  const handler = collector();
  assert.is(gate.poll(handler, 10), 1);
  assert.equal(handler.records, ['x']);
  assert.not.ok(gate.hasData());
});

test('a frame type the gate does not handle throws WEIR_MALFORMED_FRAME naming the channel and the type', () => {
  for (const [type, length] of [
    [9, 0],
    [15, 4],
  ] as const) {
    const { rings } = consumerRings(2);
    const writer = new RingWriter(rings[1]!, new Doorbell(createDoorbell()));
    assert.ok(writer.tryWrite(type, new Uint8Array(32), 0, length));
    writer.flush();
    const gate = new InputGate(rings, defaultRecordCodec);
    try {
      gate.poll(collector(), 10);
      assert.unreachable(`expected WEIR_MALFORMED_FRAME for type ${type}`);
    } catch (error) {
      assert.instance(error, WeirError);
      assert.is((error as WeirError).code, 'WEIR_MALFORMED_FRAME');
      assert.match((error as WeirError).message, new RegExp(`input channel 1 delivered a frame of unexpected type ${type}`));
    }
  }
});

test('a keyed record frame carries a little-endian key group before the record bytes', () => {
  const { rings } = consumerRings(1);
  const writer = new RingWriter(rings[0]!, new Doorbell(createDoorbell()));
  const encoder = defaultRecordCodec.createEncoder();
  for (const keyGroup of [0, 1, 255, 256, 4097, 32767]) {
    const end = encoder.encode({ keyGroup }, KEY_GROUP_PREFIX_BYTES);
    encoder.buffer[0] = keyGroup & 0xff;
    encoder.buffer[1] = keyGroup >>> 8;
    encoder.buffer[2] = 0;
    encoder.buffer[3] = 0;
    assert.ok(writer.tryWrite(FRAME_KEYED_RECORD, encoder.buffer, 0, end));
  }
  writer.flush();
  const gate = new InputGate(rings, defaultRecordCodec);
  const handler = collector();
  assert.is(gate.poll(handler, 100), 6);
  assert.equal(handler.keyGroups, [0, 1, 255, 256, 4097, 32767]);
  assert.equal(handler.records, handler.keyGroups.map((keyGroup) => ({ keyGroup })));
  assert.equal(gate.recordsPerChannel, [6]);
});

test('records before a malformed frame are delivered first', () => {
  const { rings } = consumerRings(1);
  const writer = new RingWriter(rings[0]!, new Doorbell(createDoorbell()));
  const encoder = defaultRecordCodec.createEncoder();
  for (const v of ['a', 'b']) {
    const n = encoder.encode(v);
    assert.ok(writer.tryWrite(FRAME_RECORD, encoder.buffer, 0, n));
  }
  assert.ok(writer.tryWrite(FRAME_WATERMARK, new Uint8Array(8), 0, 4)); // a watermark must be 8 bytes
  writer.flush();
  const gate = new InputGate(rings, defaultRecordCodec);
  const handler = collector();
  assert.throws(() => gate.poll(handler, 10), (e: unknown) => (e as WeirError).code === 'WEIR_MALFORMED_FRAME');
  assert.equal(handler.records, ['a', 'b']);
});

test('every codec round-trips records through writer and gate', () => {
  for (const name of ['binary', 'json', 'v8']) {
    const codec = recordCodecByName(name);
    const gate = filledGate([50, 50], codec);
    const handler = collector();
    while (!gate.finished) assert.ok(gate.poll(handler, 1000) > 0);
    assert.is(handler.records.length, 100, name);
    assert.equal((handler.records as Rec[]).filter((r) => r.ch === 1).map((r) => r.seq), Array.from({ length: 50 }, (_, i) => i), name);
  }
});

test('a handler that throws leaves the consumed frames released, so the gate can go on', () => {
  const gate = filledGate([3]);
  let calls = 0;
  const failing = {
    processRecord() {
      if (++calls === 2) throw new Error('user function failed');
    },
    processKeyedRecord() {
      assert.unreachable('plain records only');
    },
    processBarrier() {
      assert.unreachable('no barriers here');
    },
    processWatermark() {},
    processWatermarkStatus() {},
  };
  assert.throws(() => gate.poll(failing, 10), /user function failed/);
  const handler = collector();
  while (!gate.finished) gate.poll(handler, 10);
  assert.equal(handler.records, [{ ch: 0, seq: 2 }]);
});

test.run();
