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
