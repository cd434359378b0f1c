// Single-thread reference results of test/fixtures/jobs/windows.ts, computed straight from the
// definition of each window (no engine code), as sorted JSON lines like committedLines gives.
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { committedLines, describeDifference } from './running-count.ts';
import {
  COUNT_SIZE,
  lateReading,
  reading,
  SESSION_GAP_MS,
  SLIDING,
  SLIDING_COUNT,
  TUMBLING_MS,
  type Reading,
  type Stats,
} from '../fixtures/jobs/windows.ts';

function statsOf(records: readonly Reading[]): Stats {
  let s: Stats | undefined;
  for (const r of records) {
    s = s === undefined ? { key: r.key, n: 1, sum: r.v, minTs: r.ts, maxTs: r.ts } : { key: s.key, n: s.n + 1, sum: s.sum + r.v, minTs: Math.min(s.minTs, r.ts), maxTs: Math.max(s.maxTs, r.ts) };
  }
  return s!;
}

function lines(rows: readonly unknown[]): string[] {
  return rows.map((row) => JSON.stringify(row)).sort();
}

function byKey(records: readonly Reading[]): Map<string, Reading[]> {
  const groups = new Map<string, Reading[]>();
  for (const r of records) groups.set(r.key, [...(groups.get(r.key) ?? []), r]);
  return groups;
}

/** Window start for `ts` with windows of `size` aligned to the epoch (ts ≥ 0 here). */
const startOf = (ts: number, size: number) => ts - (ts % size);

export function tumblingRows(records: readonly Reading[]): string[] {
  const windows = new Map<string, { key: string; start: number; end: number; sum: number }>();
  for (const r of records) {
    const start = startOf(r.ts, TUMBLING_MS);
    const id = `${r.key}@${start}`;
    const row = windows.get(id) ?? { key: r.key, start, end: start + TUMBLING_MS, sum: 0 };
    row.sum += r.v;
    windows.set(id, row);
  }
  return lines([...windows.values()]);
}

export function slidingRows(records: readonly Reading[]): string[] {
  const windows = new Map<string, Reading[]>();
  for (const r of records) {
    for (let start = startOf(r.ts, SLIDING.slide); start > r.ts - SLIDING.size; start -= SLIDING.slide) {
      const id = `${r.key}@${start}`;
      windows.set(id, [...(windows.get(id) ?? []), r]);
    }
  }
  return lines([...windows.values()].map(statsOf));
}

export function sessionRows(records: readonly Reading[]): string[] {
  const rows: Array<{ key: string; start: number; end: number; values: number[] }> = [];
  for (const [key, list] of byKey(records)) {
    const sorted = [...list].sort((a, b) => a.ts - b.ts);
    let current: { key: string; start: number; end: number; values: number[] } | undefined;
    for (const r of sorted) {
      // [ts, ts + gap) joins the session while it overlaps or touches it.
      if (current !== undefined && r.ts <= current.end) {
        current.end = Math.max(current.end, r.ts + SESSION_GAP_MS);
        current.values.push(r.v);
        continue;
      }
      if (current !== undefined) rows.push(current);
      current = { key, start: r.ts, end: r.ts + SESSION_GAP_MS, values: [r.v] };
    }
    if (current !== undefined) rows.push(current);
  }
  for (const row of rows) row.values.sort((a, b) => a - b);
  return lines(rows);
}

/** countWindow(4).reduce(sum): each full group of 4 of a key, in arrival (index) order. */
export function countRows(records: readonly Reading[]): string[] {
  const rows: Reading[] = [];
  for (const list of byKey(records).values()) {
    for (let i = 0; i + COUNT_SIZE <= list.length; i += COUNT_SIZE) {
      const group = list.slice(i, i + COUNT_SIZE);
      rows.push(group.reduce((a, b) => ({ key: a.key, v: a.v + b.v, ts: Math.max(a.ts, b.ts) })));
    }
  }
  return lines(rows);
}

/** countWindow(5, 2).aggregate(stats): after every 2nd record of a key, its last 5 (or fewer). */
export function slidingCountRows(records: readonly Reading[]): string[] {
  const rows: Stats[] = [];
  for (const list of byKey(records).values()) {
    for (let n = SLIDING_COUNT.slide; n <= list.length; n += SLIDING_COUNT.slide) {
      rows.push(statsOf(list.slice(Math.max(0, n - SLIDING_COUNT.size), n)));
    }
  }
  return lines(rows);
}

export function readings(count: number, keys: number): Reading[] {
  return Array.from({ length: count }, (_, i) => reading(i, keys));
}

export function lateReadings(count: number, keys: number): Reading[] {
  return Array.from({ length: count }, (_, i) => lateReading(i, keys));
}

/** Final results of the 'late' mode's windows over `records` (those that were not late): stats + start. */
export function lateWindowRows(records: readonly Reading[]): string[] {
  const windows = new Map<string, { start: number; records: Reading[] }>();
  for (const r of records) {
    const start = startOf(r.ts, TUMBLING_MS);
    const id = `${r.key}@${start}`;
    const w = windows.get(id) ?? { start, records: [] };
    w.records.push(r);
    windows.set(id, w);
  }
  return lines([...windows.values()].map((w) => ({ ...statsOf(w.records), start: w.start })));
}

/** Every sink of mode 'all' in `out` holds exactly the reference output for `count` records. */
export function assertAllWindows(out: string, count: number, keys: number): void {
  const records = readings(count, keys);
  const same = (name: string, expected: string[], what: string) => {
    const actual = committedLines(join(out, name));
    assert.ok(actual.length === expected.length && actual.every((line, i) => line === expected[i]), `${what}: ${describeDifference(actual, expected)}`);
  };
  same('tumbling', tumblingRows(records), 'tumbling reduce + process');
  same('sliding', slidingRows(records), 'sliding aggregate');
  same('sessions', sessionRows(records), 'session process');
  same('counts', countRows(records), 'countWindow reduce');
  same('sliding-counts', slidingCountRows(records), 'sliding countWindow aggregate');
}
