import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CollectSink, GeneratorSource, defineJob, type StreamExecutionEnvironment } from '../../../src/index.ts';
import { throwsCode } from '../../helpers/errors.ts';
import { planOf } from '../../helpers/plans.ts';

const source = () => new GeneratorSource({ count: 5, generate: (i) => i });

test('defineJob() rejects a non-function, naming defineJob', () => {
  for (const fn of [undefined, null, {}, 'job']) {
    throwsCode(() => defineJob(fn as never), 'WEIR_INVALID_ARGUMENT', /^defineJob\(\) expects a function/);
  }
});

test('a builder that returns a promise (an async builder) is rejected with WEIR_INVALID_JOB', () => {
  throwsCode(
    () =>
      planOf((async (env: StreamExecutionEnvironment) => {
        env.fromSource(source(), 'gen').sinkTo(new CollectSink());
      }) as never),
    'WEIR_INVALID_JOB',
    /must be synchronous/,
  );
  throwsCode(() => planOf((() => ({ then() {} })) as never), 'WEIR_INVALID_JOB', /returned a promise/);
});

test('a builder returning a non-promise value is accepted (e.g. an arrow returning the sink)', () => {
  const plan = planOf((env) => env.fromSource(source(), 'gen').sinkTo(new CollectSink()));
  assert.is(plan.transformations.length, 2);
});

test('each buildPlan call runs the builder afresh: two plans never share transformations', () => {
  let calls = 0;
  const job = defineJob((env) => {
    calls++;
    env.fromSource(source(), 'gen').sinkTo(new CollectSink());
  });
  const a = job.buildPlan({ parallelism: 1, maxParallelism: undefined, params: {} });
  const b = job.buildPlan({ parallelism: 2, maxParallelism: 16, params: {} });
  assert.is(calls, 2);
  assert.is(a.transformations.length, 2);
  assert.is(b.transformations.length, 2);
  assert.is.not(a.transformations[0], b.transformations[0]);
  assert.is(b.maxParallelism, 16);
});

test.run();
