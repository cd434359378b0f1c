import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import { RUN_OPTION_DEFAULTS, resolveRunOptions, type RunOptions } from '../../../src/api/options.ts';

function rejects(options: unknown, option: string, message: RegExp): void {
  try {
    resolveRunOptions(options as RunOptions);
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_INVALID_OPTION');
    assert.match((error as WeirError).message, message);
    assert.is((error as WeirError).context.option, option);
    return;
  }
  assert.unreachable(`expected ${JSON.stringify(options)} to be rejected`);
}

test('no options resolve to the documented defaults', () => {
  const expected = {
    parallelism: 1,
    maxParallelism: undefined,
    params: {},
    ringBytes: 256 * 1024,
    debloat: undefined,
    recordCodec: undefined,
    signal: undefined,
    cancelGraceMs: 5000,
    stateBackend: { kind: 'heap' },
    checkpointing: undefined,
    restartStrategy: undefined,
    onWarning: undefined,
    onCheckpoint: undefined,
    onProgress: undefined,
    faultInjection: undefined,
  };
  assert.equal(resolveRunOptions(), expected);
  assert.equal(resolveRunOptions({}), expected);
  assert.equal(RUN_OPTION_DEFAULTS, { parallelism: 1, ringBytes: 262144, cancelGraceMs: 5000 });
});

test('valid options are passed through', () => {
  const signal = new AbortController().signal;
  const resolved = resolveRunOptions({
    parallelism: 4,
    maxParallelism: 64,
    params: { out: '/tmp/x', empty: '' },
    ringBytes: 1024,
    recordCodec: 'json',
    signal,
    cancelGraceMs: 0,
  });
  assert.equal(resolved, {
    parallelism: 4,
    maxParallelism: 64,
    params: { out: '/tmp/x', empty: '' },
    ringBytes: 1024,
    debloat: undefined,
    recordCodec: 'json',
    signal,
    cancelGraceMs: 0,
    stateBackend: { kind: 'heap' },
    checkpointing: undefined,
    restartStrategy: undefined,
    onWarning: undefined,
    onCheckpoint: undefined,
    onProgress: undefined,
    faultInjection: undefined,
  });
});

test('debloat: true takes the defaults, an object is validated field by field, naming the field', () => {
  assert.equal(resolveRunOptions({ debloat: true }).debloat, {});
  assert.is(resolveRunOptions({ debloat: false }).debloat, undefined);
  assert.equal(resolveRunOptions({ debloat: { targetMs: 500, periodMs: 100 } }).debloat, { targetMs: 500, periodMs: 100 });
  rejects({ debloat: 'yes' }, 'debloat', /debloat must be a boolean or an object/);
  rejects({ debloat: { target: 5 } }, 'debloat.target', /unknown option 'debloat\.target' \(known: targetMs/);
  rejects({ debloat: { maxBytes: 2 ** 20 } }, 'debloat.maxBytes', /at most ringBytes/);
  rejects({ debloat: { samples: 0 } }, 'debloat.samples', /samples/);
});

test('params are copied: changing the caller’s object later does not change the job’s params', () => {
  const params = { a: '1' };
  const resolved = resolveRunOptions({ params });
  params.a = '2';
  assert.is(resolved.params.a, '1');
});

test('parallelism must be an integer between 1 and 1024, named in the message', () => {
  for (const bad of [0, -1, 1.5, 1025, NaN, Infinity, '2', null]) {
    rejects({ parallelism: bad }, 'parallelism', /options\.parallelism must be an integer between 1 and 1024/);
  }
  assert.is(resolveRunOptions({ parallelism: 1024 }).parallelism, 1024);
});

test('maxParallelism must be an integer between 1 and 32768 and at least the parallelism', () => {
  for (const bad of [0, 2.5, 32769, '128', -3]) {
    rejects({ maxParallelism: bad }, 'maxParallelism', /options\.maxParallelism must be an integer between 1 and 32768/);
  }
  rejects({ parallelism: 8, maxParallelism: 4 }, 'maxParallelism', /options\.maxParallelism must be at least options\.parallelism \(8\), got 4/);
  assert.is(resolveRunOptions({ parallelism: 8, maxParallelism: 8 }).maxParallelism, 8);
  assert.is(resolveRunOptions({ maxParallelism: 32768 }).maxParallelism, 32768);
});

test('params must be an object of strings, naming the offending key', () => {
  for (const bad of [null, 'a=b', ['a=b'], 5]) rejects({ params: bad }, 'params', /options\.params must be an object of strings/);
  rejects({ params: { good: 'x', port: 8080 } }, 'params.port', /options\.params\.port must be a string, got 8080/);
});

test('ringBytes must be a power of two between 1024 and 2^30', () => {
  for (const bad of [512, 1000, 1536, 2 ** 31, 0, -1024, 1024.5, '4096', NaN]) {
    rejects({ ringBytes: bad }, 'ringBytes', /options\.ringBytes must be a power of two between 1024 and 2\^30/);
  }
  assert.is(resolveRunOptions({ ringBytes: 2 ** 30 }).ringBytes, 2 ** 30);
});

test('recordCodec must be a string', () => {
  rejects({ recordCodec: 3 }, 'recordCodec', /options\.recordCodec must be a codec name, got 3/);
});

test('signal must be an AbortSignal', () => {
  rejects({ signal: { aborted: false } }, 'signal', /options\.signal must be an AbortSignal/);
});

test('cancelGraceMs must be a non-negative finite number', () => {
  for (const bad of [-1, NaN, Infinity, '100']) {
    rejects({ cancelGraceMs: bad }, 'cancelGraceMs', /options\.cancelGraceMs must be a non-negative number of milliseconds/);
  }
  assert.is(resolveRunOptions({ cancelGraceMs: 12.5 }).cancelGraceMs, 12.5);
});

test('a string value is shown quoted in the message, so "2" and 2 are told apart', () => {
  rejects({ parallelism: '2' }, 'parallelism', /got "2"/);
});

test('unknown option keys are rejected, naming the key and listing the known ones', () => {
  rejects({ paralellism: 2 }, 'paralellism', /unknown option 'paralellism' \(known: parallelism, maxParallelism/);
  rejects({ parallelism: 2, checkpointInterval: 10 }, 'checkpointInterval', /unknown option 'checkpointInterval'/);
});

test('options that are not an object are rejected with a message that reads "options must be an object"', () => {
  for (const bad of [null, 5, 'fast']) {
    try {
      resolveRunOptions(bad as RunOptions);
      assert.unreachable('expected a rejection');
    } catch (error) {
      assert.instance(error, WeirError);
      assert.is((error as WeirError).code, 'WEIR_INVALID_OPTION');
      // Not "options. must be an object": the message names the options object itself.
      assert.match((error as WeirError).message, /^options must be an object, got /);
    }
  }
});

test.run();
