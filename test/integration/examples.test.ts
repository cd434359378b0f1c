// The example jobs (examples/etl.ts, fraud-detection.ts, iot-anomaly.ts) on their small data,
// through run() as `npx weir run` would: what their FileSinks committed must be exactly what a
// straightforward single-thread reference in this file computes from the same input. The fraud
// job also runs with checkpoints and one worker kill (fixed fault seed; WEIR_TEST_SEED replays
// another), and its committed alerts must still be exact.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/index.ts';
import { PRODUCTS, USERS } from '../../examples/etl.ts';
import { transaction, type Transaction } from '../../examples/fraud-detection.ts';
import { within } from '../helpers/jobs.ts';
import { committedRows } from '../helpers/nexmark-jobs.ts';
import { hiddenParts } from '../helpers/running-count.ts';
import { tempDirs } from '../helpers/temp-dirs.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const examples = suite('examples');
const tempDir = tempDirs(examples, 'weir-examples-');

/** Sorts rows by their JSON text so two multisets of rows compare with assert.equal. */
function sorted(rows: readonly unknown[]): unknown[] {
  return [...rows].map((row) => JSON.stringify(canonical(row))).sort().map((text) => JSON.parse(text) as unknown);
}

function canonical(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// ---------------------------------------------------------------------------------------------
// ETL

const ORDER_FILES = join(EXAMPLES, 'data/orders');

/**
 * What must reach the dead-letter directory, by hand: the reason, and a fragment that picks the
 * line out of the input (a duplicate's line is the resent copy, identical to the first).
 */
const EXPECTED_DEAD_LETTERS: ReadonlyArray<readonly [reason: string, fragment: string]> = [
  ['malformed JSON', '"orderId":"o-1006"'], // truncated line
  ['malformed JSON', 'WARN checkout-service'], // a log line in the stream
  ['unknown user u-zed', '"orderId":"o-1009"'],
  ['unknown sku SKU-TOASTER', '"orderId":"o-1011"'],
  ['qty must be a positive integer, got 0', '"orderId":"o-1012"'],
  ['duplicate orderId o-1003', '"orderId":"o-1003"'],
  ['qty must be a positive integer, got "two"', '"orderId":"o-1014"'],
  ['missing orderId', '"time":"2024-05-01T10:22:08Z"'],
  ['invalid time "yesterday"', '"orderId":"o-1019"'],
  ['not a JSON object', '["o-1025"'],
  ['qty must be a positive integer, got -1', '"orderId":"o-1028"'],
  ['duplicate orderId o-1021', '"orderId":"o-1021"'],
  ['qty must be a positive integer, got 1.5', '"orderId":"o-1033"'],
];

function orderLines(): string[] {
  return readdirSync(ORDER_FILES)
    .sort()
    .flatMap((name) => readFileSync(join(ORDER_FILES, name), 'utf8').split('\n'))
    .filter((line) => line.trim() !== '');
}

/** Every non-blank line not listed as a dead letter (one copy of each duplicate kept), enriched. */
function expectedEtl(): { orders: unknown[]; dead: unknown[] } {
  const remaining = orderLines();
  const dead = EXPECTED_DEAD_LETTERS.map(([reason, fragment]) => {
    const at = remaining.findIndex((line) => line.includes(fragment));
    assert.ok(at >= 0, `a line with ${fragment} in the sample data`);
    // A duplicate is dead-lettered once; the other copy stays an order.
    const line = remaining.splice(reason.startsWith('duplicate') ? remaining.lastIndexOf(remaining[at]!) : at, 1)[0]!;
    return { reason, line };
  });
  const orders = remaining.map((line) => {
    const o = JSON.parse(line) as { orderId: string; time: string; user: string; sku: string; qty: number };
    const product = PRODUCTS[o.sku]!;
    return {
      orderId: o.orderId,
      time: new Date(o.time).toISOString(),
      user: o.user,
      country: USERS[o.user]!.country,
      sku: o.sku,
      product: product.name,
      category: product.category,
      qty: o.qty,
      unitPrice: product.priceCents / 100,
      total: Math.round(o.qty * product.priceCents) / 100,
    };
  });
  return { orders, dead };
}

examples('examples/etl.ts (parallelism 2, checkpointed) writes every valid order enriched and every bad line to the dead letters with its reason', async () => {
  const dir = tempDir();
  const out = join(dir, 'orders');
  const dead = join(dir, 'dead');
  const result = await within(
    40_000,
    run(join(EXAMPLES, 'etl.ts'), { parallelism: 2, params: { out, dead }, checkpointing: { interval: 50, directory: join(dir, 'chk') } }),
    'the ETL job',
  );
  assert.is(result.status, 'FINISHED');
  const expected = expectedEtl();
  assert.is(expected.orders.length, 31);
  assert.is(expected.orders.length + expected.dead.length, orderLines().length, 'each non-blank line lands in exactly one output');
  assert.equal(sorted(committedRows(dead)), sorted(expected.dead));
  assert.equal(sorted(committedRows(out)), sorted(expected.orders));
  assert.equal([...hiddenParts(out), ...hiddenParts(dead)], []);
});

// ---------------------------------------------------------------------------------------------
// Fraud detection

const FRAUD_COUNT = 4000;

/**
 * The rule, stated directly: a card's charge over 500.00 whose previous charge on that card was
 * under 1.00 and at most 60 s earlier. Also counts the near misses the data must contain.
 */
function expectedAlerts(count: number): { alerts: unknown[]; afterAMinute: number; interrupted: number } {
  const byCard = new Map<string, Transaction[]>();
  for (let i = 0; i < count; i++) {
    const tx = transaction(i);
    byCard.set(tx.card, [...(byCard.get(tx.card) ?? []), tx]);
  }
  const alerts: unknown[] = [];
  let afterAMinute = 0;
  let interrupted = 0;
  for (const [card, txs] of byCard) {
    txs.sort((a, b) => a.ts - b.ts);
    for (let j = 1; j < txs.length; j++) {
      const [before, tx] = [txs[j - 1]!, txs[j]!];
      if (before.amount >= 1 || tx.amount <= 500) continue;
      if (tx.ts - before.ts > 60_000) {
        afterAMinute++;
        continue;
      }
      alerts.push({
        card,
        smallAmount: before.amount,
        smallTime: new Date(before.ts).toISOString(),
        largeAmount: tx.amount,
        largeTime: new Date(tx.ts).toISOString(),
        secondsApart: (tx.ts - before.ts) / 1000,
      });
    }
    // small, then something else, then large, all within a minute: not the pattern.
    for (let j = 2; j < txs.length; j++) {
      if (txs[j - 2]!.amount < 1 && txs[j - 1]!.amount >= 1 && txs[j]!.amount > 500 && txs[j]!.ts - txs[j - 2]!.ts <= 60_000) interrupted++;
    }
  }
  return { alerts, afterAMinute, interrupted };
}

const fraudExpected = expectedAlerts(FRAUD_COUNT);

examples('the fraud data holds alerts and near misses (a large charge after 61+ s, one after an intervening charge)', () => {
  assert.ok(fraudExpected.alerts.length >= 10, `${fraudExpected.alerts.length} alerts`);
  assert.ok(fraudExpected.afterAMinute >= 1, `${fraudExpected.afterAMinute} small→large pairs more than a minute apart`);
  assert.ok(fraudExpected.interrupted >= 1, `${fraudExpected.interrupted} interrupted patterns`);
});

examples('examples/fraud-detection.ts (parallelism 2) alerts exactly on a small charge followed within a minute by a large one', async () => {
  const out = join(tempDir(), 'alerts');
  const result = await within(40_000, run(join(EXAMPLES, 'fraud-detection.ts'), { parallelism: 2, params: { count: String(FRAUD_COUNT), out } }), 'the fraud job');
  assert.is(result.status, 'FINISHED');
  assert.equal(sorted(committedRows(out)), sorted(fraudExpected.alerts));
});

const KILL_SEED = process.env.WEIR_TEST_SEED === undefined ? 4242 : Number(process.env.WEIR_TEST_SEED);

examples(`the fraud job with checkpoints and a worker kill (fault seed ${KILL_SEED}) commits exactly the same alerts`, async () => {
  const dir = tempDir();
  const out = join(dir, 'alerts');
  const result = await within(
    50_000,
    run(join(EXAMPLES, 'fraud-detection.ts'), {
      parallelism: 2,
      // ~2 s of input, so the kill lands while the job runs.
      params: { count: String(FRAUD_COUNT), rate: '2000', out },
      checkpointing: { interval: 100, directory: join(dir, 'chk') },
      restartStrategy: { type: 'fixed-delay', attempts: 3, delayMs: 0 },
      faultInjection: { seed: KILL_SEED, kills: 1, maxDelayMs: 1000, points: ['random', 'after-trigger', 'before-notify'] },
    }),
    'the fraud job with a kill',
  );
  assert.is(result.status, 'FINISHED');
  assert.is(result.restarts, 1, 'one restart (a kill that lands after the end makes none: lower the rate)');
  assert.equal(sorted(committedRows(out)), sorted(fraudExpected.alerts));
  assert.equal(hiddenParts(out), [], 'no uncommitted part file is left behind');
});

// ---------------------------------------------------------------------------------------------
// IoT anomaly detection

interface Reading {
  device: string;
  time: string;
  celsius: number;
}

interface Anomaly extends Reading {
  mean: number;
  stddev: number;
  z: number;
}

const K = 3;
const MIN_SAMPLES = 20;
const GAP_MS = 60_000;
const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Per device in time order: a reading is an anomaly when at least MIN_SAMPLES earlier normal
 * readings exist and it lies more than K sample standard deviations from their mean (two-pass
 * over the stored values, no running update). Sessions: readings at most GAP_MS apart.
 */
function expectedIot(): { anomalies: unknown[]; sessions: unknown[] } {
  const readings = readFileSync(join(EXAMPLES, 'data/iot/readings.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Reading);
  const byDevice = new Map<string, Reading[]>();
  for (const r of readings) byDevice.set(r.device, [...(byDevice.get(r.device) ?? []), r]);
  const anomalies: unknown[] = [];
  const sessions: unknown[] = [];
  for (const [device, list] of byDevice) {
    list.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    const normal: number[] = [];
    const flagged = new Set<Reading>();
    for (const r of list) {
      if (normal.length >= MIN_SAMPLES) {
        const mean = normal.reduce((a, b) => a + b, 0) / normal.length;
        const stddev = Math.sqrt(normal.reduce((a, b) => a + (b - mean) ** 2, 0) / (normal.length - 1));
        const z = (r.celsius - mean) / stddev;
        if (Math.abs(z) > K) {
          flagged.add(r);
          anomalies.push({ ...r, mean: round(mean, 2), stddev: round(stddev, 3), z: round(z, 1) });
          continue;
        }
      }
      normal.push(r.celsius);
    }
    let session: Reading[] = [];
    const close = (): void => {
      const values = session.map((r) => r.celsius);
      sessions.push({
        device,
        start: new Date(Date.parse(session[0]!.time)).toISOString(),
        end: new Date(Date.parse(session.at(-1)!.time) + GAP_MS).toISOString(),
        readings: session.length,
        anomalies: session.filter((r) => flagged.has(r)).length,
        min: Math.min(...values),
        max: Math.max(...values),
        mean: round(values.reduce((a, b) => a + b, 0) / values.length, 2),
      });
    };
    for (const r of list) {
      if (session.length > 0 && Date.parse(r.time) - Date.parse(session.at(-1)!.time) > GAP_MS) {
        close();
        session = [];
      }
      session.push(r);
    }
    close();
  }
  return { anomalies, sessions };
}

examples('examples/iot-anomaly.ts (parallelism 2, checkpointed) flags exactly the readings k σ off and summarizes every session', async () => {
  const dir = tempDir();
  const out = join(dir, 'out');
  const result = await within(
    40_000,
    run(join(EXAMPLES, 'iot-anomaly.ts'), { parallelism: 2, params: { out }, checkpointing: { interval: 50, directory: join(dir, 'chk') } }),
    'the IoT job',
  );
  assert.is(result.status, 'FINISHED');
  const expected = expectedIot();
  assert.is(expected.anomalies.length, 8);
  assert.is(expected.sessions.length, 14);
  // The readings flagged must be exactly these; the statistics shown with them may differ in the
  // last printed digit (the job's running update and this two-pass sum round differently at a tie).
  const byReading = (a: Anomaly, b: Anomaly) => (a.device + a.time < b.device + b.time ? -1 : 1);
  const anomalies = (committedRows(join(out, 'anomalies')) as Anomaly[]).sort(byReading);
  const want = (expected.anomalies as Anomaly[]).sort(byReading);
  const reading = ({ device, time, celsius }: Anomaly) => ({ device, time, celsius });
  assert.equal(anomalies.map(reading), want.map(reading));
  anomalies.forEach((a, i) => {
    const close = (field: 'mean' | 'stddev' | 'z', unit: number) => Math.abs(a[field] - want[i]![field]) <= unit * 1.001;
    assert.ok(close('mean', 0.01) && close('stddev', 0.001) && close('z', 0.1), `${JSON.stringify(a)} vs ${JSON.stringify(want[i])}`);
  });
  assert.equal(sorted(committedRows(join(out, 'sessions'))), sorted(expected.sessions));
});

examples.run();
