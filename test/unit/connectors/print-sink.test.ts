import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PrintSink, formatPrintRecord, printLinePrefix } from '../../../src/connectors/print/print-sink.ts';
import { WeirError } from '../../../src/errors.ts';

/** Runs `fn` with process[stream].write captured; returns what was written. */
async function capture(stream: 'stdout' | 'stderr', fn: () => void | Promise<void>): Promise<string> {
  const target = process[stream];
  const original = target.write;
  let text = '';
  target.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof target.write;
  try {
    await fn();
  } finally {
    target.write = original;
  }
  return text;
}

test('lines are prefixed like Flink print(): subtask number only when parallelism > 1', () => {
  assert.is(printLinePrefix('', { subtaskIndex: 0, parallelism: 1 }), '');
  assert.is(printLinePrefix('', { subtaskIndex: 2, parallelism: 4 }), '3> ');
  assert.is(printLinePrefix('out', { subtaskIndex: 0, parallelism: 1 }), 'out> ');
  assert.is(printLinePrefix('out', { subtaskIndex: 1, parallelism: 2 }), 'out:2> ');
});

test('strings print as they are; other values as JSON, or String() where JSON has no form', () => {
  assert.is(formatPrintRecord('plain "text"'), 'plain "text"');
  assert.is(formatPrintRecord({ a: 1, b: [true, null] }), '{"a":1,"b":[true,null]}');
  assert.is(formatPrintRecord(7), '7');
  assert.is(formatPrintRecord(undefined), 'undefined');
  assert.is(formatPrintRecord(12n), '12');
});

test('a writer prints each record on its own line and flushes on finish()', async () => {
  const text = await capture('stdout', () => {
    const writer = new PrintSink<unknown>({ prefix: 'p' }).createWriter({ subtaskIndex: 1, parallelism: 3, operatorId: 'print' });
    writer.write({ id: 1 });
    writer.write('two');
    writer.finish?.();
    writer.close?.();
  });
  assert.is(text, 'p:2> {"id":1}\np:2> two\n');
});

test('buffered lines are flushed once the synchronous batch yields', async () => {
  const text = await capture('stdout', async () => {
    const writer = new PrintSink<number>().createWriter({ subtaskIndex: 0, parallelism: 1, operatorId: 'print' });
    writer.write(1);
    writer.write(2);
    await Promise.resolve();
  });
  assert.is(text, '1\n2\n');
});

test('stderr: true prints to stderr', async () => {
  let stdout = '';
  const stderr = await capture('stderr', async () => {
    stdout = await capture('stdout', () => {
      const writer = new PrintSink<string>({ stderr: true }).createWriter({ subtaskIndex: 0, parallelism: 1, operatorId: 'print' });
      writer.write('warn');
      writer.close?.();
    });
  });
  assert.is(stderr, 'warn\n');
  assert.is(stdout, '');
});

test('options are validated with messages naming the option', () => {
  for (const [options, pattern] of [
    [{ prefix: 3 }, /^PrintSink options.prefix must be a string, got 3$/],
    [{ stderr: 'yes' }, /^PrintSink options.stderr must be a boolean, got "yes"$/],
  ] as const) {
    try {
      new PrintSink(options as never);
      assert.unreachable('expected an error');
    } catch (error) {
      assert.instance(error, WeirError);
      assert.is((error as WeirError).code, 'WEIR_INVALID_OPTION');
      assert.match((error as Error).message, pattern);
    }
  }
});

test.run();
