// bench:backpressure — checkpoints under backpressure in the six configurations of docs/backpressure.md.
// The job is test/fixtures/jobs/running-count.ts with its slow stage: source (rate-limited) →
// keyBy → running count (ValueState) → rebalance → map spinning `slowMicros` per record → FileSink,
// parallelism 2, checkpoints to a directory in os.tmpdir(). The slow stage's capacity
// (2 subtasks × 1e6 / slowMicros records/s) is ~60 % of the offered rate, so the rings in front
// of it stay full and every aligned barrier queues behind them.
// Configurations, one after another, same params: aligned; aligned + debloat; unaligned;
// unaligned + debloat; aligned timeout (100 ms); at-least-once.
// Per configuration: every completed checkpoint's stats (onCheckpoint), from which
//   end to end p50/p99 (trigger → _metadata written),
//   start delay p50 (maxStartDelayMs: the slowest subtask's barrier arrival after the trigger),
//   alignment p50 (the largest per-subtask alignmentMs, CheckpointStats.subtasks; '–' if the
//     engine does not report subtasks),
//   persisted in-flight bytes p50 (persistedData), state size p50,
// and throughput: steady (sink records / time since the source started emitting, per onProgress)
// and end to end (sink records / run() wall time up to the
// cancel, also / JobResult.metrics.durationMs).
// A configuration is cancelled once it has MIN_CHECKPOINTS (8, quick 4) completed checkpoints, or
// after MAX_RUN_MS (60 s, quick 9 s) if it has not; the table says when one fell short.
// Writes an SVG plot of checkpoint duration over time since each run's start:
// docs/backpressure-checkpoints.svg (full) or .scratch/backpressure-checkpoints.svg (--quick).
// Usage: npm run bench:backpressure [-- --quick]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunOptions } from 'weir';
import { round } from './stats.ts';

type CheckpointStats = Parameters<NonNullable<RunOptions['onCheckpoint']>>[0];

const quick = process.argv.includes('--quick');
const PARALLELISM = 2;
const RATE = 10_000;
/** 2 × 1e6 / 330 ≈ 6,060 records/s: the slow stage can take ~60 % of the offered 10,000/s. */
const SLOW_MICROS = 330;
const KEYS = 1_000;
const INTERVAL_MS = quick ? 500 : 1000;
const MIN_CHECKPOINTS = quick ? 4 : 8;
/**
 * Each configuration runs until it has completed MIN_CHECKPOINTS checkpoints (then it is
 * cancelled) or for at most MAX_RUN_MS; the source's count is only an upper bound (the offered
 * rate for twice that long). On a 2-core machine only ~1.5–2.5 k records/s get through (the
 * spinning stage shares the cores with the other threads), and an aligned checkpoint takes seconds.
 */
const MAX_RUN_MS = quick ? 9_000 : 60_000;
const RECORDS = (RATE * MAX_RUN_MS * 2) / 1000;
const ALIGNED_TIMEOUT_MS = 100;

const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));
const JOB = fileURLToPath(new URL('../test/fixtures/jobs/running-count.ts', import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), 'weir-bench-backpressure-'));
const SVG_PATH = join(ROOT_DIR, quick ? '.scratch/backpressure-checkpoints.svg' : 'docs/backpressure-checkpoints.svg');

type Key = 'aligned' | 'aligned_debloat' | 'unaligned' | 'unaligned_debloat' | 'aligned_timeout' | 'at_least_once';
interface Config {
  readonly label: string;
  readonly color: string;
  readonly options: (directory: string) => RunOptions;
}
const base = (directory: string) => ({ interval: INTERVAL_MS, directory });
const CONFIGS: Record<Key, Config> = {
  aligned: { label: 'aligned', color: '#d62728', options: (d) => ({ checkpointing: base(d) }) },
  aligned_debloat: { label: 'aligned + debloat', color: '#ff7f0e', options: (d) => ({ checkpointing: base(d), debloat: true }) },
  unaligned: { label: 'unaligned', color: '#1f77b4', options: (d) => ({ checkpointing: { ...base(d), unaligned: true } }) },
  unaligned_debloat: {
    label: 'unaligned + debloat',
    color: '#17becf',
    options: (d) => ({ checkpointing: { ...base(d), unaligned: true }, debloat: true }),
  },
  aligned_timeout: {
    label: `aligned timeout ${ALIGNED_TIMEOUT_MS} ms`,
    color: '#2ca02c',
    options: (d) => ({ checkpointing: { ...base(d), alignedTimeout: ALIGNED_TIMEOUT_MS } }),
  },
  at_least_once: {
    label: 'at-least-once',
    color: '#9467bd',
    options: (d) => ({ checkpointing: { ...base(d), mode: 'at-least-once' } }),
  },
};

