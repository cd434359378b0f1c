// Keyed windows end to end (test/fixtures/jobs/windows.ts): tumbling, sliding, session and
// count windows with reduce, aggregate and process, compared exactly with a single-thread
// reference at parallelism 1 and 2, and late data to a side output with allowed lateness.
// Exactly-once under worker kills: windows-exactly-once.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { run } from '../../src/index.ts';
import { lateReading, type LateRow, type Reading } from '../fixtures/jobs/windows.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';
import { committedLines, describeDifference } from '../helpers/running-count.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';
import { assertAllWindows, lateReadings, lateWindowRows } from '../helpers/window-reference.ts';

const JOB = fixtureJob('windows.ts');
const makeDir = tempDirs(test, 'weir-windows-');
const KEYS = 5;

function sameLines(actual: readonly string[], expected: readonly string[], what: string): void {
  assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), `${what}: ${describeDifference(actual, expected)}`);
}


for (const parallelism of [1, 2]) {
  test(`tumbling, sliding, session and count windows give exactly the reference results at parallelism ${parallelism}`, async () => {
    const out = join(makeDir(), 'out');
    const count = 4000;
    const result = await within(60_000, run(JOB, { parallelism, params: { count: String(count), keys: String(KEYS), out } }));
    assert.is(result.status, 'FINISHED');
    assertAllWindows(out, count, KEYS);
    for (const uid of ['tumbling', 'sliding', 'sessions', 'counts', 'sliding-counts']) {
      assert.is(result.metrics.operators[uid]?.recordsIn, count, `${uid} read every record`);
    }
  });
}

test('late records go to the side output, every other record is in its window, and late firings within the allowed lateness update it', async () => {
  const out = join(makeDir(), 'out');
  const count = 3000;
  const result = await within(
    60_000,
    run(JOB, { parallelism: 2, params: { mode: 'late', count: String(count), keys: String(KEYS), rate: '4000', out } }),
  );
  assert.is(result.status, 'FINISHED');
  const late = committedLines(join(out, 'late')).map((line) => JSON.parse(line) as Reading);
  // Which records are late depends on when watermarks came; what must hold whenever they came:
  // only records 3 s behind can be late (300 ms behind is within the lateness), and ...
  assert.ok(late.length > 0, 'records 3 s behind are late once a watermark passed their window');
  for (const r of late) assert.is(r.v % 50, 25, `record ${r.v} was late but only the 3 s stragglers can be`);
  assert.equal(late.map((r) => JSON.stringify(r)).sort(), late.map((r) => JSON.stringify(lateReading(r.v, KEYS))).sort());
  // ... each window's last firing is exactly its non-late records: none lost, none twice.
  const lateSet = new Set(late.map((r) => r.v));
  const rows = committedLines(join(out, 'windows')).map((line) => JSON.parse(line) as LateRow);
  const last = new Map<string, LateRow>();
  for (const row of rows) {
    const id = `${row.key}@${row.start}`;
    const seen = last.get(id);
    if (seen === undefined || row.n > seen.n) last.set(id, row);
  }
  const expected = lateWindowRows(lateReadings(count, KEYS).filter((r) => !lateSet.has(r.v)));
  sameLines([...last.values()].map((row) => JSON.stringify(row)).sort(), expected, 'final window results');
  assert.ok(rows.length > last.size, 'records 300 ms behind fired their windows again');
});

test.run();
