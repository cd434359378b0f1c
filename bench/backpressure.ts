// bench:backpressure — checkpoints under backpressure in the six configurations of docs/backpressure.md.
// The job is test/fixtures/jobs/running-count.ts with its slow stage: source (rate-limited) →
// keyBy → running count (ValueState) → rebalance → map spinning `slowMicros` per record → FileSink,
// parallelism 2, checkpoints to a directory in os.tmpdir(). The slow stage's capacity
// (2 subtasks × 1e6 / slowMicros records/s) is below the offered rate, so the rings in front of
// it fill up and every aligned barrier queues behind them.
// Configurations, one after another, same params: aligned; aligned + debloat; unaligned;
// unaligned + debloat; aligned timeout (100 ms); at-least-once. The whole sequence runs
// `--repeats` times (default 3, quick 1); every figure is reported as the median over the repeats
// with its spread [min–max], ratios computed within each repeat (side by side).
//
// Under backpressure: a checkpoint counts when it was triggered after the source was first held
// back (a progress sample below 90 % of the offered rate): from then on the rings are as full as
// the configuration lets them get. Before that, queues are still building, an aligned
// checkpoint's duration only measures how long the run has been going, and with debloating the
// buffers have not shrunk yet. (--quick has no time for that: it counts every checkpoint, and its
// figures do not describe steady backpressure.)
//
// Per configuration and repeat: every counted checkpoint's stats (onCheckpoint), from which
//   end to end p50/p99 (trigger → _metadata written),
//   start delay p50 (maxStartDelayMs: the slowest subtask's barrier arrival after the trigger),
//   alignment p50 (the largest per-subtask alignmentMs, CheckpointStats.subtasks),
//   persisted in-flight bytes p50 (persistedData), state size p50,
// the debloat metrics of the slow stage's input gates (onProgress, debloat configurations, under
// backpressure): debloated size p50 and estimated time to consume the in-flight data p50, and the
// throughput: steady (sink records / time since the source started emitting, per onProgress) and
// end to end (sink records / run() wall time up to the cancel, also / JobResult.metrics.durationMs).
// A configuration is cancelled once it has MIN_CHECKPOINTS (8, quick 4) counted checkpoints, or
// after MAX_RUN_MS (90 s, quick 8 s); the table says when one fell short.
// Writes an SVG plot of checkpoint duration over time since each run's start, every repeat:
// docs/backpressure-checkpoints.svg (full) or .scratch/backpressure-checkpoints.svg (--quick, or
// any run with non-default settings).
// Usage: npm run bench:backpressure [-- --quick] [--repeats N] [--debloat-target 200ms] [--ring-bytes N]
//        [--only aligned,aligned_debloat]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, RUN_OPTION_DEFAULTS, type JobProgress, type RunOptions } from 'weir';
import { median, round } from './stats.ts';

type CheckpointStats = Parameters<NonNullable<RunOptions['onCheckpoint']>>[0];

// ---------------------------------------------------------------------------------------------
// Settings

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = process.argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}

