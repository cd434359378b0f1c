import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../src/index.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';

test('union of two sources, rebalance and broadcast deliver every record to every sink subtask', async () => {
  const count = 500;
  const result = await within(60_000, run(fixtureJob('shapes.ts'), { parallelism: 2, params: { count: String(count) } }));
  const out = result.collected.everywhere as number[];
  const once = Array.from({ length: 2 * count }, (_, n) => n * 10);
  // Broadcast to 3 sink subtasks: each value three times.
  assert.is(out.length, 3 * once.length);
  assert.equal([...out].sort((a, b) => a - b), once.flatMap((v) => [v, v, v]));
  const ops = result.metrics.operators;
  assert.is(ops.evens!.recordsOut, count);
  assert.is(ops.odds!.recordsOut, count);
  assert.is(ops.odds!.parallelism, 1);
  assert.is(ops['times-ten']!.recordsIn, 2 * count);
  assert.is(ops.everywhere!.parallelism, 3);
});

test.run();
