import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../src/index.ts';
import type { Output } from '../fixtures/jobs/keyed-states.ts';
import { fixtureJob, groupBy, within } from '../helpers/jobs.ts';

const COUNT = 4000;
const KEYS = 37;

/** The same logic in one thread: what each record's output must be, in per-key arrival order. */
function reference(indices: number[], key: string): Output[] {
  const out: Output[] = [];
  let sum = 0;
  const recent: number[] = [];
  const buckets = new Set<number>();
  indices.forEach((index, n) => {
    sum += index;
    recent.push(index);
    if (recent.length > 3) recent.shift();
    buckets.add(index % 5);
    out.push({ key, index, count: n + 1, sum, mean: sum / (n + 1), lastThree: [...recent], buckets: buckets.size });
  });
  return out;
}

for (const parallelism of [1, 2, 4]) {
  test(`a keyed running count over all state types at parallelism ${parallelism} (one source) equals the single-thread reference exactly`, async () => {
    const result = await within(
      60_000,
      run(fixtureJob('keyed-states.ts'), { parallelism, params: { count: String(COUNT), keys: String(KEYS), sourceParallelism: '1' } }),
    );
    const out = result.collected.out as Output[];
    assert.is(out.length, COUNT);
    const byKey = groupBy(out, (r) => r.key);
    assert.is(byKey.size, KEYS);
    for (const [key, records] of byKey) {
      const indices = Array.from({ length: COUNT }, (_, i) => i).filter((i) => `k${i % KEYS}` === key);
      assert.equal(records, reference(indices, key), `output of key ${key}`);
    }
  });
}

test('with several source subtasks each key still counts 1..n and keeps each producer’s order', async () => {
  const result = await within(
    60_000,
    run(fixtureJob('keyed-states.ts'), { parallelism: 3, params: { count: String(COUNT), keys: String(KEYS) } }),
  );
  const out = result.collected.out as Output[];
  assert.equal(out.map((r) => r.index).sort((a, b) => a - b), Array.from({ length: COUNT }, (_, i) => i));
  for (const [key, records] of groupBy(out, (r) => r.key)) {
    assert.equal(records.map((r) => r.count), Array.from({ length: records.length }, (_, i) => i + 1), key);
    assert.is(records.at(-1)!.sum, records.reduce((s, r) => s + r.index, 0));
    // Source subtask s of 3 owns the index range [⌊s·COUNT/3⌋, ⌊(s+1)·COUNT/3⌋): within it, order is preserved.
    const producerOf = (index: number) => [1, 2, 3].findIndex((s) => index < Math.floor((s * COUNT) / 3));
    for (const [, fromOne] of groupBy(records, (r) => producerOf(r.index))) {
      const indices = fromOne.map((r) => r.index);
      assert.equal(indices, [...indices].sort((a, b) => a - b), `order of ${key} from one producer`);
    }
  }
});

test('the LSM state backend gives the same exact output for every state type, and its working files are removed', async () => {
  const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const workDir = mkdtempSync(join(tmpdir(), 'weir-lsm-work-'));
  try {
    const result = await within(
      60_000,
      run(fixtureJob('keyed-states.ts'), {
        parallelism: 2,
        stateBackend: 'lsm',
        lsm: { memoryBudget: 256 * 1024, directory: workDir },
        params: { count: String(COUNT), keys: String(KEYS), sourceParallelism: '1' },
      }),
    );
    const out = result.collected.out as Output[];
    assert.is(out.length, COUNT);
    for (const [key, records] of groupBy(out, (r) => r.key)) {
      const indices = Array.from({ length: COUNT }, (_, i) => i).filter((i) => `k${i % KEYS}` === key);
      assert.equal(records, reference(indices, key), `output of key ${key}`);
    }
    assert.equal(readdirSync(workDir), [], 'LSM working directories are deleted when the job ends');
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});

test.run();
