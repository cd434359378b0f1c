// The assertion most unit tests share: a call fails with a WeirError of a given code (and,
// optionally, a message matching a pattern). Returns the error for further checks.
import * as assert from 'uvu/assert';
import { WeirError } from '../../src/errors.ts';

export function throwsCode(fn: () => unknown, code: string, message?: RegExp): WeirError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, code);
    if (message !== undefined) assert.match((error as WeirError).message, message);
    return error as WeirError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}
