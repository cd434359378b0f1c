import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERROR_CODES, WeirError, fromErrorRecord, toErrorRecord, type ErrorRecord } from '../../src/errors.ts';

/** What a record looks like after crossing a thread (structured clone). */
function acrossThreads(error: unknown): Error {
  return fromErrorRecord(structuredClone(toErrorRecord(error)));
}

test('a WeirError takes its retriable flag from its code unless told otherwise', () => {
  assert.is(new WeirError('WEIR_WORKER_CRASHED', 'x').retriable, true);
  assert.is(new WeirError('WEIR_INVALID_OPTION', 'x').retriable, false);
  assert.is(new WeirError('WEIR_INVALID_OPTION', 'x', { retriable: true }).retriable, true);
  assert.is(new WeirError('WEIR_SINK_FAILED', 'x', { retriable: false }).retriable, false);
  const e = new WeirError('WEIR_INTERNAL', 'boom');
  assert.is(e.name, 'WeirError');
  assert.equal(e.context, {});
  assert.is(e.cause, undefined);
  assert.not.ok('cause' in e, 'no cause property when no cause was given');
});

test('a WeirError survives the round trip with code, message, retriable, context and stack', () => {
  const original = new WeirError('WEIR_USER_FUNCTION_FAILED', 'map failed', {
    context: { operatorId: 'map', operatorName: 'Map', subtaskIndex: 2, checkpointId: 7, extra: true },
    retriable: false,
  });
  const rebuilt = acrossThreads(original);
  assert.instance(rebuilt, WeirError);
  const weir = rebuilt as WeirError;
  assert.is(weir.code, 'WEIR_USER_FUNCTION_FAILED');
  assert.is(weir.message, 'map failed');
  assert.is(weir.name, 'WeirError');
  assert.is(weir.retriable, false, 'an explicit retriable overrides the code default on both sides');
  assert.equal(weir.context, { operatorId: 'map', operatorName: 'Map', subtaskIndex: 2, checkpointId: 7, extra: true });
  assert.is(weir.stack, original.stack);
});

test('the cause chain is kept, with each level’s class, code, message and stack', () => {
  const root = new TypeError('x is not a function');
  const middle = new WeirError('WEIR_SINK_FAILED', 'write failed', { cause: root, context: { operatorId: 'sink' } });
  const top = new WeirError('WEIR_WORKER_CRASHED', 'worker died', { cause: middle });
  const rebuilt = acrossThreads(top) as WeirError;
  assert.is(rebuilt.code, 'WEIR_WORKER_CRASHED');
  const c1 = rebuilt.cause as WeirError;
  assert.instance(c1, WeirError);
  assert.is(c1.code, 'WEIR_SINK_FAILED');
  assert.is(c1.retriable, true);
  assert.equal(c1.context, { operatorId: 'sink' });
  assert.is(c1.stack, middle.stack);
  const c2 = c1.cause as Error;
  assert.instance(c2, Error);
  assert.not.instance(c2, WeirError);
  assert.is(c2.name, 'TypeError');
  assert.is(c2.message, 'x is not a function');
  assert.is(c2.stack, root.stack);
  assert.is(c2.cause, undefined);
});

test('a plain Error keeps its name and message and gets no code', () => {
  class CustomError extends Error {
    override name = 'CustomError';
  }
  const record = toErrorRecord(new CustomError('custom'));
  assert.is(record.name, 'CustomError');
  assert.is(record.message, 'custom');
  assert.is(record.code, undefined);
  const rebuilt = fromErrorRecord(record);
  assert.not.instance(rebuilt, WeirError);
  assert.is(rebuilt.name, 'CustomError');
  assert.is(rebuilt.message, 'custom');
});

