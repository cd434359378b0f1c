import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
  // The files directly in examples/data/, as FileSource reads a directory (the other examples' data is in subdirectories).
  for (const entry of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.'))) {
    const text = readFileSync(join(dir, entry.name), 'utf8');
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

/** Runs `weir run …` until `ready()` holds (polled every 50 ms), then kills it with SIGKILL, as a crash would. */
function runUntil(args: string[], ready: () => boolean, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const started = Date.now();
    const poll = setInterval(() => {
      if (ready()) child.kill('SIGKILL');
      else if (Date.now() - started > timeoutMs) {
        child.kill('SIGKILL');
        reject(new Error(`weir ${args.join(' ')}: not ready within ${timeoutMs} ms; stderr: ${stderr}`));
      }
    }, 50);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      if (signal !== 'SIGKILL') reject(new Error(`weir ${args.join(' ')} ended by itself (exit ${code}) before it was ready: ${stderr}`));
      else resolve(stderr);
    });
  });
}

test('weir checkpoints prints each retained checkpoint’s statistics, per subtask, after a real run (and --json)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cli-stats-'));
  try {
    const chk = join(dir, 'chk');
    const jobDir = join(chk, 'running-count');
    const completed = () => (existsSync(jobDir) ? readdirSync(jobDir).filter((n) => existsSync(join(jobDir, n, '_metadata'))) : []);
    // Unaligned checkpoints under backpressure (a slow stage): subtasks persist in-flight data.
    await runUntil(['run', 'test/fixtures/jobs/running-count.ts', '--parallelism', '2', '--checkpoint-dir', chk, '--checkpoint-interval', '100ms',
      '--num-retained', '3', '--unaligned', '--param', 'count=1000000', '--param', 'rate=8000', '--param', 'slowMicros=300', '--param', `out=${join(dir, 'out')}`,
      '--quiet'], () => completed().length >= 3);
    const ids = completed().map((n) => Number(n.slice(4))).sort((a, b) => b - a);

    const text = await weir(['checkpoints', chk]);
    assert.is(text.code, 0, text.stderr);
    assert.match(text.stdout, /^running-count \(/);
    assert.match(text.stdout, /end_to_end_duration [\d.]+ ms · checkpointed_size [\d.]+ (B|KiB|MiB) · persisted_data [\d.]+ (B|KiB|MiB) · unaligned yes · 5 subtask\(s\) acknowledged/);
    const header = text.stdout.split('\n').find((line) => line.includes('start_delay'))!;
    for (const name of ['start_delay', 'alignment_duration', 'processed_data', 'persisted_data', 'sync_duration', 'async_duration', 'checkpointed_size', 'unaligned']) {
      assert.ok(header.includes(name), `the subtask table has ${name}: ${header}`);
    }
    // One row per subtask: the source, the keyed count (2), the slow stage chained with the sink (2).
    const rows = text.stdout.split('\n').filter((line) => /^\s+\d+\/\d+ \S/.test(line));
    assert.is(rows.length, 5 * ids.length, text.stdout);

    const json = await weir(['checkpoints', chk, '--json']);
    assert.is(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as { jobs: Array<{ job: string; checkpoints: Array<{ id: number; statistics: any }> }> };
    const listed = doc.jobs.find((j) => j.job === 'running-count')!.checkpoints;
    assert.equal(listed.map((c) => c.id), ids);
    for (const c of listed) {
      const s = c.statistics;
      assert.ok(s !== null, `checkpoint ${c.id} has statistics`);
      assert.is(s.id, c.id);
      assert.is(s.unaligned, true);
      assert.ok(s.end_to_end_duration >= 0 && s.checkpointed_size > 0 && s.persisted_data >= 0);
      assert.equal(s.subtasks.map((t: { subtask: string }) => t.subtask), ['0/0', '1/0', '1/1', '2/0', '2/1']);
      for (const t of s.subtasks) {
        for (const key of ['start_delay', 'alignment_duration', 'processed_data', 'persisted_data', 'sync_duration', 'async_duration', 'checkpointed_size']) {
          assert.ok(typeof t[key] === 'number' && t[key] >= 0, `checkpoint ${c.id} subtask ${t.subtask} ${key} = ${t[key]}`);
        }
        assert.is(typeof t.unaligned, 'boolean');
      }
      assert.is(s.persisted_data, s.subtasks.reduce((sum: number, t: { persisted_data: number }) => sum + t.persisted_data, 0));
    }

    // A checkpoint taken before statistics were stored has no _stats.json: listed, without them.
    rmSync(join(jobDir, `chk-${ids.at(-1)}`, '_stats.json'));
    const old = await weir(['checkpoints', chk]);
    assert.is(old.code, 0, old.stderr);
    const lines = old.stdout.split('\n');
    const at = lines.findIndex((line) => new RegExp(`^\\s+${ids.at(-1)}\\s+checkpoint\\s`).test(line));
    assert.ok(at > 0, old.stdout);
    assert.match(lines[at + 1]!, /^\s+no statistics recorded$/);
    assert.is(lines.filter((line) => line.includes('end_to_end_duration')).length, ids.length - 1);
    const oldJson = JSON.parse((await weir(['checkpoints', chk, '--json'])).stdout) as typeof doc;
    assert.is(oldJson.jobs[0]!.checkpoints.at(-1)!.statistics, null);
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
