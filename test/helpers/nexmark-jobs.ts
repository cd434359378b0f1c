// The Nexmark example jobs (examples/nexmark/) with the oracle each must match, and helpers to
// read and compare what their FileSink committed. Adding a query is one line in QUERIES.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NexmarkEvent } from '../../src/connectors/nexmark/model.ts';
import { canonicalJson, canonicalRows, q0, q1, q2, q3, q4, q5, q7, q8 } from './nexmark-reference.ts';

export interface NexmarkQuery {
  /** 'q1'; also the example's file name. */
  readonly name: string;
  /** Absolute path of the job module. */
  readonly module: string;
  /** The expected rows, in canonical order. */
  readonly oracle: (events: readonly NexmarkEvent[]) => unknown[];
  /**
   * Turns the committed rows (each sink subtask's rows in the order it wrote them) into the rows
   * the oracle describes, e.g. the last update per key of an update stream. Default: as they are.
   */
  readonly reduce?: (rows: unknown[]) => unknown[];
  /**
   * The generator's event-time density (the job's `eventsPerSecond` param; default Nexmark's
   * 10,000): time-based queries get fewer, so that the test's events span several windows and
   * auction lifetimes and the watermark fires most of them before the end of the input.
   */
  readonly eventsPerSecond?: number;
  /**
   * False: the integration test skips the run with a worker kill, to bound its runtime (each run
   * costs about a second of CPU per worker thread to start; WEIR_NEXMARK_ALL_KILLS=1 runs it anyway).
   */
  readonly kill?: boolean;
}

function example(name: string): string {
  return fileURLToPath(new URL(`../../examples/nexmark/${name}.ts`, import.meta.url));
}

export const QUERIES: readonly NexmarkQuery[] = [
  { name: 'q0', module: example('q0'), oracle: q0 },
  { name: 'q1', module: example('q1'), oracle: q1 },
  { name: 'q2', module: example('q2'), oracle: q2 },
  { name: 'q3', module: example('q3'), oracle: q3 },
  { name: 'q4', module: example('q4'), oracle: q4, reduce: lastPerKey('category'), eventsPerSecond: 500 },
  { name: 'q5', module: example('q5'), oracle: q5, eventsPerSecond: 500 },
  { name: 'q7', module: example('q7'), oracle: q7, eventsPerSecond: 500 },
  { name: 'q8', module: example('q8'), oracle: q8, eventsPerSecond: 500 },
];

/**
 * The last row of each value of `field`, for an update stream whose rows for one key all come
 * from one sink subtask, in the order it wrote them (as `committedRows` reads them).
 */
export function lastPerKey(field: string): (rows: unknown[]) => unknown[] {
  return (rows) => {
    const last = new Map<unknown, unknown>();
    for (const row of rows) last.set((row as Record<string, unknown>)[field], row);
    return [...last.values()];
  };
}

/**
 * The rows of every committed part file in `dir` (hidden in-progress and pending files do not
 * count), parsed: subtask by subtask, each subtask's parts in number order and each part's lines
 * in file order, so a `reduce` may rely on the order in which one subtask wrote its rows.
 */
export function committedRows(dir: string): unknown[] {
  if (!existsSync(dir)) return [];
  const parts = readdirSync(dir)
    .map((name) => ({ name, match: /^part-(\d+)-(\d+)\.jsonl$/.exec(name) }))
    .filter((p) => p.match !== null)
    .map(({ name, match }) => ({ name, subtask: Number(match![1]), part: Number(match![2]) }))
    .sort((a, b) => a.subtask - b.subtask || a.part - b.part);
  return parts.flatMap(({ name }) =>
    readFileSync(join(dir, name), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown),
  );
}

/**
 * Undefined when `actual` (any order) holds exactly the rows of `expected` (canonical order),
 * otherwise a message: the counts, how many rows are missing and how many are extra (unexpected
 * or duplicated), and the first row that differs after sorting.
 */
export function rowDifference(actual: readonly unknown[], expected: readonly unknown[]): string | undefined {
  const got = canonicalRows(actual).map(canonicalJson);
  const want = expected.map(canonicalJson);
  const first = firstDifference(got, want);
  if (first === -1) return undefined;
  const balance = new Map<string, number>();
  for (const row of want) balance.set(row, (balance.get(row) ?? 0) + 1);
  for (const row of got) balance.set(row, (balance.get(row) ?? 0) - 1);
  let missing = 0;
  let extra = 0;
  for (const n of balance.values()) {
    if (n > 0) missing += n;
    else extra -= n;
  }
  const show = (rows: string[]) => (first < rows.length ? rows[first] : '(none: the rows end here)');
  return `${got.length} rows, ${want.length} expected: ${missing} missing, ${extra} unexpected or duplicated; ` +
    `first difference at sorted row ${first}: got ${show(got)}, expected ${show(want)}`;
}

function firstDifference(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