function durationMs(text: string, name: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(text.trim());
  if (match === null || Number(match[1]) <= 0) throw new Error(`--${name} expects a positive duration like 200ms or 1s, got ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * (match[2] === 's' ? 1000 : 1));
}

function positiveInteger(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} expects a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

const quick = process.argv.includes('--quick');
const REPEATS = positiveInteger(flag('repeats') ?? (quick ? '1' : '3'), 'repeats');
/** buffer debloating's target (Flink's default 1 s). */
const DEBLOAT_TARGET_MS = durationMs(flag('debloat-target') ?? '1000ms', 'debloat-target');
const RING_BYTES = positiveInteger(flag('ring-bytes') ?? String(RUN_OPTION_DEFAULTS.ringBytes), 'ring-bytes');
const PARALLELISM = 2;
const RATE = 10_000;
/** 2 × 1e6 / 330 ≈ 6,060 records/s: the slow stage can take ~60 % of the offered 10,000/s (less on 2 loaded cores). */
const SLOW_MICROS = 330;
const KEYS = 1_000;
const INTERVAL_MS = quick ? 500 : 1000;
const MIN_CHECKPOINTS = quick ? 4 : 8;
/**
 * Each configuration runs until it has MIN_CHECKPOINTS counted checkpoints (then it is
 * cancelled) or for at most MAX_RUN_MS; the source's count is only an upper bound. On a 2-core
 * machine only ~2–3 k records/s get through (the spinning stage shares the cores with the other
 * threads), and an aligned checkpoint under backpressure takes tens of seconds.
 */
const MAX_RUN_MS = quick ? 8_000 : 90_000;
const RECORDS = (RATE * MAX_RUN_MS * 2) / 1000;
const ALIGNED_TIMEOUT_MS = 100;
/** A progress sample below this share of the offered rate means the source is held back. */
const BACKPRESSURED_SHARE = 0.9;

const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));
const JOB = fileURLToPath(new URL('../test/fixtures/jobs/running-count.ts', import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), 'weir-bench-backpressure-'));
const DEFAULTS = DEBLOAT_TARGET_MS === 1000 && RING_BYTES === RUN_OPTION_DEFAULTS.ringBytes && flag('only') === undefined;
const SVG_PATH = join(ROOT_DIR, quick || !DEFAULTS ? '.scratch/backpressure-checkpoints.svg' : 'docs/backpressure-checkpoints.svg');

type Key = 'aligned' | 'aligned_debloat' | 'unaligned' | 'unaligned_debloat' | 'aligned_timeout' | 'at_least_once';
interface Config {
  readonly label: string;
  readonly color: string;
  readonly options: (directory: string) => RunOptions;
}
const base = (directory: string) => ({ interval: INTERVAL_MS, directory });
const debloat = { targetMs: DEBLOAT_TARGET_MS };
const CONFIGS: Record<Key, Config> = {
  aligned: { label: 'aligned', color: '#d62728', options: (d) => ({ checkpointing: base(d) }) },
  aligned_debloat: { label: 'aligned + debloat', color: '#ff7f0e', options: (d) => ({ checkpointing: base(d), debloat }) },
  unaligned: { label: 'unaligned', color: '#1f77b4', options: (d) => ({ checkpointing: { ...base(d), unaligned: true } }) },
  unaligned_debloat: {
    label: 'unaligned + debloat',
    color: '#17becf',
    options: (d) => ({ checkpointing: { ...base(d), unaligned: true }, debloat }),
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
const ALL_KEYS = Object.keys(CONFIGS) as Key[];
const KEYS_RUN: Key[] = (() => {
  const only = flag('only');
  if (only === undefined) return ALL_KEYS;
  const keys = only.split(',').map((k) => k.trim());
  for (const k of keys) if (!(ALL_KEYS as string[]).includes(k)) throw new Error(`--only: unknown configuration ${JSON.stringify(k)} (known: ${ALL_KEYS.join(', ')})`);
  return keys as Key[];
})();

// ---------------------------------------------------------------------------------------------
// One run of one configuration

interface Outcome {
  /** Every completed checkpoint, and whether it counts (triggered under backpressure; all in quick mode). */
  readonly checkpoints: CheckpointStats[];
  readonly counted: CheckpointStats[];
  /** ms since the run's start (run() called) of each checkpoint's trigger. */
  readonly triggeredAtMs: number[];
  /** ms since the run's start when the source was first held back (undefined: never). */
  readonly backpressuredAtMs: number | undefined;
  readonly wallMs: number;
  readonly jobMs: number;
  readonly records: number;
  /** Sink records / time since the source started emitting (onProgress samples): start-up left out. */
  readonly steady: number;
  readonly backpressuredMs: number;
  /** The slow stage's debloat metrics sampled under backpressure (empty without debloat). */
  readonly debloatSamples: Array<{ size: number; estimateMs: number; throughput: number }>;
  readonly warnings: string[];
  readonly restarts: number;
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** The job vertex of the slow stage (map chained with the sink), whose input gates the rings in front of it feed. */
const SLOW_VERTEX = '2/';

let runs = 0;
async function once(config: Config): Promise<Outcome> {
  const dir = join(TMP, `run-${++runs}`);
  mkdirSync(dir, { recursive: true });
  const checkpoints: CheckpointStats[] = [];
  const warnings: string[] = [];
  const samples: Array<[number, number]> = [];
  const debloatSamples: Outcome['debloatSamples'] = [];
  const abort = new AbortController();
  let stoppedAt: number | undefined;
  let flowingSince: number | undefined;
  let backpressuredAt: number | undefined;
  const stop = () => {
    if (stoppedAt !== undefined) return;
    stoppedAt = performance.now();
    abort.abort();
  };
  const timer = setTimeout(stop, MAX_RUN_MS);
  const startEpoch = Date.now();
  const started = performance.now();
  const counts = (c: CheckpointStats) => quick || (backpressuredAt !== undefined && c.triggerTimestamp - startEpoch >= backpressuredAt - started);
  const onProgress = (p: JobProgress) => {
    const now = performance.now();
    samples.push([now, p.records]);
    if (p.records > 0 && flowingSince === undefined) flowingSince = now;
    // The first full sample after the source started emitting that fell short of the offered rate.
    const previous = samples.at(-2);
    if (backpressuredAt === undefined && previous !== undefined && previous[1] > 0 && p.recordsPerSecond < BACKPRESSURED_SHARE * RATE) backpressuredAt = now;
    if (backpressuredAt !== undefined || quick) {
      for (const m of p.debloat ?? []) {
        if (m.subtask.startsWith(SLOW_VERTEX)) debloatSamples.push({ size: m.debloatedBufferSize, estimateMs: m.estimatedTimeToConsumeBuffersMs, throughput: m.throughputBytesPerSecond });
      }
    }
  };
  const result = await run(JOB, {
    signal: abort.signal,
    parallelism: PARALLELISM,
    ringBytes: RING_BYTES,
    params: {
      count: String(RECORDS),
      keys: String(KEYS),
      rate: String(RATE),
      slowMicros: String(SLOW_MICROS),
      out: join(dir, 'out'),
    },
    onProgress,
    onCheckpoint: (s) => {
      checkpoints.push(s);
      if (checkpoints.filter((c) => c.status === 'COMPLETED' && counts(c)).length >= MIN_CHECKPOINTS) stop();
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
  const completed = checkpoints.filter((c) => c.status === 'COMPLETED');
  return {
    steady: records / ((end - idle) / 1000),
    checkpoints: completed,
    counted: completed.filter(counts),
    triggeredAtMs: completed.map((c) => c.triggerTimestamp - startEpoch),
    backpressuredAtMs: backpressuredAt === undefined ? undefined : backpressuredAt - started,
    wallMs,
    jobMs: result.metrics.durationMs - (stoppedAt === undefined ? 0 : performance.now() - stoppedAt),
    records,
    backpressuredMs: result.metrics.backpressuredMs,
    debloatSamples,
    warnings: [...warnings, ...result.warnings.filter((w) => !warnings.includes(w))],
    restarts: result.restarts,
  };
}

// ---------------------------------------------------------------------------------------------
// Summaries: per run, then over the repeats

interface Summary {
  n: number;
  unalignedCount: number;
  p50: number;
  p99: number;
  max: number;
  startDelayP50: number;
  alignmentP50: number;
  persistedP50: number;
  stateP50: number;
  debloatedSizeP50: number;
  estimateP50: number;
  slowThroughputP50: number;
  throughput: number;
  throughputJob: number;
  steady: number;
  wallMs: number;
  backpressuredMs: number;
  backpressuredAtS: number;
}

function summarize(o: Outcome): Summary {
  const done = o.counted;
  const e2e = done.map((c) => c.endToEndDurationMs);
  return {
    n: done.length,
    unalignedCount: done.filter((c) => c.unaligned).length,
    p50: percentile(e2e, 0.5),
    p99: percentile(e2e, 0.99),
    max: e2e.length === 0 ? NaN : Math.max(...e2e),
    startDelayP50: percentile(done.map((c) => c.maxStartDelayMs), 0.5),
    alignmentP50: percentile(
      done.flatMap((c) => (c.subtasks.length === 0 ? [] : [Math.max(...c.subtasks.map((t) => t.alignmentMs))])),
      0.5,
    ),
    persistedP50: percentile(done.map((c) => c.persistedData), 0.5),
    stateP50: percentile(done.map((c) => c.stateSize), 0.5),
    debloatedSizeP50: percentile(o.debloatSamples.map((d) => d.size), 0.5),
    estimateP50: percentile(o.debloatSamples.map((d) => d.estimateMs), 0.5),
    slowThroughputP50: percentile(o.debloatSamples.map((d) => d.throughput), 0.5),
    throughput: o.records / (o.wallMs / 1000),
    throughputJob: o.records / (o.jobMs / 1000),
    steady: o.steady,
    wallMs: o.wallMs,
    backpressuredMs: o.backpressuredMs,
    backpressuredAtS: o.backpressuredAtMs === undefined ? NaN : o.backpressuredAtMs / 1000,
  };
}

/** Median over the repeats (NaN runs left out), and the spread. */
interface Across {
  median: number;
  min: number;
  max: number;
}
function across(values: readonly number[]): Across {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite) };
}

// ---------------------------------------------------------------------------------------------
// SVG: checkpoint end-to-end duration (y, ms) over time since the run's start (x, s), every repeat.
function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

function plot(outcomes: Record<Key, Outcome[]>): string {
  const W = 980, H = 560, L = 80, R = 230, T = 56, B = 60;
  const pw = W - L - R, ph = H - T - B;
  const series = KEYS_RUN.flatMap((key) =>
    outcomes[key].map((o) => ({
      key,
      config: CONFIGS[key],
      points: o.checkpoints
        .map((c, i) => [o.triggeredAtMs[i]! / 1000, c.endToEndDurationMs, o.counted.includes(c)] as const)
        .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)),
    })),
  );
  const all = series.flatMap((s) => s.points);
  const xMaxRaw = Math.max(1, ...all.map(([x]) => x), ...KEYS_RUN.flatMap((k) => outcomes[k].map((o) => o.wallMs / 1000)));
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
      esc(
        `running count, ${RATE.toLocaleString('en-US')} rec/s offered, slow stage ${SLOW_MICROS} µs × ${PARALLELISM}, rings ${RING_BYTES / 1024} KiB, ` +
          `debloat ${DEBLOAT_TARGET_MS} ms, checkpoint every ${INTERVAL_MS} ms; ${REPEATS} repeat(s); hollow: not counted`,
      ) +
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
  for (const s of series) {
    const c = s.config.color;
    if (s.points.length > 1) {
      out.push(`<polyline fill="none" stroke="${c}" stroke-width="1.2" stroke-opacity="0.7" points="${s.points.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(' ')}"/>`);
    }
    for (const [x, y, counted] of s.points) {
      out.push(`<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="3" ${counted ? `fill="${c}"` : `fill="white" stroke="${c}"`}/>`);
    }
  }
  KEYS_RUN.forEach((key, i) => {
    const c = CONFIGS[key].color;
    const n = outcomes[key].reduce((sum, o) => sum + o.counted.length, 0);
    const ly = T + 10 + i * 22;
    out.push(`<line x1="${L + pw + 15}" y1="${ly}" x2="${L + pw + 40}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<circle cx="${L + pw + 27.5}" cy="${ly}" r="3" fill="${c}"/>`);
    out.push(`<text x="${L + pw + 46}" y="${ly + 4}">${esc(`${CONFIGS[key].label} (${n})`)}</text>`);
  });
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
const benchStart = performance.now();
const progress = (what: string) => process.stderr.write(`  … ${what} (${((performance.now() - benchStart) / 1000).toFixed(0)} s)\n`);
const outcomes = Object.fromEntries(KEYS_RUN.map((k) => [k, [] as Outcome[]])) as Record<Key, Outcome[]>;
try {
  for (let repeat = 1; repeat <= REPEATS; repeat++) {
    for (const key of KEYS_RUN) {
      const o = await once(CONFIGS[key]);
      outcomes[key].push(o);
      progress(`repeat ${repeat}/${REPEATS}, ${CONFIGS[key].label}: ${o.counted.length} of ${o.checkpoints.length} checkpoints counted, ${(o.wallMs / 1000).toFixed(1)} s`);
    }
  }
} finally {
  rmSync(TMP, { recursive: true, force: true });
}
const runsOf = Object.fromEntries(KEYS_RUN.map((k) => [k, outcomes[k].map(summarize)])) as Record<Key, Summary[]>;
const of = (key: Key, pick: (s: Summary) => number): Across => across((runsOf[key] ?? []).map(pick));

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)}` : '–');
const kib = (v: number) => (Number.isFinite(v) ? `${(v / 1024).toFixed(1)}` : '–');
const withSpread = (a: Across, format: (v: number) => string) =>
  REPEATS === 1 || !Number.isFinite(a.median) ? format(a.median) : `${format(a.median)} [${format(a.min)}–${format(a.max)}]`;
const pad = (v: string, n: number) => v.padStart(n);
console.log(
  `bench:backpressure — running count, ${KEYS.toLocaleString('en-US')} keys, ${RATE.toLocaleString('en-US')} records/s offered, slow stage ${SLOW_MICROS} µs/record × ${PARALLELISM} ` +
    `(capacity ≈ ${Math.round((PARALLELISM * 1e6) / SLOW_MICROS).toLocaleString('en-US')}/s), parallelism ${PARALLELISM}, rings ${(RING_BYTES / 1024).toFixed(0)} KiB per channel, ` +
    `debloat target ${DEBLOAT_TARGET_MS} ms, checkpoints every ${INTERVAL_MS} ms to a directory; each configuration until ${MIN_CHECKPOINTS} counted checkpoints or ${MAX_RUN_MS / 1000} s (then cancelled); ` +
    `${REPEATS} repeat(s)${quick ? ' (quick: every checkpoint counts, queues are still building)' : '; checkpoints count once the source is held back'}`,
);
const w = { label: 24, n: 7, e2e: 24, p99: 9, start: 22, align: 10, size: 15, est: 13, inflight: 14, steady: 13, bpAt: 8 };
console.log(
  `${'configuration'.padEnd(w.label)}${pad('ckpts', w.n)}${pad('e2e p50 [spread]', w.e2e)}${pad('e2e p99', w.p99)}${pad('start-delay p50', w.start)}${pad('align p50', w.align)}` +
    `${pad('debloated p50', w.size)}${pad('to consume', w.est)}${pad('in-flight p50', w.inflight)}${pad('steady rec/s', w.steady)}${pad('bp from', w.bpAt)}`,
);
console.log(
  `${''.padEnd(w.label)}${pad('', w.n)}${pad('ms', w.e2e)}${pad('ms', w.p99)}${pad('ms', w.start)}${pad('ms', w.align)}${pad('KiB', w.size)}${pad('ms', w.est)}${pad('KiB', w.inflight)}${pad('', w.steady)}${pad('s', w.bpAt)}`,
);
for (const key of KEYS_RUN) {
  const n = (runsOf[key] ?? []).map((s) => s.n);
  console.log(
    `${CONFIGS[key].label.padEnd(w.label)}${pad(n.join('/'), w.n)}${pad(withSpread(of(key, (s) => s.p50), ms), w.e2e)}${pad(ms(of(key, (s) => s.p99).median), w.p99)}` +
      `${pad(withSpread(of(key, (s) => s.startDelayP50), ms), w.start)}${pad(ms(of(key, (s) => s.alignmentP50).median), w.align)}` +
      `${pad(kib(of(key, (s) => s.debloatedSizeP50).median), w.size)}${pad(ms(of(key, (s) => s.estimateP50).median), w.est)}${pad(kib(of(key, (s) => s.persistedP50).median), w.inflight)}` +
      `${pad(Number.isFinite(of(key, (s) => s.steady).median) ? Math.round(of(key, (s) => s.steady).median).toLocaleString('en-US') : '–', w.steady)}` +
      `${pad(Number.isFinite(of(key, (s) => s.backpressuredAtS).median) ? of(key, (s) => s.backpressuredAtS).median.toFixed(1) : '–', w.bpAt)}`,
  );
}
console.log(
  `  ckpts = counted checkpoints per repeat; figures are medians over the repeats [min–max]; e2e = trigger → _metadata written; ` +
    `start delay = slowest subtask's barrier arrival after the trigger (maxStartDelayMs); align = largest subtask alignmentMs; ` +
    `debloated / to consume = the slow stage's input gates under backpressure (debloatedBufferSize per channel, estimatedTimeToConsumeBuffersMs; onProgress, '–' without debloat or metrics); ` +
    `in-flight = persistedData; steady = sink records / time from the source's start to the cancel; bp from = when the source was first held back (s since the run's start)`,
);
// What the rings hold: the slow stage's measured intake (debloat runs) against a full ring.
const intake = across(KEYS_RUN.filter((k) => k.endsWith('debloat')).flatMap((k) => (runsOf[k] ?? []).map((s) => s.slowThroughputP50)));
const fullRingSeconds = Number.isFinite(intake.median) ? RING_BYTES / (intake.median / 2) : NaN;
if (Number.isFinite(fullRingSeconds)) {
  console.log(
    `  rings: a slow-stage subtask consumed ${(intake.median / 1024).toFixed(1)} KiB/s (busy throughput, p50) from its 2 channels, so a full ${(RING_BYTES / 1024).toFixed(0)} KiB ring holds ≈ ${fullRingSeconds.toFixed(1)} s of its input; ` +
      `debloating aims at ${DEBLOAT_TARGET_MS} ms per gate`,
  );
}
for (const key of KEYS_RUN) {
  const o = outcomes[key];
  o.forEach((run, i) => {
    const s = runsOf[key]![i]!;
    const tag = REPEATS > 1 ? ` (repeat ${i + 1})` : '';
    if (s.n < MIN_CHECKPOINTS) console.log(`  NOTE: ${CONFIGS[key].label}${tag} has ${s.n} counted checkpoints (< ${MIN_CHECKPOINTS} wanted; ${run.checkpoints.length} completed in all)`);
    if (!quick && run.backpressuredAtMs === undefined) console.log(`  NOTE: ${CONFIGS[key].label}${tag}: the source was never held back`);
    if (run.restarts > 0) console.log(`  NOTE: ${CONFIGS[key].label}${tag} restarted ${run.restarts} time(s)`);
    for (const warning of run.warnings) console.log(`  warning (${CONFIGS[key].label}${tag}): ${warning}`);
  });
}

