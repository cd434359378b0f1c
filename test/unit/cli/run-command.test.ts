import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import { UsageError, flagsToOptions, parseParams } from '../../../src/cli/run-command.ts';

/** Flag mistakes are UsageErrors (exit 2 in the CLI), which are WeirErrors with a code. */
function throwsCode(fn: () => unknown, code: string, message?: RegExp): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, UsageError);
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, code);
    if (message) assert.match((error as WeirError).message, message);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('parseParams of no --param is an empty object', () => {
  assert.equal(parseParams(undefined), {});
  assert.equal(parseParams([]), {});
});

test('parseParams takes one or many key=value pairs; a later key wins', () => {
  assert.equal(parseParams('out=/tmp/x'), { out: '/tmp/x' });
  assert.equal(parseParams(['a=1', 'b=2', 'a=3']), { a: '3', b: '2' });
});

test('parseParams splits at the first "=" and keeps the rest of the value, empty values included', () => {
  assert.equal(parseParams(['query=a=b&c=d', 'empty=', 'eq==']), { query: 'a=b&c=d', empty: '', eq: '=' });
});

test('parseParams rejects a bare number the argument parser converted, quoting it as text', () => {
  throwsCode(() => parseParams([5 as unknown as string]), 'WEIR_INVALID_ARGUMENT', /--param expects key=value, got "5"/);
});

test('parseParams rejects an entry without "=" or with an empty key, quoting it', () => {
  throwsCode(() => parseParams('novalue'), 'WEIR_INVALID_ARGUMENT', /^--param expects key=value, got "novalue"/);
  throwsCode(() => parseParams(['a=1', '=x']), 'WEIR_INVALID_ARGUMENT', /got "=x"/);
  throwsCode(() => parseParams(['']), 'WEIR_INVALID_ARGUMENT', /got ""/);
});

test('flagsToOptions parses numeric flags given as strings or numbers', () => {
  assert.equal(flagsToOptions({ parallelism: '4', maxParallelism: 256, ringBytes: '65536', recordCodec: 'json', param: ['k=v'] }), {
    params: { k: 'v' },
    parallelism: 4,
    maxParallelism: 256,
    ringBytes: 65536,
    recordCodec: 'json',
  });
});

test('flagsToOptions leaves absent flags unset so run() applies its defaults', () => {
  const options = flagsToOptions({});
  assert.equal(options, { params: {} });
  assert.not.ok('parallelism' in options);
  assert.not.ok('ringBytes' in options);
});

test('flagsToOptions rejects non-integer numbers, naming the flag as typed on the command line', () => {
  const cases: Array<[Parameters<typeof flagsToOptions>[0], RegExp]> = [
    [{ parallelism: 'four' }, /^--parallelism expects an integer, got "four"/],
    [{ parallelism: '1.5' }, /^--parallelism expects an integer, got "1.5"/],
    [{ maxParallelism: 'x' }, /^--max-parallelism expects an integer, got "x"/],
    [{ ringBytes: '64k' }, /^--ring-bytes expects an integer, got "64k"/],
    [{ ringBytes: 2.5 }, /^--ring-bytes expects an integer, got "2.5"/],
  ];
  for (const [flags, message] of cases) throwsCode(() => flagsToOptions(flags), 'WEIR_INVALID_ARGUMENT', message);
});

test('--debloat is Flink’s defaults; --debloat-target sets the target and implies debloating', () => {
  assert.equal(flagsToOptions({ debloat: true }).debloat, true);
  assert.equal(flagsToOptions({ debloatTarget: '200ms' }).debloat, { targetMs: 200 });
  assert.equal(flagsToOptions({ debloat: true, debloatTarget: '1.5s' }).debloat, { targetMs: 1500 });
  assert.equal(flagsToOptions({ debloatTarget: 300 }).debloat, { targetMs: 300 }, 'a plain number is ms');
  assert.not.ok('debloat' in flagsToOptions({}));
});

test('--debloat-target rejects what is not a positive duration, naming the flag', () => {
  throwsCode(() => flagsToOptions({ debloatTarget: '0ms' }), 'WEIR_INVALID_ARGUMENT', /^--debloat-target must be a positive duration, got "0ms"/);
  try {
    flagsToOptions({ debloatTarget: 'fast' });
    assert.unreachable('expected an error');
  } catch (error) {
    assert.instance(error, WeirError);
    assert.match((error as WeirError).message, /--debloat-target/);
  }
});

test.run();
