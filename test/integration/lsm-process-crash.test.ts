import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunOptions } from '../../src/index.ts';
import { fixtureJob } from '../helpers/jobs.ts';
import { committedLines, describeDifference, expectedRunningCount, hiddenParts, seeded, testSeed } from '../helpers/running-count.ts';
import { assertSharedConsistent, sharedState } from '../helpers/shared-files.ts';

// The whole process killed (SIGKILL) exactly while the shared-state registry writes the catalog
// or deletes a shared file, then resumed in a new process: every retained checkpoint keeps its
// files, the resumed run's sweep removes the leftovers, and the committed output is exact.
// weir-test: run alone — the crash point must be reached before the job ends, which takes enough
// completed checkpoints; on a heavily loaded machine LSM checkpoints slow to ~2 s each.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNNER = join(ROOT, 'test/fixtures/run-job.ts');
const COUNT = 60_000;
const KEYS = 20_000;

function runInProcess(options: RunOptions): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, fixtureJob('running-count.ts'), JSON.stringify(options)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the job process did not exit within 90 s: ${stderr}`));
    }, 90_000);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function options(dir: string, out: string, resume: boolean, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    parallelism: 2,
    stateBackend: 'lsm',
    lsm: { memoryBudget: 64 * 1024, directory: join(dir, 'lsm') },
    params: { count: String(COUNT), keys: String(KEYS), rate: '8000', out },
    checkpointing: { interval: 60, directory: join(dir, 'chk'), ...(resume ? { resumeFrom: 'latest' } : {}) },
    ...extra,
  };
}

for (const point of ['registry-update', 'shared-delete'] as const) {
  test(`SIGKILL during ${point}, then --resume: retained checkpoints intact, leftovers swept, output exact`, async () => {
    const seed = testSeed(`process crash ${point}`);
    const occurrence = 2 + Math.floor(seeded(seed)() * 4);
    const dir = mkdtempSync(join(tmpdir(), 'weir-lsm-crash-'));
    const out = join(dir, 'out');
    const jobDir = join(dir, 'chk', 'running-count');
    try {
      const crashed = await runInProcess(options(dir, out, false, { faultInjection: { seed, kills: 0, maxDelayMs: 1, processCrash: { point, occurrence } } }));
      assert.is(crashed.signal, 'SIGKILL', `the process was to kill itself at ${point} #${occurrence}: ${crashed.code} ${crashed.stdout} ${crashed.stderr}`);
      const afterCrash = await sharedState(jobDir);
      assert.ok(afterCrash.checkpoints.length >= 1, 'a checkpoint completed before the crash');
      // Leftovers (unregistered or not yet deleted files) are allowed here; missing files are not.
      assertSharedConsistent(afterCrash, true);
      const resumed = await runInProcess(options(dir, out, true));
      assert.is(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /"status":"FINISHED"/);
      const actual = committedLines(out);
      const expected = expectedRunningCount(COUNT, KEYS);
      assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), describeDifference(actual, expected));
      assert.equal(hiddenParts(out), []);
      const atEnd = await sharedState(jobDir);
      assertSharedConsistent(atEnd);
      assert.is(atEnd.present.length, 0, 'shared/ is empty once the job finished');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