/** A ratio computed within each repeat (side by side), over the repeats. */
function ratio(num: Key, den: Key, pick: (s: Summary) => number): Across {
  if (runsOf[num] === undefined || runsOf[den] === undefined) return { median: NaN, min: NaN, max: NaN };
  return across(runsOf[num]!.map((s, i) => pick(s) / pick(runsOf[den]![i]!)));
}
const unalignedOverAligned = ratio('unaligned', 'aligned', (s) => s.p50);
const debloatReduction = ratio('aligned', 'aligned_debloat', (s) => s.p50);
const throughputDebloat = ratio('aligned_debloat', 'aligned', (s) => s.steady);
const throughputDebloatWall = ratio('aligned_debloat', 'aligned', (s) => s.throughput);
const met = (a: Across, ok: (v: number) => boolean) => (!Number.isFinite(a.median) ? 'n/a' : ok(a.median) ? 'met' : 'MISSED');
const r = (a: Across, digits: number) =>
  !Number.isFinite(a.median) ? 'no data' : a.min === a.max ? a.median.toFixed(digits) : `${a.median.toFixed(digits)} [${a.min.toFixed(digits)}–${a.max.toFixed(digits)}]`;
console.log(
  `targets: unaligned p50 ≤ aligned p50 / 10: ${met(unalignedOverAligned, (v) => v <= 0.1)} (${r(unalignedOverAligned, 3)}); ` +
    `debloat (target ${DEBLOAT_TARGET_MS} ms) cuts aligned p50 ≥ 5×: ${met(debloatReduction, (v) => v >= 5)} (${r(debloatReduction, 2)}${Number.isFinite(debloatReduction.median) ? '×' : ''}); ` +
    `at ≤ 10 % throughput cost: ${met(throughputDebloat, (v) => v >= 0.9)} (${r(throughputDebloat, 3)})`,
);

