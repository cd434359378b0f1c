// The Nexmark example jobs (examples/nexmark/) against their single-thread oracles
// (test/helpers/nexmark-reference.ts): with exactly-once checkpoints at parallelism 1 and 2, and at
// parallelism 2 with one worker kill (for the queries whose `kill` is not false, or all with
// WEIR_NEXMARK_ALL_KILLS=1), the rows FileSink committed must be exactly the oracle's.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { run, type RunOptions } from '../../src/index.ts';
import type { NexmarkEvent } from '../../src/connectors/nexmark/model.ts';
import { within } from '../helpers/jobs.ts';
import { committedRows, QUERIES, rowDifference, type NexmarkQuery } from '../helpers/nexmark-jobs.ts';
import { canonicalRows, nexmarkEvents } from '../helpers/nexmark-reference.ts';
import { hiddenParts } from '../helpers/running-count.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const EVENTS = 25_000;
/** The generator's seed (the job's `seed` param), so the check does not lean on the default. */
const GENERATOR_SEED = 7;
/** Wall-clock rate of the runs with a kill, so the job is still running when the kill lands (~2 s). */
const KILL_RATE = 12_500;
/** Base seed of the kill schedules (query i uses BASE + i); WEIR_TEST_SEED=<base> replays another. */
const KILL_SEED = process.env.WEIR_TEST_SEED === undefined ? 606 : Number(process.env.WEIR_TEST_SEED);
/** WEIR_NEXMARK_ALL_KILLS=1 also runs the kill case of the queries whose `kill` is false. */
const ALL_KILLS = process.env.WEIR_NEXMARK_ALL_KILLS === '1';

const nexmark = suite('nexmark');
const tempDir = tempDirs(nexmark, 'weir-nexmark-');
/** The generator's events by event-time density (undefined: the default). */
const eventsByDensity = new Map<number | undefined, NexmarkEvent[]>();
const expectedRows = new Map<string, unknown[]>();

function expected(query: NexmarkQuery): unknown[] {
  let rows = expectedRows.get(query.name);
  if (rows === undefined) {
    const density = query.eventsPerSecond;
    let events = eventsByDensity.get(density);
    if (events === undefined) {
      events = nexmarkEvents(EVENTS, { seed: GENERATOR_SEED, ...(density === undefined ? {} : { eventsPerSecond: density }) });
      eventsByDensity.set(density, events);
    }
    expectedRows.set(query.name, (rows = query.oracle(events)));
  }
  return rows;
}

interface Setup {
  parallelism: number;
  /** The fault-injection seed of a run with one worker kill. */
  killSeed?: number;
}

async function check(query: NexmarkQuery, setup: Setup): Promise<void> {
  const dir = tempDir();
  const out = join(dir, 'out');
  const killing = setup.killSeed !== undefined;
  const options: RunOptions = {
    parallelism: setup.parallelism,
    params: {
      events: String(EVENTS),
      seed: String(GENERATOR_SEED),
      out,
      ...(query.eventsPerSecond === undefined ? {} : { eventsPerSecond: String(query.eventsPerSecond) }),
      ...(killing ? { rate: String(KILL_RATE) } : {}),
    },
    checkpointing: { interval: 100, directory: join(dir, 'chk') },
    restartStrategy: { type: 'fixed-delay', attempts: 3, delayMs: 0 },
  };
  if (killing) {
    // One kill at a random moment, just after a checkpoint trigger, or between a checkpoint's
    // completion and the sinks' commit: which one, and when, follows from the seed.
    options.faultInjection = { seed: setup.killSeed!, kills: 1, maxDelayMs: 600, points: ['random', 'after-trigger', 'before-notify'] };
  }
  const what = `${query.name} at parallelism ${setup.parallelism}${killing ? ` with a kill (fault seed ${setup.killSeed})` : ''}`;
  const result = await within(60_000, run(query.module, options), what);
  assert.is(result.status, 'FINISHED', what);
  assert.is(result.restarts, killing ? 1 : 0, `${what}: restarts (a kill that lands after the end makes none: lower the rate)`);
  const committed = committedRows(out);
  const actual = query.reduce === undefined ? committed : query.reduce(committed);
  const difference = rowDifference(actual, expected(query));
  assert.ok(difference === undefined, `${what}: ${difference}`);
  assert.equal(canonicalRows(actual), expected(query), `${what}: rows deep-equal the reference`);
  assert.equal(hiddenParts(out), [], `${what}: no uncommitted part file is left`);
}

QUERIES.forEach((query, i) => {
  nexmark(`${query.name} at parallelism 1 commits exactly the reference rows`, () => check(query, { parallelism: 1 }));
  nexmark(`${query.name} at parallelism 2 commits exactly the reference rows`, () => check(query, { parallelism: 2 }));
  if (query.kill === false && !ALL_KILLS) return;
  const killSeed = KILL_SEED + i;
  nexmark(`${query.name} at parallelism 2 with one worker kill (fault seed ${killSeed}) commits exactly the reference rows`, () =>
    check(query, { parallelism: 2, killSeed }),
  );
});

nexmark.run();
