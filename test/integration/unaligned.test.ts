import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type CheckpointStats, type RunOptions } from '../../src/index.ts';
import { fixtureJob, threadResources, within } from '../helpers/jobs.ts';
import { committedLines, describeDifference, expectedRunningCount, hiddenParts, testSeed } from '../helpers/running-count.ts';

// Unaligned checkpoints on the exactly-once fault-injection job, backpressured by a slow stage
// before the sink: barriers overtake the queued records, which are stored with the checkpoint
// (persisted_data) and replayed first after a restore. The committed output must stay exact.
const KEYS = 50;

function sameLines(actual: string[], expected: string[]): void {
  assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), describeDifference(actual, expected));
}

function options(dir: string, count: number, extra: Partial<RunOptions>): RunOptions {
  return {
    parallelism: 2,
    ringBytes: 64 * 1024,
    // 10,000 records/s offered, ~6,600/s taken by the slow stage (2 × 300 µs): queues build up.
    params: { count: String(count), keys: String(KEYS), out: join(dir, 'out'), slowMicros: '300', rate: '10000' },
    checkpointing: { interval: 50, directory: join(dir, 'chk'), unaligned: true },
    restartStrategy: { type: 'fixed-delay', attempts: 1000, delayMs: 0 },
    ...extra,
  };
}

for (const backend of ['heap', 'lsm'] as const) {
  test(`unaligned checkpoints under backpressure (${backend}): in-flight data is stored, worker kills leave the committed output exact`, async () => {
    const seed = testSeed(`unaligned ${backend}`);
    const dir = mkdtempSync(join(tmpdir(), 'weir-unaligned-'));
    const count = 30_000;
    const completed: CheckpointStats[] = [];
    const baseline = threadResources();
    try {
      const result = await within(
        120_000,
        run(fixtureJob('running-count.ts'), {
          ...options(dir, count, {}),
          ...(backend === 'lsm' ? { stateBackend: 'lsm' as const, lsm: { memoryBudget: 256 * 1024, directory: join(dir, 'lsm') } } : {}),
          faultInjection: { seed, kills: 3, maxDelayMs: 1500, points: ['random', 'after-trigger', 'before-notify'] },
          onCheckpoint: (stats) => {
            if (stats.status === 'COMPLETED') completed.push(stats);
          },
        }),
      );
      assert.is(result.status, 'FINISHED');
      assert.ok(result.restarts >= 1, `${result.restarts} restarts`);
      assert.ok(completed.length >= 1, 'a checkpoint completed');
      assert.ok(completed.every((s) => s.unaligned), 'every checkpoint is unaligned');
      assert.ok(completed.some((s) => s.persistedData > 0), 'some checkpoint stored in-flight data');
      // Per-subtask statistics: every subtask acknowledged; the in-flight bytes add up; unaligned means no alignment time.
      for (const stats of completed) {
        assert.is(stats.subtasks.length, 5, 'source, 2 keyed, 2 slow+sink subtasks');
        assert.is(stats.subtasks.reduce((sum, s) => sum + s.persistedBytes, 0), stats.persistedData);
        assert.ok(stats.subtasks.every((s) => s.alignmentMs === 0 && s.processedBytes === 0));
      }
      sameLines(committedLines(join(dir, 'out')), expectedRunningCount(count, KEYS));
      assert.equal(hiddenParts(join(dir, 'out')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (let i = 0; i < 50 && threadResources() > baseline; i++) await new Promise((r) => setTimeout(r, 20));
    assert.is(threadResources(), baseline, 'no thread left running');
  });
}

test('buffer debloating (aligned, and with unaligned) under backpressure: worker kills leave the committed output exact', async () => {
  for (const unaligned of [false, true]) {
    const seed = testSeed(`debloat unaligned=${unaligned}`);
    const dir = mkdtempSync(join(tmpdir(), 'weir-debloat-'));
    const count = 30_000;
    let completed = 0;
    let aligned = 0;
    try {
      const result = await within(
        120_000,
        run(fixtureJob('running-count.ts'), {
          ...options(dir, count, {}),
          debloat: { periodMs: 50, minBytes: 2048 },
          checkpointing: { interval: 50, directory: join(dir, 'chk'), unaligned },
          faultInjection: { seed, kills: 2, maxDelayMs: 1500, points: ['random', 'after-trigger'] },
          onCheckpoint: (stats) => {
            if (stats.status !== 'COMPLETED') return;
            completed++;
            // Two-input subtasks align: the time from the first barrier to the snapshot is reported.
            aligned += stats.subtasks.filter((s) => s.alignmentMs > 0).length;
          },
        }),
      );
      assert.is(result.status, 'FINISHED');
      assert.ok(completed >= 1, `unaligned=${unaligned}: a checkpoint completed`);
      if (!unaligned) assert.ok(aligned > 0, 'aligned checkpoints report alignment durations');
      sameLines(committedLines(join(dir, 'out')), expectedRunningCount(count, KEYS));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('aligned checkpoints with an aligned timeout switch to unaligned under backpressure; worker kills leave the output exact', async () => {
  const seed = testSeed('aligned timeout');
  const dir = mkdtempSync(join(tmpdir(), 'weir-aligned-timeout-'));
  const count = 30_000;
  const completed: CheckpointStats[] = [];
  try {
    const result = await within(
      120_000,
      run(fixtureJob('running-count.ts'), {
        ...options(dir, count, {}),
        checkpointing: { interval: 50, directory: join(dir, 'chk'), alignedTimeout: 20 },
        faultInjection: { seed, kills: 2, maxDelayMs: 1500, points: ['random', 'after-trigger'] },
        onCheckpoint: (stats) => {
          if (stats.status === 'COMPLETED') completed.push(stats);
        },
      }),
    );
    assert.is(result.status, 'FINISHED');
    assert.ok(completed.length >= 1, 'a checkpoint completed');
    assert.ok(completed.some((s) => s.unaligned), 'some checkpoint switched to unaligned');
    const switched = completed.flatMap((s) => s.subtasks).filter((s) => s.unaligned);
    assert.ok(switched.length > 0 && switched.every((s) => s.alignmentMs === 0), 'a switched subtask reports no alignment');
    sameLines(committedLines(join(dir, 'out')), expectedRunningCount(count, KEYS));
    assert.equal(hiddenParts(join(dir, 'out')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unaligned checkpoint with in-flight data cannot be restored at another parallelism: a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-unaligned-'));
  try {
    const controller = new AbortController();
    const first = await within(
      60_000,
      run(fixtureJob('running-count.ts'), {
        ...options(dir, 200_000, {}),
        signal: controller.signal,
        checkpointing: { interval: 50, directory: join(dir, 'chk'), unaligned: true, retention: 'retain-on-cancel' },
        onCheckpoint: (stats) => {
          if (stats.status === 'COMPLETED' && stats.persistedData > 0) controller.abort();
        },
      }),
    );
    assert.is(first.status, 'CANCELED', 'cancelled after a checkpoint with in-flight data');
    try {
      await within(
        60_000,
        run(fixtureJob('running-count.ts'), {
          ...options(dir, 200_000, {}),
          parallelism: 3,
          checkpointing: { interval: 50, directory: join(dir, 'chk'), unaligned: true, resumeFrom: 'latest' },
        }),
      );
      assert.unreachable('restoring at parallelism 3 should fail');
    } catch (error) {
      assert.is((error as { code?: string }).code, 'WEIR_CHECKPOINT_INCOMPATIBLE', (error as Error).message);
      assert.match((error as Error).message, /unaligned and holds in-flight data/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
