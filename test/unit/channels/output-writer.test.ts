import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import { ALL_CHANNELS, OutputWriter, type ChannelSelector } from '../../../src/channels/output-writer.ts';
import { InputGate } from '../../../src/channels/input-gate.ts';
import { defaultRecordCodec, recordCodecByName } from '../../../src/channels/record-codec.ts';
import { HashPartitioner } from '../../../src/graph/partitioner.ts';
import { canonicalKey, keyGroupOf, keyGroupRangeFor, loadKeyHasher } from '../../../src/state/key-groups.ts';

test.before(async () => {
  await loadKeyHasher();
});
import { collector, consumerRings } from '../../helpers/channels.ts';

interface Rec {
  ch: number;
  seq: number;
  text?: string;
}

const byField: ChannelSelector = { selectChannel: (r) => (r as Rec).ch, lastKeyGroup: -1 };
const notCanceled = () => false;
const noop = () => {};

/** Polls until the gate finishes; fails instead of looping forever when it stalls. */
function drain(gate: InputGate, handler = collector()): unknown[] {
  for (let idle = 0; !gate.finished; ) {
    if (gate.poll(handler, 1000) === 0 && ++idle > 3) assert.unreachable('the gate stalled before finishing');
  }
  return handler.records;
}

test('records fan out to the channels the selector picks and come back in per-channel order', () => {
  const { rings, outputs } = consumerRings(3);
  const writer = new OutputWriter(outputs, byField, defaultRecordCodec, notCanceled, noop);
  assert.is(writer.numberOfChannels, 3);
  const sent: Rec[][] = [[], [], []];
  for (let seq = 0; seq < 900; seq++) {
    const record: Rec = { ch: (seq * 7 + (seq >> 3)) % 3, seq, text: `r${seq}` };
    sent[record.ch]!.push(record);
    writer.emit(record);
  }
  writer.endOfPartition();
  writer.flush();
  const gate = new InputGate(rings, defaultRecordCodec);
  const received = drain(gate) as Rec[];
  assert.is(received.length, 900);
  for (let ch = 0; ch < 3; ch++) {
    assert.equal(
      received.filter((r) => r.ch === ch),
      sent[ch],
      `channel ${ch} delivers its records in order`,
    );
  }
  assert.equal(gate.recordsPerChannel, sent.map((s) => s.length));
});

test('ALL_CHANNELS sends the record to every channel', () => {
  const { rings, outputs } = consumerRings(3);
  const writer = new OutputWriter(outputs, { selectChannel: () => ALL_CHANNELS, lastKeyGroup: -1 }, defaultRecordCodec, notCanceled, noop);
  writer.emit({ ch: -1, seq: 0 });
  writer.emit({ ch: -1, seq: 1 });
  writer.endOfPartition();
  writer.flush();
  const gate = new InputGate(rings, defaultRecordCodec);
  const received = drain(gate);
  assert.is(received.length, 6);
  assert.equal(gate.recordsPerChannel, [2, 2, 2]);
});

