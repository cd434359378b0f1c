// Event time end to end: watermarks from sources (fromSource with a strategy) and from
// assignTimestampsAndWatermarks, merged across channels, event-time timers in a
// KeyedProcessFunction and a KeyedCoProcessFunction (connect), side outputs — at parallelism 1
// and 2, and exactly-once with worker kills (the timers are keyed state, restored after each).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { run } from '../../src/index.ts';
import {
  BUCKET_MS,
  payment,
  paymentCount,
  reading,
  type Bucket,
  type SeenWatermark,
  type JoinRow,
} from '../fixtures/jobs/event-time.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';
import { committedLines, hiddenParts, testSeed } from '../helpers/running-count.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const JOB = fixtureJob('event-time.ts');
const makeDir = tempDirs(test, 'weir-event-time-');

function expectedBuckets(count: number, keys: number): string[] {
  const sums = new Map<string, Bucket>();
  for (let i = 0; i < count; i++) {
    const r = reading(i, keys);
    const bucket = Math.floor(r.ts / BUCKET_MS) * BUCKET_MS;
    const id = `${r.key}@${bucket}`;
    const row = sums.get(id) ?? { key: r.key, bucket, sum: 0, at: bucket + BUCKET_MS - 1 };
    row.sum += r.v;
    sums.set(id, row);
  }
  return [...sums.values()].map((row) => JSON.stringify(row)).sort();
}

function expectedFlags(count: number, keys: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < count; i++) if (i % 97 === 0) rows.push(JSON.stringify({ key: reading(i, keys).key, v: i }));
  return rows.sort();
}

function expectedJoin(count: number): string[] {
  const amounts = new Map<number, number>();
  for (let j = 0; j < paymentCount(count); j++) amounts.set(payment(j).orderId, payment(j).amount);
  const rows: JoinRow[] = [];
  for (let i = 0; i < count; i++) {
    const amount = amounts.get(i);
    rows.push(amount === undefined ? { orderId: i, unmatched: true } : { orderId: i, amount });
  }
  return rows.map((row) => JSON.stringify(row)).sort();
}

function sameLines(actual: string[], expected: string[], what: string): void {
  if (actual.length === expected.length && actual.every((line, i) => line === expected[i])) return;
  const missing = expected.filter((line) => !actual.includes(line)).slice(0, 3);
  const extra = actual.filter((line) => !expected.includes(line)).slice(0, 3);
  assert.unreachable(`${what}: ${actual.length} lines, expected ${expected.length}; missing e.g. ${missing.join(' ')}; unexpected e.g. ${extra.join(' ')}`);
}

for (const parallelism of [1, 2]) {
  test(`event-time timers close per-key buckets exactly, side output included, at parallelism ${parallelism}`, async () => {
    const dir = makeDir();
    const out = join(dir, 'out');
    const flags = join(dir, 'flags');
    const result = await within(60_000, run(JOB, { parallelism, params: { mode: 'buckets', count: '6000', keys: '5', out, flags } }));
    assert.is(result.status, 'FINISHED');
    sameLines(committedLines(out), expectedBuckets(6000, 5), 'buckets');
    sameLines(committedLines(flags), expectedFlags(6000, 5), 'flagged side output');
  });

  test(`connect + KeyedCoProcessFunction joins two event-time streams, unmatched orders by timer, at parallelism ${parallelism}`, async () => {
    const dir = makeDir();
    const out = join(dir, 'out');
    const result = await within(60_000, run(JOB, { parallelism, params: { mode: 'join', count: '3000', out } }));
    assert.is(result.status, 'FINISHED');
    sameLines(committedLines(out), expectedJoin(3000), 'join');
  });
}

test('intervalJoin pairs each payment with its order within [0, 400] ms, stamped with the later time', async () => {
  const dir = makeDir();
  const out = join(dir, 'out');
  const result = await within(60_000, run(JOB, { parallelism: 2, params: { mode: 'interval', count: '3000', out } }));
  assert.is(result.status, 'FINISHED');
  const expected: string[] = [];
  for (let j = 0; j < paymentCount(3000); j++) {
    const p = payment(j);
    if (p.orderId < 3000) expected.push(JSON.stringify({ orderId: p.orderId, amount: p.amount, ts: Math.max(p.orderId * 10, p.ts) }));
  }
  sameLines(committedLines(out), expected.sort(), 'interval join');
});

test('a ProcessFunction on a stream that is not keyed sees record timestamps and emits to a side output', async () => {
  const dir = makeDir();
  const out = join(dir, 'out');
  const flags = join(dir, 'flags');
  const result = await within(60_000, run(JOB, { parallelism: 2, params: { mode: 'process', count: '3000', out, flags } }));
  assert.is(result.status, 'FINISHED');
  const even: string[] = [];
  const odd7: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const r = reading(i, 5);
    if (i % 2 === 0) even.push(JSON.stringify({ v: i, ts: r.ts }));
    else if (i % 7 === 0) odd7.push(JSON.stringify({ key: r.key, v: i }));
  }
  sameLines(committedLines(out), even.sort(), 'main output');
  sameLines(committedLines(flags), odd7.sort(), 'side output');
});

test('onWatermark sees increasing watermarks, never past the bound, and the final +∞ once per subtask', async () => {
  const count = 4000;
  const result = await within(60_000, run(JOB, { parallelism: 2, params: { mode: 'watermarks', count: String(count), rate: '8000' } }));
  const seen = result.collected.out as SeenWatermark[];
  const maxTs = Math.max(...Array.from({ length: count }, (_, i) => reading(i, 5).ts));
  for (const subtask of [0, 1]) {
    const marks = seen.filter((s) => s.subtask === subtask).map((s) => s.watermark);
    assert.is(marks.at(-1), Infinity, `subtask ${subtask} ends with +∞`);
    assert.ok(marks.every((w, i) => i === 0 || w > marks[i - 1]!), `subtask ${subtask}: strictly increasing`);
    assert.ok(marks.slice(0, -1).every((w) => w <= maxTs - 100 - 1), 'a watermark never passes max timestamp − bound − 1');
    assert.ok(marks.length >= 2, `subtask ${subtask} saw a periodic watermark before the end (${marks.length})`);
  }
});

test.run();
