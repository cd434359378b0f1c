import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { completedCheckpoints, runCli } from '../helpers/cli.ts';
import { committedLines, describeDifference, expectedRunningCount, hiddenParts, seeded, testSeed } from '../helpers/running-count.ts';

// The whole process killed under backpressure with each remedy switched on, then resumed with
// --resume: unaligned checkpoints (in-flight data stored and replayed), the aligned timeout
// (checkpoints that switched), buffer debloating. The committed output must be exact.

function sameLines(actual: string[], expected: string[]): void {
  assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), describeDifference(actual, expected));
}

for (const mode of [['--unaligned'], ['--aligned-timeout', '20ms'], ['--debloat']] as const) {
  test(`under backpressure with ${mode.join(' ')}: SIGKILL twice and --resume commits exactly the failure-free output`, async () => {
    const seed = testSeed(`process kills ${mode[0]}`);
    const random = seeded(seed);
    const dir = mkdtempSync(join(tmpdir(), 'weir-crash-bp-'));
    const out = join(dir, 'out');
    const chk = join(dir, 'chk');
    const count = 30_000; // ~4 s at 8,000/s offered, 2 × 300 µs per record taken: queues build up
    const base = ['run', 'test/fixtures/jobs/running-count.ts', '--parallelism', '2', '--checkpoint-dir', chk, '--checkpoint-interval', '50ms',
      '--param', `count=${count}`, '--param', 'keys=50', '--param', 'rate=8000', '--param', 'slowMicros=300', '--param', `out=${out}`, '--quiet', ...mode];
    try {
      let kills = 0;
      for (let attempt = 0; attempt < 20; attempt++) {
        const resume = completedCheckpoints(chk, 'running-count').length > 0 ? ['--resume'] : [];
        const killAfter = kills < 2 ? 1500 + Math.floor(random() * 1000) : undefined;
        const result = await runCli([...base, ...resume], killAfter);
        if (result.signal === 'SIGKILL') {
          kills++;
          continue;
        }
        assert.is(result.code, 0, result.stderr);
        break;
      }
      assert.is(kills, 2, 'the process was killed twice before it finished');
      sameLines(committedLines(out), expectedRunningCount(count, 50));
      assert.equal(hiddenParts(out), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
