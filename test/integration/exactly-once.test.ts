import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/index.ts';
import { fixtureJob, threadResources, within } from '../helpers/jobs.ts';
import { committedLines, describeDifference, expectedRunningCount, hiddenParts, testSeed } from '../helpers/running-count.ts';

const COUNT = 60_000;
const KEYS = 7;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'weir-eo-'));
}

test('20 worker kills (at random moments, during snapshot writes, between completion and commit) leave the committed output exactly the failure-free output', async () => {
  const seed = testSeed('worker kills');
  const dir = tempDir();
  const out = join(dir, 'out');
  const baseline = threadResources();
  try {
    const result = await within(
      150_000,
      run(fixtureJob('running-count.ts'), {
        parallelism: 3,
        params: { count: String(COUNT), keys: String(KEYS), rate: '8000', out },
        checkpointing: { interval: 40, directory: join(dir, 'chk') },
        restartStrategy: { type: 'fixed-delay', attempts: 1000, delayMs: 0 },
        // Kills at random moments, while barriers and snapshot writes are in flight, and between a
        // checkpoint's completion and the sinks' commit.
        faultInjection: { seed, kills: 20, maxDelayMs: 400, points: ['random', 'after-trigger', 'before-notify'] },
      }),
    );
    assert.is(result.status, 'FINISHED');
    assert.ok(result.restarts >= 20, `${result.restarts} restarts`);
    const actual = committedLines(out);
    const expected = expectedRunningCount(COUNT, KEYS);
    assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), describeDifference(actual, expected));
    assert.equal(hiddenParts(out), [], 'no uncommitted part file is left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (let i = 0; i < 50 && threadResources() > baseline; i++) await new Promise((r) => setTimeout(r, 20));
  assert.is(threadResources(), baseline, 'no thread left running');
});

test('in-memory checkpoints (no directory) also recover exactly from a worker kill', async () => {
  const seed = testSeed('memory storage');
  const dir = tempDir();
  const out = join(dir, 'out');
  try {
    const result = await within(
      60_000,
      run(fixtureJob('running-count.ts'), {
        parallelism: 2,
        params: { count: '6000', keys: String(KEYS), rate: '12000', out },
        checkpointing: { interval: 40 },
        restartStrategy: { type: 'fixed-delay', attempts: 100, delayMs: 0 },
        faultInjection: { seed, kills: 3, maxDelayMs: 600 },
      }),
    );
    assert.ok(result.restarts >= 1);
    const actual = committedLines(out);
    const expected = expectedRunningCount(6000, KEYS);
    assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), describeDifference(actual, expected));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exactly-once with two upstream subtasks per keyed subtask (aligned barriers) and kills: every index once, each key counting 1..n', async () => {
  // With two source subtasks, a key's records interleave differently on every run, so the
  // failure-free output is not one fixed file. What exactly-once still fixes: every input index
  // is committed exactly once, and each key's counts are exactly 1..n — a snapshot that counted
  // records from after a barrier (broken alignment) would skip or repeat counts after a restore.
  const seed = testSeed('aligned, two inputs');
  const dir = tempDir();
  const out = join(dir, 'out');
  const count = 30_000;
  try {
    const result = await within(
      90_000,
      run(fixtureJob('running-count.ts'), {
        parallelism: 2,
        params: { count: String(count), keys: String(KEYS), rate: '10000', out, sourceParallelism: '2' },
        checkpointing: { interval: 40, directory: join(dir, 'chk') },
        restartStrategy: { type: 'fixed-delay', attempts: 100, delayMs: 0 },
        faultInjection: { seed, kills: 8, maxDelayMs: 500, points: ['random', 'after-trigger', 'before-notify'] },
      }),
    );
    assert.ok(result.restarts >= 1);
    const lines = committedLines(out).map((line) => JSON.parse(line) as { key: string; index: number; count: number });
    const indices = lines.map((l) => l.index).sort((a, b) => a - b);
    assert.is(indices.length, count, `${indices.length} lines for ${count} records`);
    assert.ok(indices.every((index, i) => index === i), 'every index exactly once');
    const byKey = new Map<string, number[]>();
    for (const l of lines) byKey.set(l.key, [...(byKey.get(l.key) ?? []), l.count]);
    for (const [key, counts] of byKey) {
      counts.sort((a, b) => a - b);
      assert.ok(counts.every((c, i) => c === i + 1), `counts of ${key} are 1..${counts.length}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with the LSM state backend, worker kills leave the committed output exactly the failure-free output', async () => {
  const seed = testSeed('lsm');
  const dir = tempDir();
  const out = join(dir, 'out');
  const count = 12_000;
  try {
    const result = await within(
      90_000,
      run(fixtureJob('running-count.ts'), {
        parallelism: 2,
        stateBackend: 'lsm',
        lsm: { memoryBudget: 128 * 1024, directory: join(dir, 'lsm') },
        params: { count: String(count), keys: '2000', rate: '8000', out },
        checkpointing: { interval: 50, directory: join(dir, 'chk') },
        restartStrategy: { type: 'fixed-delay', attempts: 100, delayMs: 0 },
        faultInjection: { seed, kills: 4, maxDelayMs: 500, points: ['random', 'after-trigger', 'before-notify'] },
      }),
    );
    assert.ok(result.restarts >= 1);
    const actual = committedLines(out);
    const expected = expectedRunningCount(count, 2000);
    assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), describeDifference(actual, expected));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('at-least-once mode with kills loses no record (duplicates allowed)', async () => {
  const seed = testSeed('at-least-once');
  const dir = tempDir();
  const out = join(dir, 'out');
  try {
    const result = await within(
      90_000,
      run(fixtureJob('running-count.ts'), {
        parallelism: 2,
        params: { count: '8000', keys: String(KEYS), rate: '12000', out, sourceParallelism: '2' },
        checkpointing: { interval: 40, directory: join(dir, 'chk'), mode: 'at-least-once' },
        restartStrategy: { type: 'fixed-delay', attempts: 100, delayMs: 0 },
        faultInjection: { seed, kills: 5, maxDelayMs: 600 },
      }),
    );
    assert.ok(result.restarts >= 1);
    const seen = new Set(committedLines(out).map((line) => (JSON.parse(line) as { index: number }).index));
    const missing = Array.from({ length: 8000 }, (_, i) => i).filter((i) => !seen.has(i));
    assert.equal(missing.slice(0, 10), [], `${missing.length} indices missing`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