interface Outcome {
  readonly checkpoints: CheckpointStats[];
  /** ms since the run's start (run() called) of each checkpoint's trigger. */
  readonly triggeredAtMs: number[];
  readonly wallMs: number;
  readonly jobMs: number;
  readonly records: number;
  /** Sink records / time since the source started emitting (onProgress samples): start-up left out. */
  readonly steady: number;
  readonly backpressuredMs: number;
  readonly warnings: string[];
  readonly restarts: number;
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

let runs = 0;
async function once(config: Config): Promise<Outcome> {
  const dir = join(TMP, `run-${++runs}`);
  mkdirSync(dir, { recursive: true });
  const checkpoints: CheckpointStats[] = [];
  const warnings: string[] = [];
  const samples: Array<[number, number]> = [];
  const abort = new AbortController();
  let stoppedAt: number | undefined;
  const stop = () => {
    if (stoppedAt !== undefined) return;
    stoppedAt = performance.now();
    abort.abort();
  };
  const timer = setTimeout(stop, MAX_RUN_MS);
  const startEpoch = Date.now();
  const started = performance.now();
  const result = await run(JOB, {
    signal: abort.signal,
    parallelism: PARALLELISM,
    params: {
      count: String(RECORDS),
      keys: String(KEYS),
      rate: String(RATE),
      slowMicros: String(SLOW_MICROS),
      out: join(dir, 'out'),
    },
    onProgress: (p) => samples.push([performance.now(), p.records]),
    onCheckpoint: (s) => {
      checkpoints.push(s);
      if (checkpoints.filter((c) => c.status === 'COMPLETED').length >= MIN_CHECKPOINTS) stop();
    },
    onWarning: (w) => warnings.push(w),
    ...config.options(join(dir, 'checkpoints')),
  });
  clearTimeout(timer);
  // Throughput over the time until the cancel (the records the sink took during the cancel's
  // grace period are few: the slow stage stops with the rest).
  const wallMs = (stoppedAt ?? performance.now()) - started;
  const records = result.metrics.operators.out?.recordsIn ?? NaN;
  if (result.status === 'FINISHED' && records !== RECORDS) warnings.push(`sink saw ${records} records of ${RECORDS}`);
  rmSync(dir, { recursive: true, force: true });
  // Flowing rate: sink records over the time from the last progress sample before the source's
  // first record (start-up left out, to within one 500 ms sampling period) to the cancel.
  const end = stoppedAt ?? performance.now();
  const idle = samples.filter(([, n]) => n === 0).at(-1)?.[0] ?? started;
  const steady = records / ((end - idle) / 1000);
  return {
    steady,
    checkpoints,
    triggeredAtMs: checkpoints.map((c) => c.triggerTimestamp - startEpoch),
    wallMs,
    jobMs: result.metrics.durationMs - (stoppedAt === undefined ? 0 : performance.now() - stoppedAt),
    records,
    backpressuredMs: result.metrics.backpressuredMs,
    warnings: [...warnings, ...result.warnings.filter((w) => !warnings.includes(w))],
    restarts: result.restarts,
  };
}

interface Summary {
  n: number;
  failed: number;
  unalignedCount: number;
  p50: number;
  p99: number;
  max: number;
  startDelayP50: number;
  alignmentP50: number;
  persistedP50: number;
  persistedMax: number;
  stateP50: number;
  throughput: number;
  throughputJob: number;
  steady: number;
  wallMs: number;
  backpressuredMs: number;
}

function summarize(o: Outcome): Summary {
  const done = o.checkpoints.filter((c) => c.status === 'COMPLETED');
  const e2e = done.map((c) => c.endToEndDurationMs);
  const persisted = done.map((c) => c.persistedData);
  return {
    n: done.length,
    failed: o.checkpoints.length - done.length,
    unalignedCount: done.filter((c) => c.unaligned).length,
    p50: percentile(e2e, 0.5),
    p99: percentile(e2e, 0.99),
    max: e2e.length === 0 ? NaN : Math.max(...e2e),
    startDelayP50: percentile(done.map((c) => c.maxStartDelayMs), 0.5),
    alignmentP50: percentile(
      done.flatMap((c) => {
        const subtasks = (c as { subtasks?: ReadonlyArray<{ alignmentMs: number }> }).subtasks;
        return subtasks === undefined || subtasks.length === 0 ? [] : [Math.max(...subtasks.map((t) => t.alignmentMs))];
      }),
      0.5,
    ),
    persistedP50: percentile(persisted, 0.5),
    persistedMax: persisted.length === 0 ? NaN : Math.max(...persisted),
    stateP50: percentile(done.map((c) => c.stateSize), 0.5),
    throughput: o.records / (o.wallMs / 1000),
    throughputJob: o.records / (o.jobMs / 1000),
    steady: o.steady,
    wallMs: o.wallMs,
    backpressuredMs: o.backpressuredMs,
  };
}

// ---------------------------------------------------------------------------------------------
// SVG: checkpoint end-to-end duration (y, ms) over time since the run's start (x, s).
function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

function plot(outcomes: Record<Key, Outcome>): string {
  const W = 980, H = 560, L = 80, R = 230, T = 56, B = 60;
  const pw = W - L - R, ph = H - T - B;
  const series = (Object.keys(CONFIGS) as Key[]).map((key) => ({
    key,
    config: CONFIGS[key],
    points: outcomes[key].checkpoints
      .map((c, i) => [outcomes[key].triggeredAtMs[i]! / 1000, c.endToEndDurationMs] as const)
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
  }));
  const all = series.flatMap((s) => s.points);
  const xMaxRaw = Math.max(1, ...all.map(([x]) => x), ...Object.values(outcomes).map((o) => o.wallMs / 1000));
  const yMaxRaw = Math.max(10, ...all.map(([, y]) => y));
  const xStep = niceStep(xMaxRaw, 10), yStep = niceStep(yMaxRaw, 8);
  const xMax = Math.ceil(xMaxRaw / xStep) * xStep, yMax = Math.ceil(yMaxRaw / yStep) * yStep;
  const sx = (x: number) => L + (x / xMax) * pw;
  const sy = (y: number) => T + ph - (y / yMax) * ph;
  const f = (v: number) => v.toFixed(1);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">Checkpoint end-to-end duration under backpressure${quick ? ' (quick)' : ''}</text>`);
  out.push(
    `<text x="${W / 2}" y="38" text-anchor="middle" fill="#444">` +
      esc(`running count, ${RATE.toLocaleString('en-US')} rec/s offered, slow stage ${SLOW_MICROS} µs/record × ${PARALLELISM}, parallelism ${PARALLELISM}, checkpoints every ${INTERVAL_MS} ms`) +
      `</text>`,
  );
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    out.push(`<line x1="${f(sx(x))}" y1="${T}" x2="${f(sx(x))}" y2="${T + ph}" stroke="#eee"/>`);
    out.push(`<line x1="${f(sx(x))}" y1="${T + ph}" x2="${f(sx(x))}" y2="${T + ph + 5}" stroke="black"/>`);
    out.push(`<text x="${f(sx(x))}" y="${T + ph + 19}" text-anchor="middle">${round(x, 2)}</text>`);
  }
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(`<line x1="${L}" y1="${f(sy(y))}" x2="${L + pw}" y2="${f(sy(y))}" stroke="#eee"/>`);
    out.push(`<line x1="${L - 5}" y1="${f(sy(y))}" x2="${L}" y2="${f(sy(y))}" stroke="black"/>`);
    out.push(`<text x="${L - 8}" y="${f(sy(y) + 4)}" text-anchor="end">${round(y, 2)}</text>`);
  }
  out.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  out.push(`<text x="${L + pw / 2}" y="${H - 15}" text-anchor="middle">checkpoint trigger, seconds since the run's start</text>`);
  out.push(
    `<text x="20" y="${T + ph / 2}" text-anchor="middle" transform="rotate(-90 20 ${T + ph / 2})">checkpoint end-to-end duration (ms)</text>`,
  );
  series.forEach((s, i) => {
    const c = s.config.color;
    if (s.points.length > 1) {
      out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${s.points.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(' ')}"/>`);
    }
    for (const [x, y] of s.points) out.push(`<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="3" fill="${c}"/>`);
    const ly = T + 10 + i * 22;
    out.push(`<line x1="${L + pw + 15}" y1="${ly}" x2="${L + pw + 40}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<circle cx="${L + pw + 27.5}" cy="${ly}" r="3" fill="${c}"/>`);
    out.push(`<text x="${L + pw + 46}" y="${ly + 4}">${esc(`${s.config.label} (${s.points.length})`)}</text>`);
  });
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
const benchStart = performance.now();
const progress = (what: string) => process.stderr.write(`  … ${what} (${((performance.now() - benchStart) / 1000).toFixed(0)} s)\n`);
const outcomes = {} as Record<Key, Outcome>;
try {
  for (const key of Object.keys(CONFIGS) as Key[]) {
    outcomes[key] = await once(CONFIGS[key]);
    progress(`${CONFIGS[key].label}: ${outcomes[key].checkpoints.length} checkpoints, ${(outcomes[key].wallMs / 1000).toFixed(1)} s`);
  }
} finally {
  rmSync(TMP, { recursive: true, force: true });
}
const s = Object.fromEntries((Object.keys(CONFIGS) as Key[]).map((k) => [k, summarize(outcomes[k])])) as Record<Key, Summary>;

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)}` : '–');
const kb = (v: number) => (Number.isFinite(v) ? `${(v / 1024).toFixed(1)}` : '–');
const pad = (v: string, n: number) => v.padStart(n);
console.log(
  `bench:backpressure — running count until ${MIN_CHECKPOINTS} checkpoints or ${MAX_RUN_MS / 1000} s (then cancelled), ${KEYS.toLocaleString('en-US')} keys, ` +
    `${RATE.toLocaleString('en-US')} records/s offered, slow stage ${SLOW_MICROS} µs/record × ${PARALLELISM} ` +
    `(capacity ≈ ${Math.round((PARALLELISM * 1e6) / SLOW_MICROS).toLocaleString('en-US')}/s), parallelism ${PARALLELISM}, ` +
    `checkpoints every ${INTERVAL_MS} ms to a directory; one run each${quick ? ' (quick)' : ''}`,
);
const header =
  `${'configuration'.padEnd(22)}${pad('ckpts', 6)}${pad('unal.', 6)}${pad('e2e p50', 9)}${pad('e2e p99', 9)}${pad('max', 7)}` +
  `${pad('start-delay p50', 16)}${pad('align p50', 10)}${pad('in-flight p50', 14)}${pad('state p50', 11)}${pad('rec/s (wall)', 13)}${pad('rec/s (job)', 12)}${pad('steady rec/s', 13)}${pad('wall', 7)}${pad('bp', 8)}`;
console.log(header);
console.log(
  `${''.padEnd(22)}${pad('', 6)}${pad('', 6)}${pad('ms', 9)}${pad('ms', 9)}${pad('ms', 7)}${pad('ms', 16)}${pad('ms', 10)}${pad('KiB', 14)}${pad('KiB', 11)}${pad('', 13)}${pad('', 12)}${pad('', 13)}${pad('s', 7)}${pad('s', 8)}`,
);
for (const key of Object.keys(CONFIGS) as Key[]) {
  const v = s[key];
  console.log(
    `${CONFIGS[key].label.padEnd(22)}${pad(String(v.n), 6)}${pad(String(v.unalignedCount), 6)}${pad(ms(v.p50), 9)}${pad(ms(v.p99), 9)}${pad(ms(v.max), 7)}` +
      `${pad(ms(v.startDelayP50), 16)}${pad(ms(v.alignmentP50), 10)}${pad(kb(v.persistedP50), 14)}${pad(kb(v.stateP50), 11)}${pad(Math.round(v.throughput).toLocaleString('en-US'), 13)}` +
      `${pad(Math.round(v.throughputJob).toLocaleString('en-US'), 12)}${pad(Number.isFinite(v.steady) ? Math.round(v.steady).toLocaleString('en-US') : '–', 13)}${pad((v.wallMs / 1000).toFixed(1), 7)}${pad((v.backpressuredMs / 1000).toFixed(1), 8)}`,
  );
}
console.log(
  `  e2e = trigger → _metadata written; start delay = slowest subtask's barrier arrival after the trigger (maxStartDelayMs); ` +
    `align = largest subtask alignmentMs (CheckpointStats.subtasks); in-flight = persistedData; unal. = checkpoints marked unaligned; ` +
    `rec/s (wall) = sink records / run() wall time up to the cancel (thread start-up included), (job) = / JobResult.metrics.durationMs less the cancel; steady = sink records / time from the source's start (last onProgress sample with 0 records) to the cancel — start-up left out, the throughput ratio uses it; bp = backpressuredMs summed over subtasks`,
);
for (const key of Object.keys(CONFIGS) as Key[]) {
  const o = outcomes[key];
  if (s[key].n < MIN_CHECKPOINTS) console.log(`  NOTE: ${CONFIGS[key].label} completed ${s[key].n} checkpoints (< ${MIN_CHECKPOINTS} wanted)`);
  if (s[key].failed > 0) console.log(`  NOTE: ${CONFIGS[key].label}: ${s[key].failed} checkpoint(s) reported with status FAILED`);
  if (o.restarts > 0) console.log(`  NOTE: ${CONFIGS[key].label} restarted ${o.restarts} time(s)`);
  for (const w of o.warnings) console.log(`  warning (${CONFIGS[key].label}): ${w}`);
}