mkdirSync(dirname(SVG_PATH), { recursive: true });
writeFileSync(SVG_PATH, plot(outcomes));
console.log(`plot: ${relative(process.cwd(), SVG_PATH) || SVG_PATH}`);

const r1 = (v: number) => (Number.isFinite(v) ? round(v, 1) : null);
const r0 = (v: number) => (Number.isFinite(v) ? Math.round(v) : null);
const r3 = (v: number) => (Number.isFinite(v) ? round(v) : null);
const spread1 = (a: Across) => [r1(a.min), r1(a.max)];
const spread3 = (a: Across) => [r3(a.min), r3(a.max)];
const byKey = (pick: (k: Key) => unknown) => Object.fromEntries(KEYS_RUN.map((k) => [k, pick(k)]));
const p50 = (k: Key) => of(k, (s) => s.p50);
const p99 = (k: Key) => of(k, (s) => s.p99);
const figures: Record<string, unknown> = {};
for (const k of KEYS_RUN) {
  figures[`${k}_p50_ms`] = r1(p50(k).median);
  figures[`${k}_p99_ms`] = r1(p99(k).median);
}
for (const k of KEYS_RUN) figures[`${k}_p50_ms_spread`] = spread1(p50(k));
console.log(
  JSON.stringify({
    ...figures,
    start_delay_p50_ms: byKey((k) => r1(of(k, (s) => s.startDelayP50).median)),
    alignment_p50_ms: byKey((k) => r1(of(k, (s) => s.alignmentP50).median)),
    ...(runsOf.unaligned === undefined ? {} : { unaligned_persisted_bytes_p50: r0(of('unaligned', (s) => s.persistedP50).median) }),
    ...(runsOf.unaligned_debloat === undefined ? {} : { unaligned_debloat_persisted_bytes_p50: r0(of('unaligned_debloat', (s) => s.persistedP50).median) }),
    throughput_debloat_over_aligned: r3(throughputDebloat.median),
    throughput_debloat_over_aligned_spread: spread3(throughputDebloat),
    throughput_debloat_over_aligned_wall: r3(throughputDebloatWall.median),
    unaligned_p50_over_aligned: r3(unalignedOverAligned.median),
    unaligned_p50_over_aligned_spread: spread3(unalignedOverAligned),
    debloat_p50_reduction: r3(debloatReduction.median),
    debloat_p50_reduction_spread: spread3(debloatReduction),
    debloated_size_bytes_p50: byKey((k) => r0(of(k, (s) => s.debloatedSizeP50).median)),
    estimated_time_to_consume_ms_p50: byKey((k) => r0(of(k, (s) => s.estimateP50).median)),
    full_ring_seconds: r1(fullRingSeconds),
    checkpoints: byKey((k) => (runsOf[k] ?? []).reduce((sum, s) => sum + s.n, 0)),
    checkpoints_per_repeat: byKey((k) => (runsOf[k] ?? []).map((s) => s.n)),
    backpressured_from_s: byKey((k) => r1(of(k, (s) => s.backpressuredAtS).median)),
    records_per_s_steady: byKey((k) => r0(of(k, (s) => s.steady).median)),
    records_per_s_wall: byKey((k) => r0(of(k, (s) => s.throughput).median)),
    repeats: REPEATS,
    debloat_target_ms: DEBLOAT_TARGET_MS,
    ring_bytes: RING_BYTES,
    quick,
  }),
);
