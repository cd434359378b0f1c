import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunOptions } from '../../src/index.ts';
import { assertSharedConsistent, sharedState } from '../helpers/shared-files.ts';
import { fixtureJob, threadResources, within } from '../helpers/jobs.ts';
import { committedLines, describeDifference, expectedRunningCount, hiddenParts, testSeed } from '../helpers/running-count.ts';

// The exactly-once fault-injection job on the LSM backend with incremental checkpoints: 64 KiB
// of memory per tree and thousands of keys, so every attempt flushes and compacts many times.
const KEYS = 20_000;

function sameLines(actual: string[], expected: string[]): void {
  assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), describeDifference(actual, expected));
}

function lsmOptions(dir: string, out: string, count: number, extra: Partial<RunOptions>): RunOptions {
  return {
    parallelism: 2,
    stateBackend: 'lsm',
    lsm: { memoryBudget: 64 * 1024, directory: join(dir, 'lsm') },
    params: { count: String(count), keys: String(KEYS), rate: '10000', out },
    checkpointing: { interval: 60, directory: join(dir, 'chk'), numRetained: 2, retention: 'retain-on-cancel' },
    restartStrategy: { type: 'fixed-delay', attempts: 1000, delayMs: 0 },
    ...extra,
  };
}

test('kills during flush, compaction and upload, then cancel: retained checkpoints have all their files and shared/ holds nothing else; resuming commits exactly the failure-free output', async () => {
  const seed = testSeed('lsm incremental kills');
  const dir = mkdtempSync(join(tmpdir(), 'weir-lsm-inc-'));
  const out = join(dir, 'out');
  const count = 300_000; // phase 1 (5,000/s) is cancelled long before its end; phase 2 runs unthrottled
  const jobDir = join(dir, 'chk', 'running-count');
  const baseline = threadResources();
  try {
    // Phase 1: kills inside the LSM's work, cancelled (checkpoints retained) part-way.
    const controller = new AbortController();
    const kills = 4;
    let restarts = 0;
    let completedSinceRestart = 0;
    const first = await within(
      120_000,
      run(fixtureJob('running-count.ts'), {
        ...lsmOptions(dir, out, count, {}),
        params: { count: String(count), keys: String(KEYS), rate: '5000', out },
        signal: controller.signal,
        faultInjection: { seed, kills, maxDelayMs: 300, points: ['lsm-flush', 'lsm-compaction', 'lsm-upload', 'after-trigger'] },
        onWarning: (warning) => {
          if (warning.startsWith('job failed')) {
            restarts++;
            completedSinceRestart = 0;
          }
        },
        // Cancelled once every kill has happened and two checkpoints completed after the last one.
        onCheckpoint: (stats) => {
          if (stats.status === 'COMPLETED' && ++completedSinceRestart >= 2 && restarts >= kills) controller.abort();
        },
      }),
    );
    assert.is(first.status, 'CANCELED', `phase 1 ended ${first.status} after ${restarts} restarts`);
    assert.ok(first.restarts >= 1, `${first.restarts} restarts`);
    const afterCancel = await sharedState(jobDir);
    assert.ok(afterCancel.checkpoints.length >= 1, 'checkpoints are retained on cancel');
    assert.ok(afterCancel.referenced.size > 0, 'retained checkpoints list SST files');
    assertSharedConsistent(afterCancel);
    // (Whether two retained checkpoints share files depends on where compactions fell between
    // them; reuse is tested deterministically in test/unit/state/lsm/incremental-snapshots.test.ts.)

    // Phase 2: resume from the latest checkpoint (restoring the trees from their files), with more kills.
    const second = await within(
      120_000,
      run(fixtureJob('running-count.ts'), {
        ...lsmOptions(dir, out, count, {}),
        params: { count: String(count), keys: String(KEYS), out },
        checkpointing: { interval: 60, directory: join(dir, 'chk'), numRetained: 2, retention: 'retain-on-cancel', resumeFrom: 'latest' },
        faultInjection: { seed: seed + 1, kills: 3, maxDelayMs: 300, points: ['lsm-flush', 'lsm-upload', 'random'] },
      }),
    );
    assert.is(second.status, 'FINISHED');
    sameLines(committedLines(out), expectedRunningCount(count, KEYS));
    assert.equal(hiddenParts(out), []);
    // Finished: the final checkpoint replaced the others, so no shared file is needed any more.
    const atEnd = await sharedState(jobDir);
    assertSharedConsistent(atEnd);
    assert.is(atEnd.present.length, 0, 'shared/ is empty once no checkpoint needs its files');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (let i = 0; i < 50 && threadResources() > baseline; i++) await new Promise((r) => setTimeout(r, 20));
  assert.is(threadResources(), baseline, 'no thread left running');
});

test('lsm.incremental false uploads every file at every checkpoint; both modes commit the exact output', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-lsm-inc-'));
  try {
    const persisted = async (incremental: boolean) => {
      const out = join(dir, `out-${incremental}`);
      const sizes: Array<{ state: number; written: number }> = [];
      const result = await within(
        90_000,
        run(fixtureJob('running-count.ts'), {
          ...lsmOptions(dir, out, 40_000, {}),
          params: { count: '40000', keys: String(KEYS), rate: '5000', out },
          lsm: { memoryBudget: 64 * 1024, directory: join(dir, `lsm-${incremental}`), incremental },
          checkpointing: { interval: 60, directory: join(dir, `chk-${incremental}`), numRetained: 2 },
          onCheckpoint: (stats) => {
            if (stats.status === 'COMPLETED') sizes.push({ state: stats.stateSize, written: stats.checkpointedSize });
          },
        }),
      );
      assert.is(result.status, 'FINISHED');
      sameLines(committedLines(out), expectedRunningCount(40_000, KEYS));
      return sizes;
    };
    const incremental = await persisted(true);
    const full = await persisted(false);
    assert.ok(incremental.length >= 2 && full.length >= 2, `${incremental.length} and ${full.length} checkpoints`);
    for (const s of full) assert.is(s.written, s.state, 'a full checkpoint writes all its state');
    // Whether a given incremental checkpoint reuses files depends on where compactions fell
    // (incremental-snapshots.test.ts tests reuse deterministically; bench:incremental measures it).
    assert.ok(incremental.every((s) => s.written <= s.state), 'an incremental checkpoint never writes more than its state');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
