import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BarrierAligner } from '../../../src/channels/barrier-aligner.ts';
import { InputGate, type InputHandler } from '../../../src/channels/input-gate.ts';
import { OutputWriter, type ChannelSelector } from '../../../src/channels/output-writer.ts';
import { defaultRecordCodec } from '../../../src/channels/record-codec.ts';
import type { Barrier } from '../../../src/channels/frame-codec.ts';
import { consumerRings } from '../../helpers/channels.ts';

const barrier = (checkpointId: number): Barrier => ({ checkpointId, timestamp: 1_000 + checkpointId, kind: 0, unaligned: false });

// ---------------------------------------------------------------------------------------------
// BarrierAligner on its own

test('aligned: a channel that delivered the barrier is blocked until every open channel delivered it', () => {
  const aligner = new BarrierAligner(3, 'aligned');
  assert.not.ok(aligner.aligning);
  assert.is(aligner.onBarrier(1, barrier(1)), undefined);
  assert.equal(aligner.blocked, [false, true, false]);
  assert.ok(aligner.aligning);
  assert.is(aligner.onBarrier(0, barrier(1)), undefined);
  assert.equal(aligner.blocked, [true, true, false]);
  assert.ok(aligner.aligning);
});

test('aligned: the last channel’s barrier returns the barrier once and unblocks every channel', () => {
  const aligner = new BarrierAligner(3, 'aligned');
  const b = barrier(4);
  aligner.onBarrier(2, b);
  aligner.onBarrier(0, b);
  const done = aligner.onBarrier(1, b);
  assert.equal(done, b);
  assert.equal(aligner.blocked, [false, false, false]);
  assert.not.ok(aligner.aligning);
  // A repeated delivery of the completed barrier does not complete it again.
  assert.is(aligner.onBarrier(1, b), undefined);
  assert.equal(aligner.blocked, [false, false, false]);
});

test('aligned: consecutive checkpoints each complete once, in order', () => {
  const aligner = new BarrierAligner(2, 'aligned');
  const completed: number[] = [];
  for (const id of [1, 2, 3]) {
    for (const channel of [1, 0]) {
      const done = aligner.onBarrier(channel, barrier(id));
      if (done !== undefined) completed.push(done.checkpointId);
    }
  }
  assert.equal(completed, [1, 2, 3]);
  assert.not.ok(aligner.aligning);
});

test('at-least-once: no channel is ever blocked and the checkpoint completes on the last channel’s barrier', () => {
  const aligner = new BarrierAligner(3, 'at-least-once');
  assert.is(aligner.onBarrier(0, barrier(1)), undefined);
  assert.equal(aligner.blocked, [false, false, false]);
  assert.not.ok(aligner.aligning);
  assert.is(aligner.onBarrier(2, barrier(1)), undefined);
  assert.equal(aligner.blocked, [false, false, false]);
  assert.equal(aligner.onBarrier(1, barrier(1))?.checkpointId, 1);
  assert.equal(aligner.blocked, [false, false, false]);
  assert.is(aligner.onBarrier(1, barrier(1)), undefined, 'a completed checkpoint does not complete again');
});

test('aligned: a newer barrier cancels the unfinished older alignment, unblocks its channels, and the old id is ignored later', () => {
  const aligner = new BarrierAligner(3, 'aligned');
  aligner.onBarrier(0, barrier(1));
  assert.equal(aligner.blocked, [true, false, false]);
  // Checkpoint 2 overtakes 1 (1 was never delivered on channel 1): 1 is cancelled.
  assert.is(aligner.onBarrier(1, barrier(2)), undefined);
  assert.equal(aligner.blocked, [false, true, false], 'channel 0 is released, channel 1 waits for 2');
  // Late barrier 1 on channel 2 is stale: no block, no completion.
  assert.is(aligner.onBarrier(2, barrier(1)), undefined);
  assert.equal(aligner.blocked, [false, true, false]);
  assert.is(aligner.onBarrier(0, barrier(2)), undefined);
  const done = aligner.onBarrier(2, barrier(2));
  assert.is(done?.checkpointId, 2);
  assert.equal(aligner.blocked, [false, false, false]);
  // And 1 never completes afterwards.
  for (const channel of [0, 1, 2]) assert.is(aligner.onBarrier(channel, barrier(1)), undefined);
  assert.equal(aligner.blocked, [false, false, false]);
});

