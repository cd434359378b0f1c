// bench:checkpoint — what checkpoints cost and how fast a job recovers, side by side in one run.
//  1. Throughput of bench:pipeline's job at parallelism 2 (the keyBy is a channel that barriers
//     cross) with checkpoints every second, in memory and in a directory, against the same job
//     without checkpointing. Each configuration also runs with no records, so besides end to end
//     (records over run() wall time) the steady rate (records over the difference) leaves thread
//     start-up out; the ratios are of steady rates (end-to-end ratios are printed too).
//  2. Checkpoint duration (end to end: trigger → _metadata written, `result.checkpoints`) and
//     size of heap keyed state with 10 k keys (the directory runs of 1) and with 1 M keys.
//  3. Recovery: a rate-limited job (checkpoints every 200 ms) whose first attempt loses one
//     subtask thread (fault injection); every subtask thread posts heartbeats (first record,
//     then every 2 ms) on a BroadcastChannel. Recovery = first record reaching the keyed operator
//     in the new attempt − last heartbeat of the killed thread (the thread that fell silent
//     first). Also derived: wall time of the killed run − wall time of the same run without kill.
// Usage: npm run bench:checkpoint [-- --quick]
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BroadcastChannel } from 'node:worker_threads';
import { run, type RunOptions } from 'weir';
import { HEARTBEAT_CHANNEL, type Heartbeat } from './jobs/checkpoint-job.ts';
import { median, millions, round, spread } from './stats.ts';

const quick = process.argv.includes('--quick');
const REPEATS = quick ? 2 : 3;
const PARALLELISM = 2;
const RECORDS = quick ? 2_000_000 : 10_000_000;
const BIG_KEYS = 1_000_000;
const BIG_RECORDS = quick ? 2_000_000 : 5_000_000;
const INTERVAL_MS = 1000;
const RECOVERY_RATE = 50_000;
const RECOVERY_RECORDS = quick ? 150_000 : 250_000;
const RECOVERY_INTERVAL_MS = 200;
const KILL_MAX_DELAY_MS = 3000;
/** Kill delays (from the attempt's start, which includes 1–2 s of thread start-up) kept in this range. */
const KILL_DELAY_RANGE: [number, number] = [2500, 3000];
const JOB = fileURLToPath(new URL('./jobs/checkpoint-job.ts', import.meta.url));
const ROOT = join(tmpdir(), `weir-bench-checkpoint-${process.pid}`);

