// Exactly-once windows: the window fixture job (test/fixtures/jobs/windows.ts, mode 'all':
// tumbling, sliding, session and count windows) with checkpoints and worker kills at random
// moments, during snapshots and between completion and commit; the committed output of every
// window must equal the single-thread reference exactly, on the heap and the lsm backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { run } from '../../src/index.ts';
import { fixtureJob, threadResources, within } from '../helpers/jobs.ts';
import { hiddenParts } from '../helpers/running-count.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';
import { assertAllWindows } from '../helpers/window-reference.ts';

const JOB = fixtureJob('windows.ts');
const makeDir = tempDirs(test, 'weir-windows-eo-');
const KEYS = 5;

/** A fixed fault schedule per backend (WEIR_TEST_SEED replays another), printed. */
function seedFor(backend: string, fixed: number): number {
  const seed = process.env.WEIR_TEST_SEED === undefined ? fixed : Number(process.env.WEIR_TEST_SEED);
  console.log(`  [windows ${backend}] seed ${seed} (replay with WEIR_TEST_SEED=${seed})`);
  return seed;
}

for (const backend of ['heap', 'lsm'] as const) {
  test(`with checkpoints and worker kills every window result is committed exactly once (${backend} state backend)`, async () => {
    const seed = seedFor(backend, backend === 'heap' ? 61_126 : 71_126);
    const dir = makeDir();
    const out = join(dir, 'out');
    const count = 6000;
    const baseline = threadResources();
    const result = await within(
      120_000,
      run(JOB, {
        parallelism: 2,
        ...(backend === 'lsm' ? { stateBackend: 'lsm' as const, lsm: { memoryBudget: 256 * 1024, directory: join(dir, 'lsm') } } : {}),
        params: { count: String(count), keys: String(KEYS), rate: '5000', out },
        checkpointing: { interval: 50, directory: join(dir, 'chk') },
        restartStrategy: { type: 'fixed-delay', attempts: 100, delayMs: 0 },
        faultInjection: { seed, kills: 3, maxDelayMs: 600, points: ['random', 'after-trigger', 'before-notify'] },
      }),
    );
    assert.is(result.status, 'FINISHED');
    assert.ok(result.restarts >= 1, `${result.restarts} restarts`);
    assertAllWindows(out, count, KEYS);
    for (const name of ['tumbling', 'sliding', 'sessions', 'counts', 'sliding-counts']) {
      assert.equal(hiddenParts(join(out, name)), [], `no uncommitted part file in ${name}`);
    }
    for (let i = 0; i < 50 && threadResources() > baseline; i++) await new Promise((r) => setTimeout(r, 20));
    assert.is(threadResources(), baseline, 'no thread left running');
  });
}

test.run();