test('at-least-once: a newer barrier cancels the older unfinished checkpoint, which never completes', () => {
  const aligner = new BarrierAligner(2, 'at-least-once');
  assert.is(aligner.onBarrier(0, barrier(1)), undefined);
  assert.is(aligner.onBarrier(0, barrier(2)), undefined);
  assert.is(aligner.onBarrier(1, barrier(1)), undefined, 'the older checkpoint 1 is cancelled');
  assert.is(aligner.onBarrier(1, barrier(2))?.checkpointId, 2);
});

test('barriers older than or equal to a completed checkpoint are ignored and block nothing', () => {
  const aligner = new BarrierAligner(2, 'aligned');
  aligner.onBarrier(0, barrier(5));
  assert.is(aligner.onBarrier(1, barrier(5))?.checkpointId, 5);
  for (const id of [3, 4, 5]) {
    assert.is(aligner.onBarrier(0, barrier(id)), undefined, `checkpoint ${id}`);
    assert.equal(aligner.blocked, [false, false], `checkpoint ${id}`);
  }
  // A newer one still aligns normally.
  assert.is(aligner.onBarrier(1, barrier(6)), undefined);
  assert.equal(aligner.blocked, [false, true]);
  assert.is(aligner.onBarrier(0, barrier(6))?.checkpointId, 6);
});

test('aligned: end of partition of the last missing channel completes the alignment', () => {
  const aligner = new BarrierAligner(3, 'aligned');
  aligner.onBarrier(0, barrier(1));
  aligner.onBarrier(1, barrier(1));
  assert.equal(aligner.blocked, [true, true, false]);
  const done = aligner.onEndOfPartition(2);
  assert.is(done?.checkpointId, 1);
  assert.equal(aligner.blocked, [false, false, false]);
  assert.not.ok(aligner.aligning);
});

test('end of partition while no alignment is in progress completes nothing', () => {
  const aligner = new BarrierAligner(2, 'aligned');
  assert.is(aligner.onEndOfPartition(1), undefined);
  aligner.onBarrier(0, barrier(1));
  assert.is(aligner.onEndOfPartition(0), undefined, 'checkpoint 1 already completed with one open channel');
});

test('end of partition of a channel while others are still missing the barrier keeps waiting', () => {
  const aligner = new BarrierAligner(4, 'aligned');
  aligner.onBarrier(0, barrier(1));
  assert.is(aligner.onEndOfPartition(3), undefined, 'channels 1 and 2 still owe the barrier');
  assert.equal(aligner.blocked, [true, false, false, false]);
  assert.is(aligner.onBarrier(1, barrier(1)), undefined);
  assert.is(aligner.onBarrier(2, barrier(1))?.checkpointId, 1);
});

test('at-least-once: a channel that delivered the barrier and then ended does not complete the checkpoint before the others deliver it', () => {
  // Unlike aligned mode, a channel is still read after its barrier, so it can end mid-alignment.
  // Completing here would snapshot before channel 1's pre-barrier records were processed, and
  // their effect would be lost on restore (channel 1's producer restores past them).
  const aligner = new BarrierAligner(2, 'at-least-once');
  assert.is(aligner.onBarrier(0, barrier(1)), undefined);
  assert.is(aligner.onEndOfPartition(0), undefined, 'channel 1 has not delivered barrier 1 yet');
  assert.is(aligner.onBarrier(1, barrier(1))?.checkpointId, 1);
});

test('a single channel completes on its own barrier and is never left blocked', () => {
  for (const mode of ['aligned', 'at-least-once'] as const) {
    const aligner = new BarrierAligner(1, mode);
    const b = barrier(9);
    assert.equal(aligner.onBarrier(0, b), b, mode);
    assert.equal(aligner.blocked, [false], mode);
    assert.not.ok(aligner.aligning, mode);
    assert.equal(aligner.onBarrier(0, barrier(10))?.checkpointId, 10, mode);
  }
});

// ---------------------------------------------------------------------------------------------
// Through an InputGate with real rings: one producer (OutputWriter) per channel.

type Event = string;

function eventLog(): InputHandler & { events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    processRecord(record) {
      events.push(String(record));
    },
    processKeyedRecord(record) {
      events.push(String(record));
    },
    processBarrier(b) {
      events.push(`barrier ${b.checkpointId}`);
    },
    processWatermark() {},
    processWatermarkStatus() {},
  };
}

const toOnlyChannel: ChannelSelector = { selectChannel: () => 0, lastKeyGroup: -1 };

