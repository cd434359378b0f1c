import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NexmarkGenerator } from '../../../src/connectors/nexmark/generator.ts';
import type { NexmarkEvent } from '../../../src/connectors/nexmark/model.ts';
import { NexmarkSource, NEXMARK_BATCH_SIZE, type NexmarkSplit } from '../../../src/connectors/nexmark/nexmark-source.ts';
import type { PollStatus, SourceReader } from '../../../src/task/source.ts';
import { throwsCode } from '../../helpers/errors.ts';
import { nexmarkEvents } from '../../helpers/nexmark-reference.ts';

function context(subtaskIndex: number, parallelism: number, restoredState?: unknown[]) {
  return { subtaskIndex, parallelism, operatorId: 'nexmark', ...(restoredState === undefined ? {} : { restoredState }) };
}

/** Polls until 'end' (failing on a wait status), returning the events. */
function drain(reader: SourceReader<NexmarkEvent>, maxPolls = 100_000): NexmarkEvent[] {
  const events: NexmarkEvent[] = [];
  const output = { collect: (event: NexmarkEvent) => events.push(event) };
  for (let i = 0; i < maxPolls; i++) {
    const status = reader.pollNext(output);
    if (status === 'end') return events;
    assert.is(status, 'more');
  }
  throw new Error('reader did not end');
}

/** Maps each event back to its event number (every generated event is distinct text). */
function numberer(count: number, options = {}): (event: NexmarkEvent) => number {
  const index = new Map(nexmarkEvents(count, options).map((event, n) => [JSON.stringify(event), n]));
  assert.is(index.size, count, 'generated events are distinct');
  return (event) => {
    const n = index.get(JSON.stringify(event));
    if (n === undefined) throw new Error(`unknown event ${JSON.stringify(event).slice(0, 80)}`);
    return n;
  };
}

const COUNT = 10_000;
const numberOf = numberer(COUNT);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const isIncreasing = (values: readonly number[]) => values.every((v, i) => i === 0 || v > values[i - 1]!);

for (const parallelism of [1, 2, 3]) {
  test(`at parallelism ${parallelism} the subtasks emit events 0 … count−1 exactly once, each in increasing order`, () => {
    const source = new NexmarkSource({ count: COUNT });
    const all: number[] = [];
    for (let s = 0; s < parallelism; s++) {
      const numbers = drain(source.createReader(context(s, parallelism))).map(numberOf);
      assert.ok(isIncreasing(numbers), `subtask ${s} in order`);
      assert.ok(numbers.every((n) => n % parallelism === s), `subtask ${s} owns its residue class`);
      all.push(...numbers);
    }
    assert.equal(all.sort((a, b) => a - b), range(COUNT));
  });
}

test('event n of the source is eventAt(n) of a generator with the same options', () => {
  const options = { seed: 99, eventsPerSecond: 500, firstEventTimestamp: 0 };
  const source = new NexmarkSource({ ...options, count: 300 });
  const generator = new NexmarkGenerator(options);
  assert.equal(drain(source.createReader(context(0, 1))), range(300).map((n) => generator.eventAt(n)));
  assert.is(source.count, 300);
  assert.is(source.config.eventsPerSecond, 500);
});

test('a subtask beyond the count ends at once; count 0 emits nothing', () => {
  assert.equal(drain(new NexmarkSource({ count: 2 }).createReader(context(2, 3))), []);
  assert.equal(drain(new NexmarkSource({ count: 0 }).createReader(context(0, 1))), []);
});

test('a poll emits at most one batch; an unbounded source never ends', () => {
  const reader = new NexmarkSource().createReader(context(1, 2));
  const events: NexmarkEvent[] = [];
  for (let i = 0; i < 3; i++) assert.is(reader.pollNext({ collect: (e) => events.push(e) }), 'more');
  assert.is(events.length, 3 * NEXMARK_BATCH_SIZE);
  assert.is(reader.position, 1 + 2 * 3 * NEXMARK_BATCH_SIZE);
  assert.equal(reader.snapshotState(), [{ split: 1, splits: 2, next: 1 + 6 * NEXMARK_BATCH_SIZE }]);
});

/**
 * Runs `parallelism` readers a few polls each, checkpoints them, restores the snapshot
 * dealt round robin over `newParallelism` readers, and drains those: the events before the
 * checkpoint plus those after must be 0 … count−1 exactly once, each reader in order.
 */
