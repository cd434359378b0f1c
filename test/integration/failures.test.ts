import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, WeirError } from '../../src/index.ts';
import { fixtureJob, threadResources, within } from '../helpers/jobs.ts';

async function settleThreads(baseline: number): Promise<number> {
  // Thread handles close asynchronously after termination; give them a moment, bounded.
  for (let i = 0; i < 50 && threadResources() > baseline; i++) await new Promise((r) => setTimeout(r, 20));
  return threadResources();
}

test('a user function that throws fails the job with the operator, subtask and original stack', async () => {
  const baseline = threadResources();
  const error = await within(
    60_000,
    run(fixtureJob('failing.ts'), { parallelism: 2, params: { failAt: '777' } }).then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  assert.instance(error, WeirError);
  const weirError = error as WeirError;
  assert.is(weirError.code, 'WEIR_USER_FUNCTION_FAILED');
  assert.is(weirError.context.operatorId, 'explode');
  // 777 % 7 = 0: key group of key 0 decides the subtask; it must be a valid index.
  assert.ok(weirError.context.subtaskIndex === 0 || weirError.context.subtaskIndex === 1);
  assert.match(weirError.message, /boom at 777/);
  const cause = weirError.cause as Error;
  assert.is(cause.name, 'RangeError');
  assert.match(cause.stack ?? '', /explodeAt/);
  assert.match(cause.stack ?? '', /failing\.ts/);
  assert.is(await settleThreads(baseline), baseline, 'no thread left running');
});

test('a worker thread that exits fails the job with WEIR_WORKER_CRASHED', async () => {
  const baseline = threadResources();
  const error = await within(
    60_000,
    run(fixtureJob('failing.ts'), { parallelism: 2, params: { failAt: '300', mode: 'exit' } }).then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  assert.instance(error, WeirError);
  assert.is((error as WeirError).code, 'WEIR_WORKER_CRASHED');
  assert.match((error as WeirError).message, /explode/);
  assert.is(await settleThreads(baseline), baseline, 'no thread left running');
});

test('aborting the signal cancels an unbounded job: run() resolves CANCELED and no thread is left', async () => {
  const baseline = threadResources();
  const controller = new AbortController();
  const job = run(fixtureJob('failing.ts'), {
    parallelism: 2,
    params: { mode: 'unbounded', failAt: '-1' },
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(), 300);
  const result = await within(30_000, job);
  assert.is(result.status, 'CANCELED');
  assert.is(await settleThreads(baseline), baseline, 'no thread left running');
});

test('bad options fail fast with a message naming the option', async () => {
  for (const [options, pattern] of [
    [{ parallelism: 0 }, /options\.parallelism must be an integer between 1 and 1024, got 0/],
    [{ ringBytes: 1000 }, /options\.ringBytes must be a power of two/],
    [{ maxParallelism: 2, parallelism: 4 }, /options\.maxParallelism must be at least options\.parallelism/],
    [{ recordCodec: 'xml' }, /recordCodec/],
    [{ paralelism: 2 }, /unknown option 'paralelism'/],
  ] as const) {
    const error = await run(fixtureJob('word-count.ts'), options as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_INVALID_OPTION');
    assert.match((error as WeirError).message, pattern);
  }
});

test('a module without a defineJob default export is a clear error', async () => {
  const error = await run(fixtureJob('word-count-data.ts')).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.is((error as WeirError).code, 'WEIR_INVALID_JOB');
  assert.match((error as WeirError).message, /default export made by defineJob/);
});

test.run();
