// bench:pipeline — the engine against the same logic as a hand-written single-thread loop, in
// one run: source → map → keyBy → running count (ValueState) → discarding sink. For each engine
// configuration it runs the job with N records and with none, and reports end-to-end records/s
// (thread start-up included) and steady-state records/s (N over the difference of the two).
// Usage: npm run bench:pipeline [-- --quick]
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { run } from 'weir';
import { enrich, generate, step, type UserCount } from './jobs/pipeline-logic.ts';
import { median, millions, round, spread } from './stats.ts';

const quick = process.argv.includes('--quick');
const RECORDS = quick ? 1_000_000 : 5_000_000;
const REPEATS = quick ? 2 : 3;
const JOB = fileURLToPath(new URL('./jobs/pipeline-job.ts', import.meta.url));

function handLoop(count: number): number {
  const started = performance.now();
  const state = new Map<string, UserCount>();
  let emitted = 0;
  for (let i = 0; i < count; i++) {
    const e = enrich(generate(i));
    const next = step(state.get(e.user), e);
    state.set(e.user, next);
    emitted++;
  }
  if (emitted !== count) throw new Error('hand loop lost records');
  return performance.now() - started;
}

interface Config {
  readonly label: string;
  readonly parallelism: number;
  readonly chaining: boolean;
}

const CONFIGS: Record<'p1' | 'p1Unchained' | 'p2', Config> = {
  p1: { label: 'engine, parallelism 1 (one chain, 1 thread)', parallelism: 1, chaining: true },
  p1Unchained: { label: 'same, chaining disabled (4 threads, 3 channels)', parallelism: 1, chaining: false },
  p2: { label: `engine, parallelism 2 (4 threads on ${availableParallelism()} cores)`, parallelism: 2, chaining: true },
};

async function engine(count: number, config: Config): Promise<number> {
  const started = performance.now();
  const result = await run(JOB, {
    parallelism: config.parallelism,
    params: { count: String(count), chaining: String(config.chaining) },
  });
  const elapsed = performance.now() - started;
  if (result.metrics.operators.discard!.recordsIn !== count) throw new Error('engine lost records');
  return elapsed;
}

type Samples = { endToEnd: number[]; steady: number[]; startupMs: number[] };
const samples = Object.fromEntries(
  Object.keys(CONFIGS).map((k) => [k, { endToEnd: [], steady: [], startupMs: [] } as Samples]),
) as Record<keyof typeof CONFIGS, Samples>;
const hand: number[] = [];

await engine(0, CONFIGS.p1); // warm the main thread's module cache
for (let r = 0; r < REPEATS; r++) {
  hand.push(RECORDS / (handLoop(RECORDS) / 1000));
  for (const [key, config] of Object.entries(CONFIGS) as Array<[keyof typeof CONFIGS, Config]>) {
    const full = await engine(RECORDS, config);
    const empty = await engine(0, config);
    samples[key].endToEnd.push(RECORDS / (full / 1000));
    samples[key].steady.push(RECORDS / (Math.max(full - empty, 1) / 1000));
    samples[key].startupMs.push(empty);
  }
}

console.log(`bench:pipeline — ${RECORDS.toLocaleString()} records, ${REPEATS} repeats, median [min–max] records/s`);
console.log(`  hand-written loop: ${spread(hand, millions)}`);
for (const [key, config] of Object.entries(CONFIGS) as Array<[keyof typeof CONFIGS, Config]>) {
  const s = samples[key];
  console.log(`  ${config.label}`);
  console.log(`      end to end ${spread(s.endToEnd, millions)}   steady ${spread(s.steady, millions)}   start-up+stop ${spread(s.startupMs, (v) => `${v.toFixed(0)} ms`)}`);
}
const handRate = median(hand);
const p1 = median(samples.p1.endToEnd);
const p1Steady = median(samples.p1.steady);
console.log(
  JSON.stringify({
    records: RECORDS,
    handloop_records_per_s: Math.round(handRate),
    engine_records_per_s: Math.round(p1),
    engine_steady_records_per_s: Math.round(p1Steady),
    engine_over_handloop: round(p1 / handRate),
    engine_steady_over_handloop: round(p1Steady / handRate),
    engine_unchained_p1_records_per_s: Math.round(median(samples.p1Unchained.endToEnd)),
    engine_p2_records_per_s: Math.round(median(samples.p2.endToEnd)),
    scaling_2_over_1: round(median(samples.p2.endToEnd) / p1),
    scaling_2_over_1_steady: round(median(samples.p2.steady) / p1Steady),
    startup_ms: Math.round(median(samples.p1.startupMs)),
  }),
);
