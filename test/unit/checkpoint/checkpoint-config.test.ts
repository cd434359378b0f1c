import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHECKPOINT_DEFAULTS, MIN_CHECKPOINT_INTERVAL_MS, resolveCheckpointing } from '../../../src/checkpoint/checkpoint-config.ts';
import { WeirError } from '../../../src/errors.ts';

function invalidOption(options: unknown, message: RegExp, option?: string): void {
  try {
    resolveCheckpointing(options);
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_INVALID_OPTION');
    assert.match((error as WeirError).message, message);
    if (option !== undefined) assert.is((error as WeirError).context.option, option);
    return;
  }
  assert.unreachable(`expected WEIR_INVALID_OPTION for ${JSON.stringify(options)}`);
}

test('without checkpointing options checkpointing is off', () => {
  assert.is(resolveCheckpointing(undefined), undefined);
});

test('an interval alone gets Flink’s defaults for everything else', () => {
  assert.equal(resolveCheckpointing({ interval: 5000 }), {
    interval: 5000,
    timeout: 600_000,
    minPause: 0,
    maxConcurrent: 1,
    tolerableFailures: 0,
    retention: 'delete-on-cancel',
    numRetained: 1,
    mode: 'exactly-once',
    directory: undefined,
    jobName: undefined,
    resumeFrom: undefined,
    unaligned: false,
    alignedTimeout: undefined,
  });
  assert.equal(CHECKPOINT_DEFAULTS, {
    timeout: 600_000,
    minPause: 0,
    maxConcurrent: 1,
    tolerableFailures: 0,
    retention: 'delete-on-cancel',
    numRetained: 1,
    mode: 'exactly-once',
  });
});

test('every option given is kept as given', () => {
  const options = {
    interval: 10,
    timeout: 1,
    minPause: 7,
    maxConcurrent: 3,
    tolerableFailures: 4,
    retention: 'retain-on-cancel' as const,
    numRetained: 5,
    mode: 'at-least-once' as const,
    directory: '/tmp/chk',
    jobName: 'my.job_1-x',
    resumeFrom: 'latest',
    unaligned: false,
    alignedTimeout: undefined,
  };
  assert.equal(resolveCheckpointing(options), options);
  assert.equal(resolveCheckpointing({ interval: 100, resumeFrom: '/tmp/chk/job/chk-3' })?.resumeFrom, '/tmp/chk/job/chk-3');
});

test('the interval is required and at least 10 ms', () => {
  assert.is(MIN_CHECKPOINT_INTERVAL_MS, 10);
  invalidOption({}, /^options\.checkpointing\.interval must be set \(milliseconds\) to enable checkpointing, got undefined$/, 'checkpointing.interval');
  invalidOption({ interval: 9 }, /^options\.checkpointing\.interval must be an integer ≥ 10, got 9$/, 'checkpointing.interval');
  invalidOption({ interval: 10.5 }, /options\.checkpointing\.interval must be an integer ≥ 10, got 10\.5/);
  invalidOption({ interval: '1000' }, /options\.checkpointing\.interval must be an integer ≥ 10, got "1000"/);
  invalidOption({ interval: Number.NaN }, /options\.checkpointing\.interval .* got NaN/);
  assert.is(resolveCheckpointing({ interval: 10 })?.interval, 10);
});

test('numeric options are validated with messages naming options.checkpointing.<field> and the lower bound', () => {
  const cases: Array<[string, unknown, number]> = [
    ['timeout', 0, 1],
    ['timeout', -5, 1],
    ['minPause', -1, 0],
    ['minPause', 1.5, 0],
    ['maxConcurrent', 0, 1],
    ['tolerableFailures', -1, 0],
    ['tolerableFailures', 'many', 0],
    ['numRetained', 0, 1],
    ['numRetained', Infinity, 1],
  ];
  for (const [field, value, min] of cases) {
    invalidOption(
      { interval: 1000, [field]: value },
      new RegExp(`^options\\.checkpointing\\.${field} must be an integer ≥ ${min}, got `),
      `checkpointing.${field}`,
    );
  }
  assert.is(resolveCheckpointing({ interval: 1000, minPause: 0, tolerableFailures: 0 })?.minPause, 0);
});

test('enumerated and string options are validated with messages naming the field', () => {
  invalidOption({ interval: 1000, mode: 'exactly_once' }, /^options\.checkpointing\.mode must be 'exactly-once' or 'at-least-once', got "exactly_once"$/, 'checkpointing.mode');
  invalidOption({ interval: 1000, retention: 'keep' }, /^options\.checkpointing\.retention must be 'delete-on-cancel' or 'retain-on-cancel', got "keep"$/, 'checkpointing.retention');
  invalidOption({ interval: 1000, directory: '' }, /^options\.checkpointing\.directory must be a non-empty string, got ""$/, 'checkpointing.directory');
  invalidOption({ interval: 1000, directory: 42 }, /options\.checkpointing\.directory must be a non-empty string, got 42/);
  invalidOption({ interval: 1000, jobName: 'a/b' }, /^options\.checkpointing\.jobName must be letters, digits, '\.', '_' or '-', got "a\/b"$/, 'checkpointing.jobName');
  invalidOption({ interval: 1000, resumeFrom: '' }, /options\.checkpointing\.resumeFrom must be a non-empty string/, 'checkpointing.resumeFrom');
});

test('unknown keys are rejected, naming the key and the known ones', () => {
  invalidOption({ interval: 1000, intervall: 5 }, /^unknown option 'checkpointing\.intervall' \(known: interval, timeout, .*resumeFrom\)$/, 'checkpointing.intervall');
  invalidOption({ interval: 1000, unaligned: 'yes' }, /checkpointing\.unaligned must be a boolean/, 'checkpointing.unaligned');
  invalidOption({ interval: 1000, unaligned: true, mode: 'at-least-once' }, /unaligned must be used with mode 'exactly-once'/, 'checkpointing.unaligned');
  invalidOption({ interval: 1000, alignedTimeout: -1 }, /checkpointing\.alignedTimeout must be an integer ≥ 0/, 'checkpointing.alignedTimeout');
  invalidOption({ interval: 1000, alignedTimeout: 100, mode: 'at-least-once' }, /alignedTimeout must be used with mode 'exactly-once'/, 'checkpointing.alignedTimeout');
  invalidOption({ interval: 1000, unaligned: true, maxConcurrent: 2 }, /unaligned must be used with maxConcurrent 1/, 'checkpointing.unaligned');
});

test('checkpointing options must be an object', () => {
  for (const value of [null, 5, 'often', [1000]]) {
    invalidOption(value, /^options\.checkpointing must be an object, got /, 'checkpointing');
  }
});

test("resumeFrom 'latest' needs a directory to look in", () => {
  invalidOption(
    { interval: 1000, resumeFrom: 'latest' },
    /^options\.checkpointing\.resumeFrom must be used with checkpointing\.directory \('latest' looks there\), got "latest"$/,
    'checkpointing.resumeFrom',
  );
  assert.is(resolveCheckpointing({ interval: 1000, resumeFrom: 'latest', directory: '/d' })?.resumeFrom, 'latest');
});

test.run();
