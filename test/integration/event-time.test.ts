// Event time end to end: watermarks from sources (fromSource with a strategy) and from
// assignTimestampsAndWatermarks, merged across channels, event-time timers in a
// KeyedProcessFunction and a KeyedCoProcessFunction (connect), intervalJoin, a ProcessFunction,
// side outputs, onWatermark — at parallelism 1 and 2 (worker kills: event-time-faults.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { run } from '../../src/index.ts';
import { payment, paymentCount, reading, type SeenWatermark } from '../fixtures/jobs/event-time.ts';
import { expectedBuckets, expectedFlags, expectedJoin, sameLines } from '../helpers/event-time.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';
import { committedLines } from '../helpers/running-count.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const JOB = fixtureJob('event-time.ts');
const makeDir = tempDirs(test, 'weir-event-time-');

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
