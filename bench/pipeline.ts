// bench:pipeline — the engine against the same logic as a hand-written single-thread loop, in
// one run: source → map → keyBy → running count (ValueState) → discarding sink. Reports
// end-to-end records/s (thread start-up included), the engine at parallelism 1 and 2, and the
// start-up cost alone (the same job with no records). Usage: npm run bench:pipeline [-- --quick]
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { run } from '../src/index.ts';
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

async function engine(count: number, parallelism: number): Promise<number> {
  const started = performance.now();
  const result = await run(JOB, { parallelism, params: { count: String(count) } });
  const elapsed = performance.now() - started;
  if (result.metrics.operators.discard!.recordsIn !== count) throw new Error('engine lost records');
  return elapsed;
}

const rates = { hand: [] as number[], p1: [] as number[], p2: [] as number[] };
const startup: number[] = [];
await engine(0, 1); // warm the module cache of the main thread
for (let r = 0; r < REPEATS; r++) {
  rates.hand.push(RECORDS / (handLoop(RECORDS) / 1000));
  rates.p1.push(RECORDS / ((await engine(RECORDS, 1)) / 1000));
  rates.p2.push(RECORDS / ((await engine(RECORDS, 2)) / 1000));
  startup.push(await engine(0, 1));
}

const hand = median(rates.hand);
const p1 = median(rates.p1);
const p2 = median(rates.p2);
console.log(`bench:pipeline — ${RECORDS.toLocaleString()} records, ${REPEATS} repeats, median [min–max]`);
console.log(`  hand-written loop        ${spread(rates.hand, millions)} records/s`);
console.log(`  engine, parallelism 1    ${spread(rates.p1, millions)} records/s (2 threads: source+map, count+sink)`);
console.log(`  engine, parallelism 2    ${spread(rates.p2, millions)} records/s (4 threads on ${availableParallelism()} cores)`);
console.log(`  engine start-up + stop   ${spread(startup, (v) => `${v.toFixed(0)} ms`)} (empty job, parallelism 1)`);
console.log(
  JSON.stringify({
    records: RECORDS,
    engine_records_per_s: Math.round(p1),
    engine_p2_records_per_s: Math.round(p2),
    handloop_records_per_s: Math.round(hand),
    engine_over_handloop: round(p1 / hand),
    scaling_2_over_1: round(p2 / p1),
    startup_ms: Math.round(median(startup)),
  }),
);
