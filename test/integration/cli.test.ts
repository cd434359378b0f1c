import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// The built CLI, exactly what `npx weir` runs (npm test builds first).
const CLI = join(ROOT, 'dist/cli/main.js');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function weir(args: string[], timeoutMs = 60_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`weir ${args.join(' ')} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function expectedTotals(): Map<string, number> {
  const totals = new Map<string, number>();
  const dir = join(ROOT, 'examples/data');
  for (const name of readdirSync(dir).sort()) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const word of text.toLowerCase().split(/[^\p{L}\p{N}']+/u)) {
      if (word !== '') totals.set(word, (totals.get(word) ?? 0) + 1);
    }
  }
  return totals;
}

test('weir run examples/wordcount.ts writes the exact running counts and says where', async () => {
  const out = mkdtempSync(join(tmpdir(), 'weir-cli-'));
  try {
    const result = await weir(['run', 'examples/wordcount.ts', '--parallelism', '2', '--param', `out=${out}`]);
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stdout, /Job finished in/);
    assert.ok(result.stdout.includes(`file(s) in ${out}`) || result.stdout.includes('file(s) in'), result.stdout);
    const files = readdirSync(out);
    assert.ok(files.length > 0 && files.every((f) => /^part-\d+-\d+\.jsonl$/.test(f)), files.join(', '));
    const lines = files.flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== ''));
    const finals = new Map<string, number>();
    const seen = new Map<string, number[]>();
    for (const line of lines) {
      const { word, count } = JSON.parse(line) as { word: string; count: number };
      finals.set(word, Math.max(finals.get(word) ?? 0, count));
      seen.set(word, [...(seen.get(word) ?? []), count]);
    }
    assert.equal(new Map([...finals].sort()), new Map([...expectedTotals()].sort()));
    for (const [word, counts] of seen) {
      assert.equal(counts, Array.from({ length: counts.length }, (_, i) => i + 1), word);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('examples/running-totals.ts runs with checkpoints and commits one line per payment', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cli-totals-'));
  try {
    const out = join(dir, 'out');
    const result = await weir(['run', 'examples/running-totals.ts', '--parallelism', '2', '--checkpoint-dir', join(dir, 'chk'),
      '--checkpoint-interval', '100ms', '--param', 'count=3000', '--param', 'rate=6000', '--param', `out=${out}`]);
    assert.is(result.code, 0, result.stderr);
    const lines = readdirSync(out).filter((f) => f.startsWith('part-')).flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== ''));
    const seqs = lines.map((l) => (JSON.parse(l) as { seq: number }).seq).sort((a, b) => a - b);
    assert.equal(seqs, Array.from({ length: 3000 }, (_, i) => i));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown flag is a usage error: exit 2 and one clear line', async () => {
  const result = await weir(['run', 'examples/wordcount.ts', '--paralelism', '2']);
  assert.is(result.code, 2);
  assert.match(result.stderr, /Unknown option `--paralelism`/);
});

test('a missing job module fails with exit 1 naming the file', async () => {
  const result = await weir(['run', 'examples/no-such-job.ts']);
  assert.is(result.code, 1);
  assert.match(result.stderr, /^weir: cannot load job module .*no-such-job\.ts/);
  assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
});

test('--help lists the run command and its options', async () => {
  const result = await weir(['run', '--help']);
  assert.is(result.code, 0);
  for (const flag of ['--parallelism', '--param', '--max-parallelism', '--ring-bytes', '--record-codec']) {
    assert.ok(result.stdout.includes(flag), `help mentions ${flag}`);
  }
});

test.run();
