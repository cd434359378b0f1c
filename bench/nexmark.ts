// bench:nexmark — Nexmark q0–q5, q7, q8 run by the engine (the example jobs examples/nexmark/qN.ts,
// heap state backend, checkpoints every 10 s into a temp directory) at parallelism 1 and 2, next
// to the same query as a hand-written single-thread loop (bench/jobs/nexmark-hand-loops.ts) in
// the same run, with the published Flink 1.13 per-core figures alongside. Main thread.
//
// Per query and repeat: the hand loop over N events (generating them as it goes) and the job at
// parallelism 1 and 2 with `--param events=N`. Figures are events per second:
//   end to end  N / run() wall time (thread start-up, tsx compilation of the job module, the final
//               commit and the thread shutdown included);
//   steady      source events over the time between the first and the last onProgress sample
//               taken while the source was emitting (samples every 500 ms; with one such sample,
//               from it to the job's end, shutdown included; with none — a too short run — not
//               measured). The table shows the span it rests on; checkpoints in it are part of it.
// Per core: parallelism 1 uses one core; the parallelism 2 figure is divided by 2.
// A query whose module is missing, or fails or times out (the engine may not support it yet),
// prints "not available (reason)" and null figures. The engine's row count is compared with the
// hand loop's (except q4, whose update stream depends on the implementation).
//
// Before measuring, every hand loop is checked against its oracle (test/helpers/
// nexmark-reference.ts) on 20,000 events at three event-time rates (CHECK_RATES). `--check` runs a
// larger check instead of the benchmark: hand loops on 200,000 events × 3 seeds × the three rates,
// and each available job module's committed FileSink output (parallelism 1 and 2, 100,000 events)
// against the oracle.
//
// Usage: npm run bench:nexmark [-- --quick] [-- --check] [-- --queries q0,q5] [-- --events N]
//        [-- --jobs DIR] (another directory of qN.ts job modules)
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { run, type NexmarkGeneratorOptions } from 'weir';
import * as oracle from '../test/helpers/nexmark-reference.ts';
import { HAND_LOOPS, type HandLoop } from './jobs/nexmark-hand-loops.ts';
import { median, round } from './stats.ts';

type QueryName = keyof typeof HAND_LOOPS;

interface Query {
  readonly title: string;
  /** Published Flink 1.13 throughput per core (nexmark README: 8-core workers, RocksDB). */
  readonly flinkPerCore: number;
  readonly events: { readonly full: number; readonly quick: number };
  /** Rows of an update stream reduced to the final answer (q4: the last row per category). */
  readonly final?: (rows: readonly unknown[]) => unknown[];
}

const lastPerCategory = (rows: readonly unknown[]) => [
  ...new Map((rows as Array<{ category: number }>).map((r) => [r.category, r] as const)).values(),
];

