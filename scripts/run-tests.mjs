#!/usr/bin/env node
// Runs every uvu test file under test/ in its own process (`node --import tsx FILE`, so worker
// threads get TypeScript too), each with a time limit, and prints one closing line
// `N passed, N failed`. A file that crashes, times out or runs no test counts as a failure:
// uvu itself exits 0 when nothing ran. Usage: node scripts/run-tests.mjs [filter…]
// WEIR_TEST_CONCURRENCY (default 2) files run at once; WEIR_TEST_FILE_TIMEOUT_MS per file.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const FILE_TIMEOUT_MS = Number(process.env.WEIR_TEST_FILE_TIMEOUT_MS ?? 300_000);
const filters = process.argv.slice(2);
const CONCURRENCY = Number(process.env.WEIR_TEST_CONCURRENCY ?? 2);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'fixtures') out.push(...findTests(path));
    } else if (/\.test\.(ts|mts|js|mjs)$/.test(name)) {
      out.push(path);
    }
  }
  return out;
}

function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, timedOut });
    });
  });
}

function summarize(output) {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const total = /Total:\s+(\d+)/.exec(plain);
  const passed = /Passed:\s+(\d+)/.exec(plain);
  const skipped = /Skipped:\s+(\d+)/.exec(plain);
  if (!total || !passed) return null;
  return { total: Number(total[1]), passed: Number(passed[1]), skipped: skipped ? Number(skipped[1]) : 0 };
}

const files = findTests(join(root, 'test')).filter(
  (file) => filters.length === 0 || filters.some((f) => file.includes(f)),
);
let passed = 0;
let failed = 0;
let skipped = 0;
const started = Date.now();

async function runAndReport(file) {
  const name = relative(root, file);
  const t0 = Date.now();
  const result = await runFile(file);
  const counts = summarize(result.output);
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  let fileFailed = 0;
  let why = '';
  if (result.timedOut) {
    why = `timed out after ${FILE_TIMEOUT_MS / 1000}s`;
  } else if (!counts) {
    why = `exited ${result.code ?? result.signal} without a test summary`;
  } else if (counts.total === 0) {
    why = 'ran no test (missing test.run()?)';
  }
  if (counts) {
    passed += counts.passed;
    skipped += counts.skipped;
    fileFailed = counts.total - counts.passed - counts.skipped;
  }
  if (why !== '' || result.code !== 0) fileFailed = Math.max(fileFailed, 1);
  failed += fileFailed;
  const status = fileFailed === 0 ? 'ok  ' : 'FAIL';
  console.log(`${status} ${name} (${counts ? `${counts.passed}/${counts.total}` : '?'} in ${seconds}s)${why ? ` — ${why}` : ''}`);
  if (fileFailed !== 0) console.log(result.output.split('\n').map((l) => `     ${l}`).join('\n'));
}

// Files run CONCURRENCY at a time (default 2: much of an integration test is waiting — thread
// start-up, rate-limited sources, restarts — so two files share the 2 cores well). Tests assert
// no timings, so running beside another file changes how long they take, not what they check.
// A file whose source says `weir-test: run alone` (process-crash tests whose fault points are
// reached only if enough checkpoints complete in time) runs with nothing beside it, first.
const alone = files.filter((file) => readFileSync(file, 'utf8').includes('weir-test: run alone'));
for (const file of alone) await runAndReport(file);
const queue = files.filter((file) => !alone.includes(file));
await Promise.all(
  Array.from({ length: Math.max(1, Math.min(CONCURRENCY, queue.length)) }, async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) await runAndReport(file);
  }),
);
console.log(`\n${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)}s`);
if (files.length === 0) {
  console.log('no test files found under test/');
  failed += 1;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