test('a writer with one channel sends everything to it without asking the selector', () => {
  const { rings, outputs } = consumerRings(1);
  let asked = 0;
  const selector: ChannelSelector = {
    selectChannel: () => {
      asked++;
      return 5;
    },
    lastKeyGroup: -1,
  };
  const writer = new OutputWriter(outputs, selector, defaultRecordCodec, notCanceled, noop);
  for (let seq = 0; seq < 10; seq++) writer.emit({ ch: 0, seq });
  writer.endOfPartition();
  writer.flush();
  assert.equal((drain(new InputGate(rings, defaultRecordCodec)) as Rec[]).map((r) => r.seq), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.is(asked, 0);
});

test('written records stay invisible to the consumer until flush publishes them', () => {
  const { rings, outputs } = consumerRings(2);
  const writer = new OutputWriter(outputs, byField, defaultRecordCodec, notCanceled, noop);
  writer.emit({ ch: 1, seq: 0 });
  const gate = new InputGate(rings, defaultRecordCodec);
  assert.not.ok(gate.hasData());
  assert.is(gate.poll(collector(), 100), 0);
  writer.flush();
  assert.ok(gate.hasData());
  const handler = collector();
  assert.is(gate.poll(handler, 100), 1);
  assert.equal(handler.records, [{ ch: 1, seq: 0 }]);
});

test('records keep their values through the default codec (strings, numbers, nesting)', () => {
  const { rings, outputs } = consumerRings(1);
  const writer = new OutputWriter(outputs, byField, defaultRecordCodec, notCanceled, noop);
  const values = [{ word: 'héllo', count: 3 }, 'plain', 42, -1.5, [1, 'two', { three: 3 }], null, true];
  for (const v of values) writer.emit(v);
  writer.endOfPartition();
  writer.flush();
  assert.equal(drain(new InputGate(rings, defaultRecordCodec)), values);
});

test('a record larger than the ring’s largest frame throws WEIR_RECORD_TOO_LARGE naming options.ringBytes', () => {
  const { outputs } = consumerRings(1, 1024); // maxPayload = 1024/4 - 4 = 252 bytes
  const writer = new OutputWriter(outputs, byField, defaultRecordCodec, notCanceled, noop);
  writer.emit({ ch: 0, seq: 0, text: 'x'.repeat(200) }); // fits
  try {
    writer.emit({ ch: 0, seq: 1, text: 'x'.repeat(300) });
    assert.unreachable('expected WEIR_RECORD_TOO_LARGE');
  } catch (error) {
    assert.instance(error, WeirError);
    const e = error as WeirError;
    assert.is(e.code, 'WEIR_RECORD_TOO_LARGE');
    assert.match(e.message, /ringBytes/);
    assert.is(e.context.ringBytes, 1024);
    assert.ok((e.context.bytes as number) > 252);
  }
});

test('on a full ring the writer calls beforeBlock, then stops with WEIR_JOB_CANCELED when the job is canceled', () => {
  const { outputs } = consumerRings(1, 1024);
  let beforeBlock = 0;
  const writer = new OutputWriter(outputs, byField, defaultRecordCodec, () => true, () => beforeBlock++);
  let written = 0;
  try {
    for (; written < 1000; written++) writer.emit({ ch: 0, seq: written, text: 'y'.repeat(40) });
    assert.unreachable('a 1 KiB ring cannot hold 1000 records nobody reads');
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_JOB_CANCELED');
  }
  assert.ok(written > 0 && written < 1000, `${written} records fitted`);
  assert.is(beforeBlock, 1);
});

test('backpressure: a writer blocked on a full ring continues once the consumer frees room, losing nothing', () => {
  const { rings, outputs } = consumerRings(2, 1024);
  const gate = new InputGate(rings, defaultRecordCodec);
  const handler = collector();
  let blocked = 0;
  // Single thread: the "consumer" runs when the writer is about to block. beforeBlock must
  // publish what is pending first, so the writer flushes before the gate polls.
  let writer!: OutputWriter;
  writer = new OutputWriter(outputs, byField, defaultRecordCodec, notCanceled, () => {
    blocked++;
    writer.flush();
    while (gate.poll(handler, 1000) > 0);
  });
  const sent: Rec[] = [];
  for (let seq = 0; seq < 500; seq++) {
    const record = { ch: seq % 2, seq, text: 'z'.repeat(seq % 50) };
    sent.push(record);
    writer.emit(record);
  }
  writer.endOfPartition();
  writer.flush();
  drain(gate, handler);
  assert.ok(blocked > 0, 'the rings filled up at least once');
  assert.equal(
    (handler.records as Rec[]).filter((r) => r.ch === 0),
    sent.filter((r) => r.ch === 0),
  );
  assert.equal(
    (handler.records as Rec[]).filter((r) => r.ch === 1),
    sent.filter((r) => r.ch === 1),
  );
  assert.ok(writer.backpressuredMs >= 0);
});

test('end of partition reaches every channel, even ones that never carried a record', () => {
  const { rings, outputs } = consumerRings(4);
  const writer = new OutputWriter(outputs, byField, defaultRecordCodec, notCanceled, noop);
  writer.emit({ ch: 2, seq: 0 });
  writer.endOfPartition();
  writer.flush();
  const gate = new InputGate(rings, defaultRecordCodec);
  assert.equal(drain(gate), [{ ch: 2, seq: 0 }]);
  assert.ok(gate.finished);
  assert.equal(gate.recordsPerChannel, [0, 0, 1, 0]);
});

const owner = { operatorId: 'count', operatorName: 'Count', subtaskIndex: 0 };

test('a keyed writer sends each record with its key group to the owning channel, and the gate hands both over', () => {
  for (const codec of ['binary', 'json', 'v8'].map(recordCodecByName)) {
    for (const maxP of [128, 32768]) {
      const what = `${codec.name} maxP=${maxP}`;
      const { rings, outputs } = consumerRings(3);
      const selector = new HashPartitioner((r) => (r as Rec).text, 3, maxP, owner);
      const writer = new OutputWriter(outputs, selector, codec, notCanceled, noop, true);
      const sent: Rec[] = [];
      for (let seq = 0; seq < 600; seq++) {
        const record: Rec = { ch: -1, seq, text: `key-${seq % 97}${seq % 5 === 0 ? '-ü' : ''}` };
        sent.push(record);
        writer.emit(record);
      }
      writer.endOfPartition();
      writer.flush();
      const received: Rec[] = [];
      // One gate per ring, so each record's channel is known.
      for (let ch = 0; ch < 3; ch++) {
        const handler = collector();
        drain(new InputGate([rings[ch]!], codec), handler);
        const range = keyGroupRangeFor(ch, 3, maxP);
        (handler.records as Rec[]).forEach((record, i) => {
          const keyGroup = keyGroupOf(canonicalKey(record.text), maxP);
          assert.is(handler.keyGroups[i], keyGroup, `${what}: key group of ${record.text}`);
          assert.ok(keyGroup >= range.start && keyGroup <= range.end, `${what}: key group ${keyGroup} on channel ${ch}`);
        });
        received.push(...(handler.records as Rec[]));
      }
      received.sort((a, b) => a.seq - b.seq);
      assert.equal(received, sent, `${what}: records round-trip intact behind the key-group prefix`);
    }
  }
});

test('a keyed writer with one channel still asks the selector, for the key group', () => {
  const { rings, outputs } = consumerRings(1);
  const selector = new HashPartitioner((r) => (r as Rec).seq, 1, 128, owner);
  const writer = new OutputWriter(outputs, selector, defaultRecordCodec, notCanceled, noop, true);
  for (let seq = 0; seq < 20; seq++) writer.emit({ ch: 0, seq });
  writer.endOfPartition();
  writer.flush();
  const handler = collector();
  drain(new InputGate(rings, defaultRecordCodec), handler);
  assert.equal(
    handler.keyGroups,
    Array.from({ length: 20 }, (_, seq) => keyGroupOf(seq, 128)),
  );
});

test('a keyed record too large for the ring throws WEIR_RECORD_TOO_LARGE, counting the key-group prefix', () => {
  const { outputs } = consumerRings(1, 1024);
  const selector = new HashPartitioner(() => 'k', 1, 128, owner);
  const writer = new OutputWriter(outputs, selector, defaultRecordCodec, notCanceled, noop, true);
  try {
    writer.emit('x'.repeat(300));
    assert.unreachable('expected WEIR_RECORD_TOO_LARGE');
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_RECORD_TOO_LARGE');
    assert.is((error as WeirError).context.ringBytes, 1024);
  }
});

test.run();
