import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, type JobProgress } from '../../src/index.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';

test('onProgress reports the sources’ records and rate while the job runs', async () => {
  const samples: JobProgress[] = [];
  const result = await within(
    60_000,
    run(fixtureJob('failing.ts'), {
      parallelism: 2,
      params: { mode: 'none', failAt: '-1', rate: '20000' },
      onProgress: (p) => samples.push(p),
    }),
  );
  assert.is(result.status, 'FINISHED');
  assert.ok(samples.length >= 2, `${samples.length} samples`);
  const last = samples.at(-1)!;
  assert.ok(last.records > 0 && last.records <= 100_000, `records ${last.records}`);
  assert.ok(samples.some((s) => s.recordsPerSecond > 0));
  // Records never go down within an attempt.
  for (let i = 1; i < samples.length; i++) assert.ok(samples[i]!.records >= samples[i - 1]!.records);
});

test.run();