test('thrown non-Error values become an Error record describing the value', () => {
  assert.equal(toErrorRecord('oops'), { name: 'Error', message: 'non-Error value thrown: "oops"' });
  assert.equal(toErrorRecord(42), { name: 'Error', message: 'non-Error value thrown: 42' });
  assert.equal(toErrorRecord(undefined), { name: 'Error', message: 'non-Error value thrown: undefined' });
  assert.equal(toErrorRecord(null), { name: 'Error', message: 'non-Error value thrown: null' });
  assert.equal(toErrorRecord({ a: 1 }), { name: 'Error', message: 'non-Error value thrown: [object Object]' });
  // An object whose toString throws is still described, not rethrown.
  const hostile = {
    toString() {
      throw new Error('no');
    },
  };
  assert.equal(toErrorRecord(hostile), { name: 'Error', message: 'non-Error value thrown: [object Object]' });
  assert.equal(toErrorRecord(Object.create(null)), { name: 'Error', message: 'non-Error value thrown: [object Object]' });
  const rebuilt = fromErrorRecord(toErrorRecord(7n));
  assert.instance(rebuilt, Error);
  assert.is(rebuilt.message, 'non-Error value thrown: 7');
});

test('a non-Error cause is described in the cause record', () => {
  const error = new Error('outer', { cause: 'inner reason' });
  const rebuilt = acrossThreads(error);
  assert.is((rebuilt.cause as Error).message, 'non-Error value thrown: "inner reason"');
});

test('a record with an unknown code rebuilds as a plain Error keeping name, message, stack and cause', () => {
  const record: ErrorRecord = {
    name: 'WeirError',
    message: 'from a newer version',
    code: 'WEIR_SOMETHING_NEW',
    retriable: true,
    stack: 'WeirError: from a newer version\n    at somewhere',
    cause: { name: 'RangeError', message: 'inner' },
  };
  const rebuilt = fromErrorRecord(record);
  assert.not.instance(rebuilt, WeirError);
  assert.is(rebuilt.name, 'WeirError');
  assert.is(rebuilt.message, 'from a newer version');
  assert.is(rebuilt.stack, record.stack);
  assert.is((rebuilt.cause as Error).name, 'RangeError');
});

test('a record whose code is an Object.prototype key (toString, constructor) rebuilds as a plain Error, not a WeirError', () => {
  for (const code of ['toString', 'constructor', '__proto__']) {
    const rebuilt = fromErrorRecord({ name: 'Error', message: 'm', code });
    assert.not.instance(rebuilt, WeirError, code);
  }
});

test('context values that cannot cross threads are turned into strings; undefined ones are dropped', () => {
  const error = new WeirError('WEIR_INTERNAL', 'x', {
    context: { operatorId: 'op', sym: Symbol('s'), big: 10n, missing: undefined, nested: { a: 1 }, fn: () => 1 },
  });
  const record = toErrorRecord(error);
  const { fn, ...rest } = record.context!;
  assert.equal(rest, { operatorId: 'op', sym: 'Symbol(s)', big: '10', nested: '[object Object]' });
  assert.type(fn, 'string');
  structuredClone(record); // must not throw
});

test('a record without context rebuilds a WeirError with an empty context and the code’s retriable flag', () => {
  const rebuilt = fromErrorRecord({ name: 'WeirError', message: 'm', code: 'WEIR_SOURCE_FAILED' }) as WeirError;
  assert.instance(rebuilt, WeirError);
  assert.equal(rebuilt.context, {});
  assert.is(rebuilt.retriable, ERROR_CODES.WEIR_SOURCE_FAILED.retriable);
});

test('a cyclic cause chain is cut after a bounded depth instead of recursing forever', () => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  const record = toErrorRecord(a);
  let depth = 0;
  for (let r: ErrorRecord | undefined = record; r !== undefined; r = r.cause) depth++;
  assert.is(depth, 9);
  structuredClone(record);
});

test('every code has a boolean retriable flag', () => {
  for (const [code, info] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^WEIR_[A-Z_]+$/);
    assert.type(info.retriable, 'boolean');
  }
});

test.run();
