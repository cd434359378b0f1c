// Event time exactly-once under worker kills: the event-time fixture jobs (bucket timers with a
// side output, the two-input join) with checkpoints, on heap and lsm — the timers are keyed state,
// restored after each kill — compared with the failure-free output exactly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { run } from '../../src/index.ts';
import { expectedBuckets, expectedFlags, expectedJoin, sameLines } from '../helpers/event-time.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';
import { committedLines, hiddenParts, testSeed } from '../helpers/running-count.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const JOB = fixtureJob('event-time.ts');
const makeDir = tempDirs(test, 'weir-event-time-');

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
