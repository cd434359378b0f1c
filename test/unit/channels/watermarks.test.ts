// Event time through the channels: timestamped record frames (plain and keyed) keep their
// timestamps through writer, gate, unaligned channel-state re-encoding and replay; the gate
// merges per-channel watermarks into the minimum over active channels (idle and ended ones left
// out), hands on only increases, and reports idleness of the whole gate.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OutputWriter, type ChannelSelector, type RecordTime } from '../../../src/channels/output-writer.ts';
import { InputGate } from '../../../src/channels/input-gate.ts';
import { defaultRecordCodec } from '../../../src/channels/record-codec.ts';
import { replayChannelState } from '../../../src/channels/channel-state-capture.ts';
import { RING_HEADER_BYTES } from '../../../src/channels/ring-buffer.ts';
import { collector, consumerRings } from '../../helpers/channels.ts';

const toChannel = (c: number): ChannelSelector => ({ selectChannel: () => c, lastKeyGroup: -1 });

function writers(n: number, time: RecordTime): { gate: InputGate; outs: OutputWriter[] } {
  const { rings, outputs } = consumerRings(n);
  const outs = outputs.map((output) => new OutputWriter([output], toChannel(0), defaultRecordCodec, () => false, () => {}, false, time));
  return { gate: new InputGate(rings, defaultRecordCodec, 'aligned', undefined, undefined, outputs.map((_, c) => c % 2)), outs };
}

function drain(gate: InputGate, handler: ReturnType<typeof collector>): void {
  for (let i = 0; i < 100 && gate.poll(handler, 1000) > 0; i++);
}

test('records carry their timestamp (NaN: none) and the input number of their channel', () => {
  const time: RecordTime = { value: Number.NaN };
  const { gate, outs } = writers(2, time);
  outs[0]!.emit('plain');
  time.value = 1234.5;
  outs[0]!.emit('stamped');
  time.value = -7;
  outs[1]!.emit('negative, second input');
  for (const w of outs) w.flush();
  const handler = collector();
  drain(gate, handler);
  assert.equal(handler.records, ['plain', 'stamped', 'negative, second input']);
  assert.ok(Number.isNaN(handler.timestamps[0]));
  assert.equal(handler.timestamps.slice(1), [1234.5, -7]);
  assert.equal(handler.inputs, [0, 0, 1]);
});

test('keyed records keep key group and timestamp', () => {
  const time: RecordTime = { value: 99 };
  const { rings, outputs } = consumerRings(1);
  const selector: ChannelSelector = { selectChannel: () => 0, lastKeyGroup: 4097 };
  const writer = new OutputWriter(outputs, selector, defaultRecordCodec, () => false, () => {}, true, time);
  writer.emit({ k: 1 });
  time.value = Number.NaN;
  writer.emit({ k: 2 });
  writer.flush();
  const handler = collector();
  drain(new InputGate(rings, defaultRecordCodec), handler);
  assert.equal(handler.records, [{ k: 1 }, { k: 2 }]);
  assert.equal(handler.keyGroups, [4097, 4097]);
  assert.is(handler.timestamps[0], 99);
  assert.ok(Number.isNaN(handler.timestamps[1]));
});

test('the gate watermark is the minimum over channels and only ever increases', () => {
  const { gate, outs } = writers(2, { value: Number.NaN });
  const handler = collector();
  outs[0]!.emitWatermark(100);
  outs[0]!.flush();
  drain(gate, handler);
  assert.equal(handler.watermarks, [], 'channel 1 has no watermark yet: the minimum is −∞');
  outs[1]!.emitWatermark(50);
  outs[1]!.flush();
  drain(gate, handler);
  assert.equal(handler.watermarks, [50]);
  outs[1]!.emitWatermark(150);
  outs[1]!.flush();
  drain(gate, handler);
  assert.equal(handler.watermarks, [50, 100]);
  outs[0]!.emitWatermark(120);
  outs[0]!.emitWatermark(110); // a regression on one channel is ignored
  outs[0]!.flush();
  drain(gate, handler);
  assert.equal(handler.watermarks, [50, 100, 120]);
  assert.is(gate.currentWatermark, 120);
});

test('an idle channel holds no watermark back; all idle makes the gate idle; activity resumes it', () => {
  const { gate, outs } = writers(2, { value: Number.NaN });
  const handler = collector();
  outs[0]!.emitWatermark(10);
  outs[1]!.emitWatermarkStatus(true);
  for (const w of outs) w.flush();
  drain(gate, handler);
  assert.equal(handler.watermarks, [10], 'channel 1 idle: channel 0 alone decides');
  outs[0]!.emitWatermarkStatus(true);
  outs[0]!.flush();
  drain(gate, handler);
  assert.equal(handler.watermarks, [10, 'idle']);
  outs[1]!.emitWatermarkStatus(false);
  outs[1]!.emitWatermark(30);
  outs[1]!.flush();
  drain(gate, handler);
  assert.equal(handler.watermarks, [10, 'idle', 'active', 30]);
});

test('an ended channel leaves the minimum; the final +∞ of every source closes event time', () => {
  const { gate, outs } = writers(2, { value: Number.NaN });
  const handler = collector();
  outs[0]!.emitWatermark(5);
  outs[1]!.emitWatermark(Infinity);
  outs[1]!.endOfPartition();
  for (const w of outs) w.flush();
  drain(gate, handler);
  assert.equal(handler.watermarks, [5]);
  outs[0]!.emitWatermark(Infinity);
  outs[0]!.endOfPartition();
  outs[0]!.flush();
  drain(gate, handler);
  assert.equal(handler.watermarks, [5, Infinity]);
  assert.ok(gate.finished);
});

test('stored channel state replays records with their timestamps, key groups and inputs', () => {
  // Build a stored stream as the gate's capture does: frames re-encoded by a fresh encoder.
  const time: RecordTime = { value: 42 };
  const { rings, outputs } = consumerRings(1);
  const writer = new OutputWriter(outputs, toChannel(0), defaultRecordCodec, () => false, () => {}, false, time);
  writer.emit({ a: 1 });
  time.value = Number.NaN;
  writer.emit({ a: 2 });
  writer.flush();
  // The ring's bytes from 0 up to the write position are exactly the two frames.
  const reader = new InputGate(rings, defaultRecordCodec);
  const seen = collector();
  drain(reader, seen);
  assert.equal(seen.records, [{ a: 1 }, { a: 2 }]);
  const frames = new Uint8Array(rings[0]!, RING_HEADER_BYTES, 64).slice(); // the data area follows the header
  const replayed = collector();
  const count = replayChannelState([frames.subarray(0, frameLength(frames))], defaultRecordCodec, replayed, [1]);
  assert.is(count, 2);
  assert.equal(replayed.records, [{ a: 1 }, { a: 2 }]);
  assert.is(replayed.timestamps[0], 42);
  assert.ok(Number.isNaN(replayed.timestamps[1]));
  assert.equal(replayed.inputs, [1, 1]);
});

/** Bytes of the leading frames until the first zero header (an unused ring is zero-filled). */
function frameLength(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 4 <= bytes.length && view.getUint32(at, true) !== 0) at += 4 + (((view.getUint32(at, true) >>> 4) + 3) & ~3);
  return at;
}

test.run();
