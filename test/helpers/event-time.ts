// Failure-free outputs of the event-time fixture jobs (test/fixtures/jobs/event-time.ts),
// computed in one thread from the same generators, and an exact line comparison with a short
// diff. Used by event-time.test.ts and event-time-faults.test.ts.
import * as assert from 'uvu/assert';
import { BUCKET_MS, payment, paymentCount, reading, type Bucket, type JoinRow } from '../fixtures/jobs/event-time.ts';

export function expectedBuckets(count: number, keys: number): string[] {
  const sums = new Map<string, Bucket>();
  for (let i = 0; i < count; i++) {
    const r = reading(i, keys);
    const bucket = Math.floor(r.ts / BUCKET_MS) * BUCKET_MS;
    const id = `${r.key}@${bucket}`;
    const row = sums.get(id) ?? { key: r.key, bucket, sum: 0, at: bucket + BUCKET_MS - 1 };
    row.sum += r.v;
    sums.set(id, row);
  }
  return [...sums.values()].map((row) => JSON.stringify(row)).sort();
}

export function expectedFlags(count: number, keys: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < count; i++) if (i % 97 === 0) rows.push(JSON.stringify({ key: reading(i, keys).key, v: i }));
  return rows.sort();
}

export function expectedJoin(count: number): string[] {
  const amounts = new Map<number, number>();
  for (let j = 0; j < paymentCount(count); j++) amounts.set(payment(j).orderId, payment(j).amount);
  const rows: JoinRow[] = [];
  for (let i = 0; i < count; i++) {
    const amount = amounts.get(i);
    rows.push(amount === undefined ? { orderId: i, unmatched: true } : { orderId: i, amount });
  }
  return rows.map((row) => JSON.stringify(row)).sort();
}

export function sameLines(actual: string[], expected: string[], what: string): void {
  if (actual.length === expected.length && actual.every((line, i) => line === expected[i])) return;
  const missing = expected.filter((line) => !actual.includes(line)).slice(0, 3);
  const extra = actual.filter((line) => !expected.includes(line)).slice(0, 3);
  assert.unreachable(`${what}: ${actual.length} lines, expected ${expected.length}; missing e.g. ${missing.join(' ')}; unexpected e.g. ${extra.join(' ')}`);
}