function checkpointAndRescale(parallelism: number, newParallelism: number, pollsBefore: number[]): void {
  const source = new NexmarkSource({ count: COUNT });
  const before: number[] = [];
  const entries: unknown[][] = [];
  for (let s = 0; s < parallelism; s++) {
    const reader = source.createReader(context(s, parallelism));
    for (let i = 0; i < pollsBefore[s]!; i++) reader.pollNext({ collect: (e) => before.push(numberOf(e)) });
    entries.push(reader.snapshotState());
  }
  const splits = entries.flat() as NexmarkSplit[];
  assert.ok(splits.some((s) => s.next > s.split), 'some split was checkpointed part-way');
  const dealt: unknown[][] = Array.from({ length: newParallelism }, () => []);
  splits.forEach((entry, i) => dealt[i % newParallelism]!.push(entry));
  const after: number[] = [];
  for (let s = 0; s < newParallelism; s++) {
    // Through JSON, as a checkpoint stores it.
    const restored = JSON.parse(JSON.stringify(dealt[s])) as NexmarkSplit[];
    const numbers = drain(source.createReader(context(s, newParallelism, restored))).map(numberOf);
    assert.ok(isIncreasing(numbers), `restored subtask ${s} in order`);
    after.push(...numbers);
  }
  assert.equal([...before, ...after].sort((a, b) => a - b), range(COUNT), `${parallelism} → ${newParallelism}`);
  assert.ok(before.length > 0 && after.length > 0);
}

test('a restore at the same parallelism resumes exactly after the checkpoint', () => {
  checkpointAndRescale(2, 2, [1, 0]);
  checkpointAndRescale(1, 1, [2]);
});

test('a restore at another parallelism neither loses nor repeats an event', () => {
  checkpointAndRescale(3, 2, [1, 0, 1]);
  checkpointAndRescale(3, 1, [1, 1, 0]);
  checkpointAndRescale(2, 3, [1, 1]);
});

test('a reader holding several splits interleaves them in event-number order', () => {
  const source = new NexmarkSource({ count: 40 });
  const reader = source.createReader(context(0, 1, [{ split: 2, splits: 4, next: 10 }, { split: 0, splits: 4, next: 4 }]));
  const numbers = drain(reader).map(numberOf);
  assert.equal(numbers, [4, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38]);
  assert.equal(reader.snapshotState(), []);
});

test('a snapshot after the end is empty, so a restore from it emits nothing', () => {
  const source = new NexmarkSource({ count: 10 });
  const reader = source.createReader(context(0, 1));
  drain(reader);
  assert.equal(reader.snapshotState(), []);
  assert.equal(drain(source.createReader(context(0, 1, []))), []);
});

test('a restored split that is malformed is a clear error', () => {
  const source = new NexmarkSource({ count: 10 });
  for (const bad of [{ split: 1, splits: 2, next: 4 }, { split: 2, splits: 2, next: 2 }, { split: 0, splits: 0, next: 0 }, { next: 3 }, null]) {
    throwsCode(() => source.createReader(context(0, 1, [bad])), 'WEIR_SOURCE_FAILED', /NexmarkSource cannot restore the split/);
  }
});

test('ratePerSecond is shared by the subtasks and returns the wait when ahead of the clock', () => {
  let now = 1000;
  // 400/s over 2 subtasks = 200/s each = one event per 5 ms.
  const source = new NexmarkSource({ ratePerSecond: 400, now: () => now });
  const reader = source.createReader(context(0, 2));
  const events: NexmarkEvent[] = [];
  const output = { collect: (e: NexmarkEvent) => events.push(e) };
  assert.is(reader.pollNext(output), 5, 'first event at once, next due in 5 ms');
  assert.is(events.length, 1);
  now += 2;
  assert.is(reader.pollNext(output), 3, 'still ahead: wait the remaining 3 ms');
  assert.is(events.length, 1);
  now += 23; // 5 more events due (at +5 … +25 from the start)
  assert.is(reader.pollNext(output), 5);
  assert.equal(events.map(numberOf), [0, 2, 4, 6, 8, 10]);
  now += 60_000; // a minute without polls: catch up one second of events at most
  const statuses: PollStatus[] = [reader.pollNext(output)];
  assert.is(events.length, 6 + 200);
  statuses.push(reader.pollNext(output));
  assert.type(statuses[1], 'number');
});

test('invalid options fail with WEIR_INVALID_OPTION naming the option', () => {
  throwsCode(() => new NexmarkSource({ count: -1 }), 'WEIR_INVALID_OPTION', /NexmarkSource options\.count must be a non-negative integer, got -1/);
  throwsCode(() => new NexmarkSource({ ratePerSecond: 0 }), 'WEIR_INVALID_OPTION', /NexmarkSource options\.ratePerSecond/);
  throwsCode(() => new NexmarkSource({ seed: 0.5 }), 'WEIR_INVALID_OPTION', /NexmarkSource options\.seed must be a safe integer/);
  throwsCode(() => new NexmarkSource({ eventsPerSecond: -5 }), 'WEIR_INVALID_OPTION', /NexmarkSource options\.eventsPerSecond/);
  throwsCode(() => new NexmarkSource({ now: 5 as unknown as () => number }), 'WEIR_INVALID_OPTION', /options\.now must be a function/);
});

test.run();
