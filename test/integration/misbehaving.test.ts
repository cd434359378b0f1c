import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run, WeirError } from '../../src/index.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';

async function failure(mode: string): Promise<WeirError> {
  const error = await within(
    60_000,
    run(fixtureJob('misbehaving.ts'), { parallelism: 2, params: { mode } }).then(
      () => undefined,
      (e: unknown) => e,
    ),
  );
  assert.instance(error, WeirError, `mode ${mode} must fail with a WeirError`);
  return error as WeirError;
}

test('a key selector that throws on the sending side names the keyed operator it feeds', async () => {
  const error = await failure('key-selector-throws');
  assert.is(error.code, 'WEIR_USER_FUNCTION_FAILED');
  assert.is(error.context.operatorId, 'sum');
  assert.match(error.message, /keyBy key selector of operator 'sum'.*no key for 500/);
});

test('a processElement that returns a promise fails the job instead of losing its errors', async () => {
  const error = await failure('async-process');
  assert.is(error.code, 'WEIR_USER_FUNCTION_FAILED');
  assert.is(error.context.operatorId, 'async');
  assert.match(error.message, /must be synchronous/);
});

test('a sink whose close() throws fails the job with WEIR_SINK_FAILED', async () => {
  const error = await failure('close-throws');
  assert.is(error.code, 'WEIR_SINK_FAILED');
  assert.is(error.context.operatorId, 'bad-close');
  assert.match(error.message, /close.*cannot close the sink/);
});

test('a sink result that cannot reach the main thread is a sink error, not a crash', async () => {
  const error = await failure('unsendable-result');
  assert.is(error.code, 'WEIR_SINK_FAILED');
  assert.match(error.message, /structured clone/);
});

test('a signal aborted before the job starts ends it CANCELED without starting threads', async () => {
  const controller = new AbortController();
  controller.abort();
  const result = await run(fixtureJob('word-count.ts'), { signal: controller.signal });
  assert.is(result.status, 'CANCELED');
  assert.is(result.metrics.operators.out!.recordsIn, 0);
});

test.run();
