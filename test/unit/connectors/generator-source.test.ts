import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GeneratorSource, GENERATOR_BATCH_SIZE } from '../../../src/connectors/generator/generator-source.ts';
import type { PollStatus, SourceReader } from '../../../src/task/source.ts';
import { throwsCode as expectCode } from '../../helpers/errors.ts';

function context(subtaskIndex: number, parallelism: number) {
  return { subtaskIndex, parallelism, operatorId: 'gen' };
}

/** Polls until 'end' (failing on a wait status), returning the records and the poll statuses. */
function drain<T>(reader: SourceReader<T>, maxPolls = 100_000): { records: T[]; statuses: PollStatus[] } {
  const records: T[] = [];
  const statuses: PollStatus[] = [];
  const output = { collect: (record: T) => records.push(record) };
  for (let i = 0; i < maxPolls; i++) {
    const status = reader.pollNext(output);
    statuses.push(status);
    if (status === 'end') return { records, statuses };
    assert.is(status, 'more');
  }
  throw new Error('reader did not end');
}


for (const parallelism of [1, 2, 3, 4, 7]) {
  test(`bounded ranges at parallelism ${parallelism} partition [0, count) exactly, contiguous and in order`, () => {
    for (const count of [0, 1, 5, 1000, 2049]) {
      const source = new GeneratorSource({ count, generate: (i) => i });
      const all: number[] = [];
      for (let s = 0; s < parallelism; s++) {
        const { records } = drain(source.createReader(context(s, parallelism)));
        const start = Math.floor((s * count) / parallelism);
        const end = Math.floor(((s + 1) * count) / parallelism);
        assert.equal(records, Array.from({ length: end - start }, (_, k) => start + k));
        all.push(...records);
      }
      assert.equal(all, Array.from({ length: count }, (_, i) => i));
    }
  });
}

test('record i is generate(i)', () => {
  const source = new GeneratorSource({ count: 3, generate: (i) => ({ id: i, name: `n${i}` }) });
  assert.equal(drain(source.createReader(context(0, 1))).records, [
    { id: 0, name: 'n0' },
    { id: 1, name: 'n1' },
    { id: 2, name: 'n2' },
  ]);
});

test('a poll emits at most one batch of 1,024 records', () => {
  const source = new GeneratorSource({ count: 3000, generate: (i) => i });
  const reader = source.createReader(context(0, 1));
  const batches: number[] = [];
  let last = 0;
  const records: number[] = [];
  const output = { collect: (r: number) => records.push(r) };
  let status: PollStatus;
  do {
    status = reader.pollNext(output);
    batches.push(records.length - last);
    last = records.length;
  } while (status !== 'end');
  assert.equal(batches, [GENERATOR_BATCH_SIZE, GENERATOR_BATCH_SIZE, 3000 - 2 * GENERATOR_BATCH_SIZE]);
  assert.is(reader.pollNext(output), 'end');
});

test('unbounded subtasks stride by the parallelism and never end', () => {
  const source = new GeneratorSource({ generate: (i) => i });
  const seen = new Set<number>();
  for (let s = 0; s < 3; s++) {
    const reader = source.createReader(context(s, 3));
    const records: number[] = [];
    assert.is(reader.pollNext({ collect: (r) => records.push(r) }), 'more');
    assert.is(records.length, GENERATOR_BATCH_SIZE);
    assert.equal(records.slice(0, 4), [s, s + 3, s + 6, s + 9]);
    assert.is(reader.position, s + 3 * GENERATOR_BATCH_SIZE);
    for (const r of records) seen.add(r);
  }
  for (let i = 0; i < 3 * GENERATOR_BATCH_SIZE; i++) assert.ok(seen.has(i), `index ${i} emitted`);
});

test('snapshotState gives the remaining split, and a reader restored from it continues exactly there', () => {
  const source = new GeneratorSource({ count: 3000, generate: (i) => i });
  const reader = source.createReader(context(1, 2)); // owns [1500, 3000)
  const first: number[] = [];
  reader.pollNext({ collect: (r) => first.push(r) });
  assert.equal(reader.snapshotState(), [{ next: 1500 + GENERATOR_BATCH_SIZE, step: 1, end: 3000 }]);
  const restored = source.createReader({ ...context(0, 1), restoredState: reader.snapshotState() });
  assert.equal(drain(restored).records, Array.from({ length: 3000 - 1500 - GENERATOR_BATCH_SIZE }, (_, i) => 1500 + GENERATOR_BATCH_SIZE + i));
  assert.equal(restored.snapshotState(), []);
});

