import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../src/index.ts';
import { sentence } from '../fixtures/jobs/word-count-data.ts';
import { fixtureJob, groupBy, within } from '../helpers/jobs.ts';

const COUNT = 3000;

function referenceTotals(count: number): Map<string, number> {
  const totals = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    for (const word of sentence(i).split(' ')) totals.set(word, (totals.get(word) ?? 0) + 1);
  }
  return totals;
}

for (const parallelism of [1, 2, 4]) {
  test(`word count at parallelism ${parallelism} emits every running count 1..n of every word exactly once`, async () => {
    const result = await within(60_000, run(fixtureJob('word-count.ts'), { parallelism, params: { count: String(COUNT) } }));
    assert.is(result.status, 'FINISHED');
    const out = result.collected.out as Array<{ word: string; count: number }>;
    const expected = referenceTotals(COUNT);
    const totalWords = [...expected.values()].reduce((a, b) => a + b, 0);
    assert.is(out.length, totalWords);
    const byWord = groupBy(out, (r) => r.word);
    assert.equal([...byWord.keys()].sort(), [...expected.keys()].sort());
    for (const [word, records] of byWord) {
      // One subtask owns each word, so its updates arrive in order: exactly 1, 2, …, n.
      assert.equal(
        records.map((r) => r.count),
        Array.from({ length: expected.get(word)! }, (_, i) => i + 1),
        `running counts of '${word}'`,
      );
    }
    assert.is(result.metrics.operators.sentences!.recordsOut, COUNT);
    assert.is(result.metrics.operators.flatmap!.recordsOut, totalWords);
    assert.is(result.metrics.operators.out!.recordsIn, totalWords);
    assert.is(result.metrics.operators.reduce!.parallelism, parallelism);
  });
}

test.run();