const unalignedOverAligned = s.unaligned.p50 / s.aligned.p50;
const debloatReduction = s.aligned.p50 / s.aligned_debloat.p50;
const throughputDebloat = s.aligned_debloat.steady / s.aligned.steady;
const throughputDebloatWall = s.aligned_debloat.throughput / s.aligned.throughput;
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
console.log(
  `targets: unaligned p50 ≤ aligned p50 / 10: ${met(unalignedOverAligned <= 0.1)} (${unalignedOverAligned.toFixed(3)}); ` +
    `debloat cuts aligned p50 ≥ 5×: ${met(debloatReduction >= 5)} (${debloatReduction.toFixed(2)}×); ` +
    `at ≤ 10 % throughput cost: ${met(throughputDebloat >= 0.9)} (${throughputDebloat.toFixed(3)})`,
);

mkdirSync(dirname(SVG_PATH), { recursive: true });
writeFileSync(SVG_PATH, plot(outcomes));
console.log(`plot: ${relative(process.cwd(), SVG_PATH) || SVG_PATH}`);

const r1 = (v: number) => (Number.isFinite(v) ? round(v, 1) : null);
const r0 = (v: number) => (Number.isFinite(v) ? Math.round(v) : null);
const r3 = (v: number) => (Number.isFinite(v) ? round(v) : null);
console.log(
  JSON.stringify({
    aligned_p50_ms: r1(s.aligned.p50),
    aligned_p99_ms: r1(s.aligned.p99),
    aligned_debloat_p50_ms: r1(s.aligned_debloat.p50),
    aligned_debloat_p99_ms: r1(s.aligned_debloat.p99),
    unaligned_p50_ms: r1(s.unaligned.p50),
    unaligned_p99_ms: r1(s.unaligned.p99),
    unaligned_debloat_p50_ms: r1(s.unaligned_debloat.p50),
    unaligned_debloat_p99_ms: r1(s.unaligned_debloat.p99),
    aligned_timeout_p50_ms: r1(s.aligned_timeout.p50),
    aligned_timeout_p99_ms: r1(s.aligned_timeout.p99),
    at_least_once_p50_ms: r1(s.at_least_once.p50),
    at_least_once_p99_ms: r1(s.at_least_once.p99),
    start_delay_p50_ms: Object.fromEntries((Object.keys(CONFIGS) as Key[]).map((k) => [k, r1(s[k].startDelayP50)])),
    alignment_p50_ms: Object.fromEntries((Object.keys(CONFIGS) as Key[]).map((k) => [k, r1(s[k].alignmentP50)])),
    unaligned_persisted_bytes_p50: r0(s.unaligned.persistedP50),
    unaligned_debloat_persisted_bytes_p50: r0(s.unaligned_debloat.persistedP50),
    throughput_debloat_over_aligned: r3(throughputDebloat),
    throughput_debloat_over_aligned_wall: r3(throughputDebloatWall),
    unaligned_p50_over_aligned: r3(unalignedOverAligned),
    debloat_p50_reduction: r3(debloatReduction),
    checkpoints: Object.fromEntries((Object.keys(CONFIGS) as Key[]).map((k) => [k, s[k].n])),
    records_per_s_steady: Object.fromEntries((Object.keys(CONFIGS) as Key[]).map((k) => [k, r0(s[k].steady)])),
    records_per_s_wall: Object.fromEntries((Object.keys(CONFIGS) as Key[]).map((k) => [k, r0(s[k].throughput)])),
  }),
);