let runs = 0;
function freshDirectory(): string {
  const dir = join(ROOT, `run-${++runs}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface Outcome {
  readonly wallMs: number;
  readonly durations: number[];
  readonly bytes: number[];
  readonly restarts: number;
  readonly warnings: string[];
}

async function once(params: Record<string, string>, options: RunOptions, expected?: number): Promise<Outcome> {
  const warnings: string[] = [];
  const started = performance.now();
  const result = await run(JOB, { parallelism: PARALLELISM, params, onWarning: (w) => warnings.push(w), ...options });
  const wallMs = performance.now() - started;
  if (expected !== undefined && result.metrics.operators.discard!.recordsIn !== expected) {
    throw new Error(`lost records: ${result.metrics.operators.discard!.recordsIn} of ${expected}`);
  }
  return {
    wallMs,
    durations: result.checkpoints.map((c) => c.durationMs),
    bytes: result.checkpoints.map((c) => c.stateBytes),
    restarts: result.restarts,
    warnings,
  };
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

const ms = (v: number) => `${v.toFixed(0)} ms`;
const mib = (v: number) => `${(v / 2 ** 20).toFixed(2)} MiB`;
const ratio = (v: number) => v.toFixed(3);

// ---------------------------------------------------------------------------------------------
// 1 + 2a. Throughput with and without checkpoints; 10 k-key checkpoint figures from the fs runs.
type ThroughputKey = 'none' | 'memory' | 'fs';
const THROUGHPUT: Record<ThroughputKey, { label: string; options: () => RunOptions }> = {
  none: { label: 'no checkpointing', options: () => ({}) },
  memory: { label: 'checkpoints every 1 s, in memory', options: () => ({ checkpointing: { interval: INTERVAL_MS } }) },
  fs: {
    label: 'checkpoints every 1 s, directory in os.tmpdir()',
    options: () => ({ checkpointing: { interval: INTERVAL_MS, directory: freshDirectory() } }),
  },
};
type Samples = { endToEnd: number[]; steady: number[]; emptyMs: number[]; checkpoints: number[]; durations: number[]; bytes: number[]; warnings: number };
const tp = Object.fromEntries(
  Object.keys(THROUGHPUT).map((k) => [k, { endToEnd: [], steady: [], emptyMs: [], checkpoints: [], durations: [], bytes: [], warnings: 0 } as Samples]),
) as Record<ThroughputKey, Samples>;

// 2b. 1 M keys.
const big = { durations: [] as number[], bytes: [] as number[], checkpoints: [] as number[], wallMs: [] as number[] };

// 3. Recovery.
interface Recovery {
  seed: number;
  recoveryMs: number;
  detectMs: number;
  restartMs: number;
  killAfterFirstRecordMs: number;
  victimRole: string;
  derivedMs: number;
}
const recoveries: Recovery[] = [];

/** mulberry32, as the engine's fault injection draws its schedule: [delay, victim] of the first kill. */
function killSchedule(seed: number, subtasks: number): [number, number] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return [Math.floor(next() * KILL_MAX_DELAY_MS), Math.floor(next() * subtasks)];
}

/** The next seed after `after` whose kill lands mid-job and hits subtask `victim` (of 4). */
function nextSeed(after: number, victim: number): number {
  for (let seed = after + 1; ; seed++) {
    const [delay, v] = killSchedule(seed, 4);
    if (delay >= KILL_DELAY_RANGE[0] && delay < KILL_DELAY_RANGE[1] && v === victim) return seed;
  }
}

const beats: Heartbeat[] = [];
const channel = new BroadcastChannel(HEARTBEAT_CHANNEL);
channel.onmessage = (event: unknown) => beats.push((event as { data: Heartbeat }).data);

async function recoveryRun(seed: number | undefined): Promise<{ outcome: Outcome; beats: Heartbeat[]; warnedAt: number[]; warning: string }> {
  beats.length = 0;
  const warnedAt: number[] = [];
  let warning = '';
  const outcome = await once(
    { count: String(RECOVERY_RECORDS), rate: String(RECOVERY_RATE), heartbeat: 'true' },
    {
      checkpointing: { interval: RECOVERY_INTERVAL_MS, directory: freshDirectory() },
      restartStrategy: { type: 'fixed-delay', attempts: 3, delayMs: 0 },
      onWarning: (w) => {
        warnedAt.push(performance.timeOrigin + performance.now());
        warning ||= w;
      },
      ...(seed === undefined ? {} : { faultInjection: { seed, kills: 1, maxDelayMs: KILL_MAX_DELAY_MS } }),
    },
    seed === undefined ? RECOVERY_RECORDS : undefined,
  );
  await new Promise((resolve) => setTimeout(resolve, 20)); // let the last heartbeats arrive
  return { outcome, beats: [...beats], warnedAt, warning };
}

/** undefined when the kill missed the flowing job (before the first record or after the last). */
function analyseRecovery(seed: number, killed: Awaited<ReturnType<typeof recoveryRun>>, baselineMs: number): Recovery | undefined {
  if (killed.outcome.restarts !== 1) return undefined;
  const warnAt = killed.warnedAt[0]!;
  const threads = new Map<number, { role: string; subtask: number; first: number; last: number }>();
  for (const b of killed.beats) {
    const t = threads.get(b.thread);
    if (t === undefined) threads.set(b.thread, { role: b.role, subtask: b.subtask, first: b.at, last: b.at });
    else t.last = Math.max(t.last, b.at);
  }
  const old = [...threads.values()].filter((t) => t.first < warnAt);
  const fresh = [...threads.values()].filter((t) => t.first >= warnAt);
  if (old.length === 0 || !fresh.some((t) => t.role === 'keyed')) return undefined;
  // The warning names the killed subtask ("the worker thread of 'events -> Map' subtask 0 died").
  const named = /'([^']+)' subtask (\d+) died/.exec(killed.warning);
  const victimRole = named === null ? undefined : named[1]!.startsWith('events') ? 'source' : 'keyed';
  const victim =
    old.find((t) => t.role === victimRole && t.subtask === Number(named![2])) ?? old.reduce((a, b) => (b.last < a.last ? b : a));
  const resumed = Math.min(...fresh.filter((t) => t.role === 'keyed').map((t) => t.first));
  const firstRecord = Math.min(...old.map((t) => t.first));
  return {
    seed,
    recoveryMs: resumed - victim.last,
    detectMs: warnAt - victim.last,
    restartMs: resumed - warnAt,
    killAfterFirstRecordMs: victim.last - firstRecord,
    victimRole: `${victim.role} subtask ${victim.subtask}`,
    derivedMs: killed.outcome.wallMs - baselineMs,
  };
}

const progress = (what: string) => process.stderr.write(`  … ${what} (${((performance.now() - benchStart) / 1000).toFixed(0)} s)\n`);
const benchStart = performance.now();
const baselines: number[] = [];
let missedKills = 0;
try {
  let seed = 0;
  await once({ count: '0' }, {}, 0); // warm the main thread's module cache
  for (let r = 0; r < REPEATS; r++) {
    // Rotate the order so no configuration always runs first (or last) in a repeat.
    const keys = Object.keys(THROUGHPUT) as ThroughputKey[];
    const order = [...keys.slice(r % keys.length), ...keys.slice(0, r % keys.length)];
    for (const key of order) {
      const full = await once({ count: String(RECORDS) }, THROUGHPUT[key].options(), RECORDS);
      const empty = await once({ count: '0' }, THROUGHPUT[key].options(), 0);
      const s = tp[key];
      s.endToEnd.push(RECORDS / (full.wallMs / 1000));
      s.steady.push(RECORDS / (Math.max(full.wallMs - empty.wallMs, 1) / 1000));
      s.emptyMs.push(empty.wallMs);
      s.checkpoints.push(full.durations.length);
      s.durations.push(...full.durations);
      s.bytes.push(...full.bytes);
      s.warnings += full.warnings.length;
    }
    progress(`repeat ${r + 1}: throughput`);
    // Quick mode runs the 1 M-key job and the recovery baseline in the first repeat only.
    if (!quick || r === 0) {
      const b = await once({ count: String(BIG_RECORDS), keys: String(BIG_KEYS) }, THROUGHPUT.fs.options(), BIG_RECORDS);
      big.durations.push(...b.durations);
      big.bytes.push(...b.bytes);
      big.checkpoints.push(b.durations.length);
      big.wallMs.push(b.wallMs);
      progress(`repeat ${r + 1}: 1 M keys`);
      baselines.push((await recoveryRun(undefined)).outcome.wallMs);
    }
    for (let attempt = 0; ; attempt++) {
      if (attempt === 3) throw new Error('three kills in a row missed the flowing job');
      seed = nextSeed(seed, r % 4);
      const measured = analyseRecovery(seed, await recoveryRun(seed), median(baselines));
      if (measured !== undefined) {
        recoveries.push(measured);
        break;
      }
      missedKills++;
    }
    progress(`repeat ${r + 1}: recovery`);
  }
} finally {
  channel.close();
  rmSync(ROOT, { recursive: true, force: true });
}

// Ratios are taken per repeat (each repeat ran the three configurations back to back), then the median.
const perRepeat = (key: ThroughputKey, kind: 'steady' | 'endToEnd') => tp[key][kind].map((v, i) => v / tp.none[kind][i]!);
const steadyRatio = (key: ThroughputKey) => median(perRepeat(key, 'steady'));
const e2eRatio = (key: ThroughputKey) => median(perRepeat(key, 'endToEnd'));
const ratioSpread = (key: ThroughputKey, kind: 'steady' | 'endToEnd') => spread(perRepeat(key, kind), ratio);

console.log(
  `bench:checkpoint — parallelism ${PARALLELISM}, ${REPEATS} repeats, median [min–max]${quick ? ' (quick)' : ''}`,
);
console.log(`1. throughput, ${RECORDS.toLocaleString()} records, 10,000 keys (records/s)`);
for (const [key, c] of Object.entries(THROUGHPUT) as Array<[ThroughputKey, (typeof THROUGHPUT)[ThroughputKey]]>) {
  const s = tp[key];
  console.log(`  ${c.label}`);
  console.log(
    `      end to end ${spread(s.endToEnd, millions)}   steady ${spread(s.steady, millions)}   start-up+stop ${spread(s.emptyMs, ms)}` +
      (key === 'none' ? '' : `   checkpoints/run ${spread(s.checkpoints, (v) => v.toFixed(0))}`) +
      (s.warnings > 0 ? `   warnings ${s.warnings}` : ''),
  );
}
console.log(`  with/without, steady:     directory ${ratioSpread('fs', 'steady')}   memory ${ratioSpread('memory', 'steady')}`);
console.log(`  with/without, end to end: directory ${ratioSpread('fs', 'endToEnd')}   memory ${ratioSpread('memory', 'endToEnd')}`);

const fsCk = tp.fs;
console.log(`2. checkpoint duration (trigger → _metadata, end to end) and size, heap state, directory storage`);
console.log(
  `  10,000 keys   (${fsCk.durations.length} checkpoints): p50 ${ms(percentile(fsCk.durations, 0.5))}  p99 ${ms(percentile(fsCk.durations, 0.99))}  ` +
    `max ${ms(Math.max(...fsCk.durations))}  size ${spread(fsCk.bytes, mib)}`,
);
console.log(
  `  1,000,000 keys (${big.durations.length} checkpoints, ${BIG_RECORDS.toLocaleString()} records, run ${spread(big.wallMs, ms)}): ` +
    `p50 ${ms(percentile(big.durations, 0.5))}  p99 ${ms(percentile(big.durations, 0.99))}  size: largest ${mib(Math.max(...big.bytes))}, all ${spread(big.bytes, mib)}`,
);
console.log(`  (the 1 M-key state fills as records arrive; the largest checkpoint holds every key)`);

console.log(
  `3. recovery: ${RECOVERY_RECORDS.toLocaleString()} records at ${RECOVERY_RATE.toLocaleString()}/s, checkpoints every ${RECOVERY_INTERVAL_MS} ms ` +
    `(directory), fixed-delay restart (0 ms), one subtask thread killed`,
);
console.log('  recovery = first record at the keyed operator in the new attempt − last heartbeat (every 2 ms) of the killed subtask\'s thread');
console.log('  detect = restart warning − kill; restart = first record − restart warning; derived = wall(killed run) − wall(run without kill)');
for (const r of recoveries) {
  console.log(
    `  seed ${r.seed}: killed ${r.victimRole} ${ms(r.killAfterFirstRecordMs)} after the first record → recovery ${ms(r.recoveryMs)} ` +
      `(detect ${ms(r.detectMs)}, restart ${ms(r.restartMs)}); derived ${ms(r.derivedMs)}`,
  );
}
if (missedKills > 0) console.log(`  (${missedKills} kill(s) landed before the first record or after the last and were retried with the next seed)`);
const rec = (f: (r: Recovery) => number) => spread(recoveries.map(f), ms);
console.log(`  recovery ${rec((r) => r.recoveryMs)}   detect ${rec((r) => r.detectMs)}   restart ${rec((r) => r.restartMs)}   derived ${rec((r) => r.derivedMs)}`);

const recoveryMs = median(recoveries.map((r) => r.recoveryMs));
const headline = steadyRatio('fs');
console.log(
  `targets: throughput with/without ≥ 0.9: ${headline >= 0.9 ? 'met' : 'MISSED'} (${ratio(headline)}); ` +
    `recovery < 1 s: ${recoveryMs < 1000 ? 'met' : 'MISSED'} (${ms(recoveryMs)})`,
);
console.log(
  JSON.stringify({
    records: RECORDS,
    throughput_with_over_without: round(headline),
    throughput_with_memory_over_without: round(steadyRatio('memory')),
    throughput_with_over_without_end_to_end: round(e2eRatio('fs')),
    throughput_with_memory_over_without_end_to_end: round(e2eRatio('memory')),
    records_per_s_without: Math.round(median(tp.none.endToEnd)),
    records_per_s_with: Math.round(median(tp.fs.endToEnd)),
    checkpoint_p50_ms: round(percentile(fsCk.durations, 0.5), 1),
    checkpoint_p99_ms: round(percentile(fsCk.durations, 0.99), 1),
    checkpoint_bytes_10k: Math.round(median(fsCk.bytes)),
    checkpoint_p50_ms_1m: round(percentile(big.durations, 0.5), 1),
    checkpoint_p99_ms_1m: round(percentile(big.durations, 0.99), 1),
    checkpoint_bytes_1m: Math.max(...big.bytes),
    recovery_ms: Math.round(recoveryMs),
    recovery_derived_ms: Math.round(median(recoveries.map((r) => r.derivedMs))),
  }),
);
