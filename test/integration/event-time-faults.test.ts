// Event time exactly-once under worker kills: the event-time fixture jobs (bucket timers with a
// side output, the two-input join) with checkpoints, on heap and lsm — the timers are keyed state,
// restored after each kill — compared with the failure-free output exactly.
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

for (const stateBackend of ['heap', 'lsm'] as const) {
  test(`exactly-once with worker kills: buckets and side output (${stateBackend}), timers restored from checkpoints`, async () => {
    const seed = testSeed(`event-time buckets ${stateBackend}`);
    const dir = makeDir();
    const out = join(dir, 'out');
    const flags = join(dir, 'flags');
    const result = await within(
      120_000,
      run(JOB, {
        parallelism: 2,
        stateBackend,
        params: { mode: 'buckets', count: '6000', keys: '5', rate: '6000', out, flags },
        checkpointing: { interval: 60, directory: join(dir, 'chk') },
        restartStrategy: { type: 'fixed-delay', attempts: 100, delayMs: 0 },
        faultInjection: { seed, kills: 3, maxDelayMs: 600, points: ['random', 'after-trigger', 'before-notify'] },
      }),
    );
    assert.is(result.status, 'FINISHED');
    assert.ok(result.restarts >= 1, `${result.restarts} restarts`);
    sameLines(committedLines(out), expectedBuckets(6000, 5), 'buckets');
    sameLines(committedLines(flags), expectedFlags(6000, 5), 'flagged side output');
    assert.equal(hiddenParts(out), [], 'no uncommitted part file is left behind');
  });
}

test('exactly-once with worker kills: the two-input join keeps every match and every unmatched order once', async () => {
  const seed = testSeed('event-time join');
  const dir = makeDir();
  const out = join(dir, 'out');
  const result = await within(
    120_000,
    run(JOB, {
      parallelism: 2,
      params: { mode: 'join', count: '4000', rate: '4000', out },
      checkpointing: { interval: 60, directory: join(dir, 'chk') },
      restartStrategy: { type: 'fixed-delay', attempts: 100, delayMs: 0 },
      faultInjection: { seed, kills: 3, maxDelayMs: 600, points: ['random', 'after-trigger', 'before-notify'] },
    }),
  );
  assert.is(result.status, 'FINISHED');
  assert.ok(result.restarts >= 1, `${result.restarts} restarts`);
  sameLines(committedLines(out), expectedJoin(4000), 'join');
});

test.run();