const QUERIES: Record<QueryName, Query> = {
  q0: { title: 'pass-through', flinkPerCore: 246_000, events: { full: 5_000_000, quick: 600_000 } },
  q1: { title: 'currency conversion', flinkPerCore: 240_000, events: { full: 5_000_000, quick: 600_000 } },
  q2: { title: 'selection', flinkPerCore: 268_000, events: { full: 5_000_000, quick: 600_000 } },
  q3: { title: 'local item suggestion (join)', flinkPerCore: 176_000, events: { full: 1_000_000, quick: 100_000 } },
  q4: { title: 'average price per category (join, aggregate)', flinkPerCore: 37_200, events: { full: 500_000, quick: 50_000 }, final: lastPerCategory },
  q5: { title: 'hot items (sliding windows)', flinkPerCore: 25_200, events: { full: 500_000, quick: 50_000 } },
  q7: { title: 'highest bid (tumbling windows)', flinkPerCore: 12_700, events: { full: 1_000_000, quick: 100_000 } },
  q8: { title: 'new users (window join)', flinkPerCore: 172_000, events: { full: 1_000_000, quick: 100_000 } },
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const checkOnly = args.includes('--check');
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const selected = [...new Set(option('--queries')?.split(',') ?? Object.keys(QUERIES))] as QueryName[];
for (const q of selected) if (!(q in QUERIES)) throw new Error(`--queries: unknown query ${q} (known: ${Object.keys(QUERIES).join(', ')})`);
const eventsOverride = option('--events') === undefined ? undefined : Number(option('--events'));
if (eventsOverride !== undefined && !(Number.isSafeInteger(eventsOverride) && eventsOverride > 0)) {
  throw new Error(`--events must be a positive integer, got ${option('--events')}`);
}
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const JOBS = resolve(option('--jobs') ?? join(ROOT, 'examples/nexmark'));
const REPEATS = quick ? 1 : 3;
const PARALLELISMS = [1, 2] as const;
const CHECKPOINT_INTERVAL_MS = 10_000;
const RUN_TIMEOUT_MS = 240_000;
/**
 * --quick starts no engine run past this many ms into the bench and cancels one still running then
 * (the whole command, build included, must stay under 60 s; on a loaded machine the later runs are
 * reported as skipped).
 */
const QUICK_BUDGET_MS = 40_000;
const HAND_LOOPS_URL = new URL('./jobs/nexmark-hand-loops.ts', import.meta.url).href;
const benchStarted = performance.now();
/**
 * Event-time rates of the self-check: the default; 100 events/s, so 20,000 events span 20 tumbling
 * windows; 30,000 events/s, where a ms of event time no longer starts with each 50-event epoch, so
 * bids can share a ms with a later auction — q4's "bid before its auction" path (at 10,000 and 100
 * no bid ever qualifies that way).
 */
const CHECK_RATES = [10_000, 100, 30_000];

const eventsOf = (q: QueryName) => eventsOverride ?? (quick ? QUERIES[q].events.quick : QUERIES[q].events.full);

// ---------------------------------------------------------------------------------------------
// Checks: hand loops (and, with --check, the engine's committed output) against the oracles.

/** The oracle's rows and the hand loop's, both in canonical order, as canonical JSON lines. */
function compare(expected: readonly unknown[], actual: readonly unknown[]): string | undefined {
  const want = expected.map(oracle.canonicalJson);
  const got = oracle.canonicalRows(actual).map(oracle.canonicalJson);
  if (want.length !== got.length) return `${want.length} rows expected, got ${got.length}`;
  const at = want.findIndex((row, i) => row !== got[i]);
  return at < 0 ? undefined : `row ${at} of ${want.length}: expected ${want[at]!.slice(0, 200)}, got ${got[at]!.slice(0, 200)}`;
}

function checkHandLoops(count: number, options: NexmarkGeneratorOptions): string[] {
  const events = oracle.nexmarkEvents(count, options);
  const failures: string[] = [];
  const counts: string[] = [];
  for (const name of selected) {
    const expected = (oracle[name] as (e: typeof events) => unknown[])(events);
    const rows: unknown[] = [];
    (HAND_LOOPS[name] as HandLoop)(count, options, (row) => rows.push(row));
    const problem = compare(expected, QUERIES[name].final?.(rows) ?? rows);
    if (problem !== undefined) failures.push(`${name}: ${problem}`);
    if (expected.length === 0) failures.push(`${name}: the oracle has no rows here, so the check proves nothing`);
    counts.push(`${name} ${expected.length}`);
  }
  const label = `${count.toLocaleString()} events, seed ${options.seed ?? 0}, ${(options.eventsPerSecond ?? 10_000).toLocaleString()} events/s`;
  console.log(`  hand loops = oracle on ${label}: ${failures.length === 0 ? 'yes' : 'NO'} (rows: ${counts.join(', ')})`);
  return failures;
}

/** The rows a FileSink committed in `dir`, subtask by subtask, each subtask's files in order. */
function committedRows(dir: string): unknown[] {
  if (!existsSync(dir)) return [];
  const order = (f: string) => f.match(/^part-(\d+)-(\d+)\.jsonl$/)!.slice(1).map(Number);
  const files = readdirSync(dir)
    .filter((f) => /^part-\d+-\d+\.jsonl$/.test(f))
    .sort((a, b) => order(a)[0]! - order(b)[0]! || order(a)[1]! - order(b)[1]!);
  return files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown));
}