function producers(n: number): { rings: SharedArrayBuffer[]; writers: OutputWriter[] } {
  const { rings, outputs } = consumerRings(n);
  const writers = outputs.map((output) => new OutputWriter([output], toOnlyChannel, defaultRecordCodec, () => false, () => {}));
  return { rings, writers };
}

function drain(gate: InputGate, handler: InputHandler): void {
  for (let i = 0; i < 100 && gate.poll(handler, 1000) > 0; i++);
}

test('gate (aligned): records behind a barrier wait until every channel delivered it, while other channels keep flowing', () => {
  const { rings, writers } = producers(3);
  const [a, b, c] = writers as [OutputWriter, OutputWriter, OutputWriter];
  a.emit('a1');
  a.emitBarrier(barrier(1));
  a.emit('a2');
  a.flush();
  b.emit('b1');
  b.emit('b2');
  b.flush();
  c.emit('c1');
  c.flush();
  const gate = new InputGate(rings, defaultRecordCodec, 'aligned');
  const handler = eventLog();
  drain(gate, handler);
  assert.equal(handler.events.sort(), ['a1', 'b1', 'b2', 'c1'], 'a2 is held back behind barrier 1');
  assert.not.ok(gate.hasData(), 'the blocked channel does not count as having data');

  b.emitBarrier(barrier(1));
  b.emit('b3');
  b.flush();
  c.emit('c2');
  c.flush();
  handler.events.length = 0;
  drain(gate, handler);
  assert.equal(handler.events.sort(), ['c2'], 'a2 and b3 wait, c keeps flowing');

  c.emitBarrier(barrier(1));
  c.emit('c3');
  c.flush();
  handler.events.length = 0;
  drain(gate, handler);
  assert.is(handler.events[0], 'barrier 1', 'the barrier is processed before any post-barrier record');
  assert.equal(handler.events.filter((e) => e.startsWith('barrier')), ['barrier 1'], 'processBarrier is called once');
  assert.equal(handler.events.slice(1).sort(), ['a2', 'b3', 'c3']);
});

test('gate (aligned): the alignment completes when the last missing channel ends, then the held records flow', () => {
  const { rings, writers } = producers(2);
  const [a, b] = writers as [OutputWriter, OutputWriter];
  a.emitBarrier(barrier(3));
  a.emit('a-after');
  a.flush();
  b.emit('b-last');
  b.flush();
  const gate = new InputGate(rings, defaultRecordCodec, 'aligned');
  const handler = eventLog();
  drain(gate, handler);
  assert.equal(handler.events, ['b-last']);
  b.endOfPartition();
  b.flush();
  drain(gate, handler);
  assert.equal(handler.events, ['b-last', 'barrier 3', 'a-after']);
});

test('gate (at-least-once): records after a barrier keep flowing on every channel and the barrier completes on the last channel', () => {
  const { rings, writers } = producers(2);
  const [a, b] = writers as [OutputWriter, OutputWriter];
  a.emit('a1');
  a.emitBarrier(barrier(1));
  a.emit('a2');
  a.emit('a3');
  a.flush();
  b.emit('b1');
  b.flush();
  const gate = new InputGate(rings, defaultRecordCodec, 'at-least-once');
  const handler = eventLog();
  drain(gate, handler);
  assert.equal([...handler.events].sort(), ['a1', 'a2', 'a3', 'b1'], 'nothing is held back');
  b.emitBarrier(barrier(1));
  b.emit('b2');
  b.flush();
  drain(gate, handler);
  assert.equal(handler.events.slice(4), ['barrier 1', 'b2']);
  assert.equal(handler.events.filter((e) => e.startsWith('barrier')), ['barrier 1']);
});

test('gate (at-least-once): a channel that ends right after its barrier does not complete the checkpoint before the other channel’s barrier', () => {
  const { rings, writers } = producers(2);
  const [a, b] = writers as [OutputWriter, OutputWriter];
  a.emitBarrier(barrier(1));
  a.endOfPartition();
  a.flush();
  const gate = new InputGate(rings, defaultRecordCodec, 'at-least-once');
  const handler = eventLog();
  drain(gate, handler);
  assert.equal(handler.events, [], 'channel 1 has not delivered barrier 1 yet');
  b.emit('b-before');
  b.emitBarrier(barrier(1));
  b.flush();
  drain(gate, handler);
  assert.equal(handler.events, ['b-before', 'barrier 1'], 'the snapshot must include b-before');
});

test.run();
