import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, WeirError } from '../../src/index.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';
import { completedCheckpoints, runCli } from '../helpers/cli.ts';
import { committedLines, describeDifference, expectedRunningCount, hiddenParts, seeded, testSeed } from '../helpers/running-count.ts';

const KEYS = 7;

function sameLines(actual: string[], expected: string[]): void {
  assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), describeDifference(actual, expected));
}

test('the whole process killed with SIGKILL 5 times and resumed with weir run --resume commits exactly the failure-free output', async () => {
  const seed = testSeed('process kills');
  const random = seeded(seed);
  const dir = mkdtempSync(join(tmpdir(), 'weir-crash-'));
  const out = join(dir, 'out');
  const chk = join(dir, 'chk');
  const count = 32_000; // ~4 s of data at 8,000/s: long enough that five kills land before the end
  const base = ['run', 'test/fixtures/jobs/running-count.ts', '--parallelism', '2', '--checkpoint-dir', chk, '--checkpoint-interval', '50ms',
    '--param', `count=${count}`, '--param', `keys=${KEYS}`, '--param', 'rate=8000', '--param', `out=${out}`, '--quiet'];
  try {
    let kills = 0;
    let finished = false;
    for (let attempt = 0; attempt < 40 && !finished; attempt++) {
      const resume = completedCheckpoints(chk, 'running-count').length > 0 ? ['--resume'] : [];
      const killAfter = kills < 5 ? 700 + Math.floor(random() * 1300) : undefined;
      const result = await runCli([...base, ...resume], killAfter);
      if (result.signal === 'SIGKILL') {
        kills++;
        continue;
      }
      assert.is(result.code, 0, result.stderr);
      finished = kills >= 5;
      if (!finished) break;
    }
    assert.ok(kills >= 5, `the process was killed ${kills} times (it finished too fast to kill 5 times)`);
    sameLines(committedLines(out), expectedRunningCount(count, KEYS));
    assert.equal(hiddenParts(out), []);
    // Running it again resumes from the final checkpoint: nothing runs, nothing changes.
    const again = await runCli([...base, '--resume'], undefined);
    assert.is(again.code, 0, again.stderr);
    sameLines(committedLines(out), expectedRunningCount(count, KEYS));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs the job with checkpoints (retaining 2) and cancels it part-way, keeping its checkpoints. */
async function checkpointedThenCanceled(dir: string, parallelism: number, count: number, keys = 5000): Promise<void> {
  const controller = new AbortController();
  const job = run(fixtureJob('running-count.ts'), {
    parallelism,
    params: { count: String(count), keys: String(keys), rate: String(count / 2), out: join(dir, 'out') },
    checkpointing: { interval: 100, directory: join(dir, 'chk'), numRetained: 2, retention: 'retain-on-cancel' },
    restartStrategy: { type: 'none' },
    signal: controller.signal,
    onCheckpoint: (stats) => {
      if (stats.id >= 4) controller.abort();
    },
  });
  const result = await within(60_000, job);
  assert.is(result.status, 'CANCELED');
  assert.ok(completedCheckpoints(join(dir, 'chk'), 'running-count').length >= 2, 'two checkpoints retained');
}

test('a checkpoint taken at parallelism 2 restores at parallelism 3 and at 1 with the same committed output', async () => {
  const count = 10_000;
  const expected = expectedRunningCount(count, 5000);
  const first = mkdtempSync(join(tmpdir(), 'weir-rescale-'));
  try {
    await checkpointedThenCanceled(first, 2, count);
    const second = `${first}-copy`;
    cpSync(first, second, { recursive: true });
    try {
      for (const [dir, parallelism] of [[first, 3], [second, 1]] as const) {
        const result = await within(
          60_000,
          run(fixtureJob('running-count.ts'), {
            parallelism,
            params: { count: String(count), keys: '5000', out: join(dir, 'out') },
            checkpointing: { interval: 100, directory: join(dir, 'chk'), resumeFrom: 'latest' },
            restartStrategy: { type: 'none' },
          }),
        );
        assert.is(result.status, 'FINISHED');
        assert.is(result.metrics.operators['running-count']!.parallelism, parallelism);
        sameLines(committedLines(join(dir, 'out')), expected);
      }
    } finally {
      rmSync(second, { recursive: true, force: true });
    }
  } finally {
    rmSync(first, { recursive: true, force: true });
  }
});

test('a flipped byte in a state file and a truncated _metadata are reported, and --resume falls back to an older checkpoint without losing a record', async () => {
  const count = 40_000;
  const keys = 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'weir-corrupt-'));
  try {
    await checkpointedThenCanceled(dir, 2, count, keys);
    const jobDir = join(dir, 'chk', 'running-count');
    const [older, latest] = completedCheckpoints(join(dir, 'chk'), 'running-count').slice(-2) as [number, number];
    const stateFile = readdirSync(join(jobDir, `chk-${latest}`)).find((name) => name.endsWith('.state'));
    assert.ok(stateFile !== undefined, 'the latest checkpoint has a state file (keyed state above the inline limit)');
    const path = join(jobDir, `chk-${latest}`, stateFile!);
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(path, bytes);

    // --from the corrupt checkpoint: a clear error naming the file.
    const error = await run(fixtureJob('running-count.ts'), {
      parallelism: 2,
      params: { count: String(count), keys: String(keys), out: join(dir, 'out') },
      checkpointing: { interval: 100, directory: join(dir, 'chk'), resumeFrom: join(jobDir, `chk-${latest}`) },
      restartStrategy: { type: 'none' },
    }).then(() => undefined, (e: unknown) => e);
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_CHECKPOINT_CORRUPT');
    assert.ok((error as WeirError).message.includes(stateFile!), (error as WeirError).message);

    // --resume: falls back to the older checkpoint, says why, and finishes exactly.
    const warnings: string[] = [];
    const result = await within(
      60_000,
      run(fixtureJob('running-count.ts'), {
        parallelism: 2,
        params: { count: String(count), keys: String(keys), out: join(dir, 'out') },
        checkpointing: { interval: 100, directory: join(dir, 'chk'), resumeFrom: 'latest' },
        restartStrategy: { type: 'none' },
        onWarning: (w) => warnings.push(w),
      }),
    );
    assert.is(result.status, 'FINISHED');
    assert.ok(warnings.some((w) => w.includes(`chk-${latest}`) && w.includes(stateFile!)), warnings.join('\n'));
    // Output the newer checkpoint already committed is replayed from the older one: a fallback
    // past a committed checkpoint is at-least-once for that stretch. Nothing may be missing,
    // and nothing beyond that stretch may be doubled.
    const actual = committedLines(join(dir, 'out'));
    const expected = expectedRunningCount(count, keys);
    const seen = new Set(actual);
    assert.equal(expected.filter((line) => !seen.has(line)).slice(0, 3), [], describeDifference(actual, expected));
    const wanted = new Set(expected);
    assert.ok(actual.every((line) => wanted.has(line)), 'every committed line is a line of the failure-free output');
    assert.ok(older < latest);

    // A truncated _metadata: loading it is WEIR_CHECKPOINT_CORRUPT naming the file.
    const metadata = join(jobDir, readdirSync(jobDir).find((n) => /^chk-\d+$/.test(n) && existsSync(join(jobDir, n, '_metadata')))!, '_metadata');
    truncateSync(metadata, 20);
    const truncated = await run(fixtureJob('running-count.ts'), {
      params: { count: '10', out: join(dir, 'out2') },
      checkpointing: { interval: 100, directory: join(dir, 'chk'), resumeFrom: metadata },
    }).then(() => undefined, (e: unknown) => e);
    assert.is((truncated as WeirError).code, 'WEIR_CHECKPOINT_CORRUPT');
    assert.ok((truncated as WeirError).message.includes('_metadata'), (truncated as WeirError).message);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