async function checkEngine(count: number): Promise<string[]> {
  const events = oracle.nexmarkEvents(count);
  const failures: string[] = [];
  for (const name of selected) {
    const job = join(JOBS, `${name}.ts`);
    if (!existsSync(job)) {
      console.log(`  ${name}: not available (${relative(ROOT, job)} not present)`);
      continue;
    }
    const expected = (oracle[name] as (e: typeof events) => unknown[])(events);
    for (const parallelism of PARALLELISMS) {
      const out = mkdtempSync(join(tmpdir(), 'weir-bench-nexmark-out-'));
      try {
        await engineRun(job, parallelism, count, join(out, 'rows'));
        const rows = committedRows(join(out, 'rows'));
        const problem = compare(expected, QUERIES[name].final?.(rows) ?? rows);
        console.log(`  ${name} engine p${parallelism} = oracle on ${count.toLocaleString()} events: ${problem === undefined ? 'yes' : `NO (${problem})`}`);
        if (problem !== undefined) failures.push(`${name} p${parallelism}: ${problem}`);
      } catch (error) {
        console.log(`  ${name} engine p${parallelism}: not available (${reason(error)})`);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
  }
  return failures;
}

// ---------------------------------------------------------------------------------------------
// Measurements.

/**
 * Runs in a fresh worker thread per measurement (eval'd CommonJS): registers tsx (Node 20 applies
 * no `--import` loader hooks inside workers), imports the hand loops and times one of them. A fresh
 * isolate per run, as each engine run gets fresh worker threads: run one after another in one
 * isolate, the loops share the generator's optimized code, and a loop that is not the first to
 * run was measured 2–5× slower (q1 4.0 M/s alone, 0.7–0.9 M/s after q0 or q2).
 */
const HAND_LOOP_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { register } = await import(workerData.tsxApi);
  register();
  const { HAND_LOOPS } = await import(workerData.handLoops);
  const weir = await import('weir');
  new weir.NexmarkGenerator(); // builds the thread's shared text tables, as a source reader does before its first poll
  let rows = 0;
  let last;
  const started = performance.now();
  HAND_LOOPS[workerData.query](workerData.count, {}, (row) => { rows++; last = row; });
  const ms = performance.now() - started;
  parentPort.postMessage({ ms, rows, kept: last !== undefined || rows === 0 });
})().catch((error) => { throw error; });
`;

async function timeHandLoop(name: QueryName, count: number): Promise<{ rate: number; rows: number }> {
  const worker = new Worker(HAND_LOOP_WORKER, {
    eval: true,
    workerData: { tsxApi: import.meta.resolve('tsx/esm/api'), handLoops: HAND_LOOPS_URL, query: name, count },
  });
  const [{ ms, rows }] = (await once(worker, 'message')) as [{ ms: number; rows: number }];
  await worker.terminate();
  return { rate: (count * 1000) / ms, rows };
}

interface EngineSample {
  readonly endToEnd: number;
  /** undefined: no progress sample fell inside the run. */
  readonly steady: number | undefined;
  /** Milliseconds the steady figure spans. */
  readonly steadySpanMs: number;
  readonly rows: number | undefined;
  readonly checkpoints: number;
}

async function engineRun(job: string, parallelism: number, count: number, out?: string): Promise<EngineSample> {
  const checkpointDir = mkdtempSync(join(tmpdir(), 'weir-bench-nexmark-'));
  const progress: Array<[number, number]> = [];
  const abort = new AbortController();
  const timeoutMs = quick ? Math.min(RUN_TIMEOUT_MS, QUICK_BUDGET_MS - (performance.now() - benchStarted)) : RUN_TIMEOUT_MS;
  const timer = setTimeout(() => abort.abort(), Math.max(0, timeoutMs));
  try {
    const started = performance.now();
    const result = await run(job, {
      parallelism,
      stateBackend: 'heap',
      params: { events: String(count), ...(out === undefined ? {} : { out }) },
      checkpointing: { interval: CHECKPOINT_INTERVAL_MS, directory: checkpointDir },
      restartStrategy: { type: 'none' }, // an unsupported query fails at once instead of restarting
      signal: abort.signal,
      cancelGraceMs: 1_000,
      onProgress: (p) => progress.push([performance.now(), p.records]),
    });
    const ended = performance.now();
    if (result.status !== 'FINISHED') {
      throw new Error(timeoutMs < RUN_TIMEOUT_MS ? 'cancelled: over the --quick time budget' : `timed out after ${RUN_TIMEOUT_MS / 1000} s`);
    }
    const inFlight = progress.filter(([, records]) => records > 0 && records < count);
    const first = inFlight[0];
    const last = inFlight.at(-1);
    let steady: number | undefined;
    let steadySpanMs = 0;
    if (first !== undefined && last !== undefined && last !== first) {
      steadySpanMs = last[0] - first[0];
      steady = ((last[1] - first[1]) * 1000) / steadySpanMs;
    } else if (first !== undefined) {
      steadySpanMs = ended - first[0]; // includes the shutdown: a lower bound
      steady = ((count - first[1]) * 1000) / steadySpanMs;
    }
    return {
      endToEnd: (count * 1000) / (ended - started),
      steady,
      steadySpanMs,
      rows: result.metrics.operators['sink']?.recordsIn,
      checkpoints: result.checkpoints.length,
    };
  } finally {
    clearTimeout(timer);
    rmSync(checkpointDir, { recursive: true, force: true });
  }
}

function reason(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const message = (e?.message ?? String(error)).split('\n')[0]!;
  const text = e?.code !== undefined && !message.includes(e.code) ? `${e.code}: ${message}` : message;
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// Report.

function rate(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M/s`;
  return v >= 1e5 ? `${(v / 1e3).toFixed(0)} k/s` : `${(v / 1e3).toFixed(1)} k/s`;
}