test('a reader holding several splits emits all of them, taking turns', () => {
  const source = new GeneratorSource({ generate: (i) => i });
  // Two unbounded splits of a parallelism-2 job, restored into one subtask.
  const reader = source.createReader({ ...context(0, 1), restoredState: [{ next: 0, step: 2, end: null }, { next: 1, step: 2, end: null }] });
  const records: number[] = [];
  reader.pollNext({ collect: (r) => records.push(r) });
  reader.pollNext({ collect: (r) => records.push(r) });
  assert.is(records.length, 2 * GENERATOR_BATCH_SIZE);
  assert.equal(records.slice(0, 2), [0, 2]);
  assert.equal(records.slice(GENERATOR_BATCH_SIZE, GENERATOR_BATCH_SIZE + 2), [1, 3]);
  assert.equal(reader.snapshotState(), [
    { next: 2 * GENERATOR_BATCH_SIZE, step: 2, end: null },
    { next: 1 + 2 * GENERATOR_BATCH_SIZE, step: 2, end: null },
  ]);
});

test('a restored split that is malformed is a clear error', () => {
  const source = new GeneratorSource({ count: 10, generate: (i) => i });
  expectCode(() => source.createReader({ ...context(0, 1), restoredState: [{ next: -1, step: 1, end: 10 }] }), 'WEIR_SOURCE_FAILED', /cannot restore the split/);
});

test('ratePerSecond is shared by the subtasks and returns the wait when ahead of the clock', () => {
  let now = 1000;
  // 400/s over 2 subtasks = 200/s each = one record per 5 ms.
  const source = new GeneratorSource({ count: 100, ratePerSecond: 400, generate: (i) => i, now: () => now });
  const reader = source.createReader(context(0, 2));
  const records: number[] = [];
  const output = { collect: (r: number) => records.push(r) };
  assert.is(reader.pollNext(output), 5, 'first record at once, next due in 5 ms');
  assert.equal(records, [0]);
  now += 2;
  assert.is(reader.pollNext(output), 3, 'still ahead: wait the remaining 3 ms');
  assert.equal(records, [0]);
  now += 3;
  assert.is(reader.pollNext(output), 5);
  assert.equal(records, [0, 1]);
  now += 21; // 4 more records due (at +10, +15, +20, +25 from start)
  assert.is(reader.pollNext(output), 4);
  assert.equal(records, [0, 1, 2, 3, 4, 5]);
});

test('rate limiting caps the catch-up after a stall at one second of records', () => {
  let now = 0;
  const source = new GeneratorSource({ ratePerSecond: 100, generate: (i) => i, now: () => now });
  const reader = source.createReader(context(0, 1));
  const records: number[] = [];
  const output = { collect: (r: number) => records.push(r) };
  reader.pollNext(output);
  now += 60_000; // a minute without polls
  reader.pollNext(output);
  assert.is(records.length, 1 + 100);
  const status = reader.pollNext(output);
  assert.type(status, 'number');
  assert.is(records.length, 101);
});

test('options are validated with messages naming the option', () => {
  const generate = (i: number) => i;
  expectCode(
    () => new GeneratorSource({ count: -1, generate }),
    'WEIR_INVALID_OPTION',
    /^GeneratorSource options.count must be a non-negative integer, got -1$/,
  );
  expectCode(() => new GeneratorSource({ count: 1.5, generate }), 'WEIR_INVALID_OPTION', /got 1.5/);
  expectCode(() => new GeneratorSource({ count: 2 ** 53, generate }), 'WEIR_INVALID_OPTION', /options.count/);
  for (const rate of [0, -3, Infinity, NaN, '5']) {
    expectCode(
      () => new GeneratorSource({ ratePerSecond: rate as number, generate }),
      'WEIR_INVALID_OPTION',
      /options.ratePerSecond must be a positive finite number/,
    );
  }
  expectCode(
    () => new GeneratorSource({ generate: 'x' as unknown as () => number }),
    'WEIR_INVALID_OPTION',
    /options.generate must be a function, got "x"/,
  );
  expectCode(() => new GeneratorSource(undefined as never), 'WEIR_INVALID_OPTION', /options must be an object/);
});

test('large counts split without precision loss', () => {
  const count = Number.MAX_SAFE_INTEGER;
  const source = new GeneratorSource({ count, generate: (i) => i });
  const last = source.createReader({ ...context(6, 7), restoredState: [{ next: count - 1, step: 1, end: count }] });
  assert.equal(drain(last).records, [count - 1]);
  assert.equal(source.initialSplit(6, 7).end, count);
});

test.run();