function spreadOf(values: readonly number[]): string {
  if (values.length === 0) return '—';
  if (values.length === 1) return rate(values[0]);
  return `${rate(median(values))} [${rate(Math.min(...values)).replace('/s', '')}–${rate(Math.max(...values))}]`;
}

const medianOrNull = (values: readonly number[]) => (values.length === 0 ? null : median(values));
const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : round(a / b));
const whole = (v: number | null) => (v === null ? null : Math.round(v));

// ---------------------------------------------------------------------------------------------
// Main.

console.log(`bench:nexmark — ${checkOnly ? 'check' : quick ? 'quick run' : 'full run'}; queries ${selected.join(', ')}; jobs from ${relative(ROOT, JOBS) || '.'}`);
console.log('self-check:');
const failures: string[] = [];
for (const seed of checkOnly ? [0, 1, 2] : [0]) {
  for (const eventsPerSecond of CHECK_RATES) failures.push(...checkHandLoops(checkOnly ? 200_000 : 20_000, { seed, eventsPerSecond }));
}
if (checkOnly) failures.push(...(await checkEngine(100_000)));
if (failures.length > 0) {
  for (const f of failures) console.error(`  MISMATCH ${f}`);
  process.exit(1);
}
if (checkOnly) process.exit(0);

interface QueryResult {
  readonly events: number;
  readonly hand: number[];
  handRows: number;
  readonly engine: Record<1 | 2, EngineSample[]>;
  readonly unavailable: Partial<Record<1 | 2, string>>;
  readonly warnings: string[];
}

// One small run first, so that loading the engine on the main thread is not charged to the first query.
const warmUp = selected.map((q) => join(JOBS, `${q}.ts`)).find((job) => existsSync(job));
if (warmUp !== undefined) await engineRun(warmUp, 1, 1_000).catch(() => undefined);

const results = {} as Record<QueryName, QueryResult>;
for (const name of selected) {
  const job = join(JOBS, `${name}.ts`);
  results[name] = { events: eventsOf(name), hand: [], handRows: 0, engine: { 1: [], 2: [] }, unavailable: {}, warnings: [] };
  if (!existsSync(job)) results[name].unavailable[1] = results[name].unavailable[2] = `${relative(ROOT, job)} not present`;
}

async function measureEngine(name: QueryName, parallelism: 1 | 2): Promise<void> {
  const r = results[name];
  if (r.unavailable[parallelism] !== undefined) return;
  if (quick && performance.now() - benchStarted > QUICK_BUDGET_MS) {
    r.unavailable[parallelism] = 'skipped: over the --quick time budget';
    return;
  }
  try {
    const sample = await engineRun(join(JOBS, `${name}.ts`), parallelism, r.events);
    r.engine[parallelism].push(sample);
    if (name !== 'q4' && sample.rows !== undefined && sample.rows !== r.handRows) {
      r.warnings.push(`p${parallelism} emitted ${sample.rows.toLocaleString()} rows, the hand loop ${r.handRows.toLocaleString()}`);
    }
  } catch (error) {
    r.unavailable[parallelism] = reason(error);
  }
}

// Per repeat: every query's hand loop and parallelism-1 run, then every parallelism-2 run (so that
// a --quick run cut short by its time budget still has the parallelism-1 figures).
for (let repeat = 0; repeat < REPEATS; repeat++) {
  for (const name of selected) {
    const hand = await timeHandLoop(name, results[name].events);
    results[name].hand.push(hand.rate);
    results[name].handRows = hand.rows;
    await measureEngine(name, 1);
  }
  for (const name of selected) await measureEngine(name, 2);
}

console.log(`engine: heap state, checkpoints every ${CHECKPOINT_INTERVAL_MS / 1000} s to a temp directory; ${REPEATS} repeat(s), median [min–max]`);
const json: Record<string, number | null> = {};
for (const name of selected) {
  const r = results[name];
  const q = QUERIES[name];
  const hand = median(r.hand);
  const e2e = (p: 1 | 2) => r.engine[p].map((s) => s.endToEnd);
  const steady = (p: 1 | 2) => r.engine[p].flatMap((s) => (s.steady === undefined ? [] : [s.steady]));
  const p1 = medianOrNull(e2e(1));
  const p1Steady = medianOrNull(steady(1));
  const p2 = medianOrNull(e2e(2));
  const p2Steady = medianOrNull(steady(2));
  const p2PerCore = p2Steady === null ? null : p2Steady / 2;
  console.log(`\n${name} ${q.title} — ${r.events.toLocaleString()} events, ${r.handRows.toLocaleString()} rows`);
  console.log(`  hand-written loop (1 thread)   ${spreadOf(r.hand)}`);
  for (const p of PARALLELISMS) {
    const label = `  engine, parallelism ${p}        `;
    if (r.engine[p].length === 0) {
      console.log(`${label}not available (${r.unavailable[p] ?? 'no runs'})`);
      continue;
    }
    const checkpoints = r.engine[p].map((s) => s.checkpoints).join('/');
    const times = (v: number | null) => (v === null ? '—' : `${round(v / hand, 2)}×`);
    const vsHand = p === 1 ? `   ${times(p1)} / ${times(p1Steady)} of the hand loop` : `   per core ${rate(p2PerCore ?? undefined)} (steady / 2)`;
    const span = median(r.engine[p].map((s) => s.steadySpanMs));
    const steadyText = steady(p).length === 0 ? '— (no progress sample inside the run)' : `${spreadOf(steady(p))} (over ${(span / 1000).toFixed(1)} s)`;
    console.log(`${label}end to end ${spreadOf(e2e(p))}   steady ${steadyText}${vsHand}   checkpoints ${checkpoints}`);
    if (r.unavailable[p] !== undefined) console.log(`      (later runs: ${r.unavailable[p]})`);
  }
  const verdict = p1Steady === null ? (r.engine[1].length === 0 ? 'no engine figure' : 'no steady figure (run too short)') : `p1 steady ${p1Steady >= q.flinkPerCore ? 'meets' : 'does not meet'} it (${round(p1Steady / q.flinkPerCore, 2)}×)`;
  console.log(`  Flink 1.13 per core            ${rate(q.flinkPerCore)}: ${verdict}`);
  for (const w of r.warnings) console.log(`  WARNING ${w}`);
  Object.assign(json, {
    [`${name}_events`]: r.events,
    [`${name}_handloop_events_per_s`]: Math.round(hand),
    [`${name}_events_per_s`]: whole(p1),
    [`${name}_steady_events_per_s`]: whole(p1Steady),
    [`${name}_over_handloop`]: ratio(p1, hand),
    [`${name}_steady_over_handloop`]: ratio(p1Steady, hand),
    [`${name}_p2_events_per_s`]: whole(p2),
    [`${name}_p2_steady_events_per_s`]: whole(p2Steady),
    [`${name}_p2_per_core_events_per_s`]: whole(p2PerCore),
    [`${name}_over_flink_per_core`]: ratio(p1Steady, q.flinkPerCore),
  });
}
console.log(`\nelapsed ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
console.log(JSON.stringify(json));
