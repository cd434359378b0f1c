// Expected output of the running-count fixture and helpers to read what a FileSink committed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CountLine {
  key: string;
  index: number;
  count: number;
}

/** The failure-free output of test/fixtures/jobs/running-count.ts, one JSON line per record. */
export function expectedRunningCount(count: number, keys: number): string[] {
  const counts = new Map<string, number>();
  const lines: string[] = [];
  for (let index = 0; index < count; index++) {
    const key = `k${index % keys}`;
    const c = (counts.get(key) ?? 0) + 1;
    counts.set(key, c);
    lines.push(JSON.stringify({ key, index, count: c }));
  }
  return lines.sort();
}

/** Every line of every committed (visible) part file in `dir`, sorted. */
export function committedLines(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /^part-\d+-\d+\.jsonl$/.test(name))
    .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter((line) => line !== ''))
    .sort();
}

/** Hidden part files left in `dir` (in-progress or pending). */
export function hiddenParts(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => name.startsWith('.part-'));
}

/** A readable diff summary for assertion messages. */
export function describeDifference(actual: readonly string[], expected: readonly string[]): string {
  const want = new Set(expected);
  const seen = new Map<string, number>();
  for (const line of actual) seen.set(line, (seen.get(line) ?? 0) + 1);
  const missing = expected.filter((line) => !seen.has(line));
  const duplicated = [...seen].filter(([, n]) => n > 1).map(([line]) => line);
  const unexpected = [...seen.keys()].filter((line) => !want.has(line));
  return `${actual.length} lines vs ${expected.length} expected; missing ${missing.length} (e.g. ${missing.slice(0, 2).join(' ')}), duplicated ${duplicated.length} (e.g. ${duplicated.slice(0, 2).join(' ')}), unexpected ${unexpected.length}`;
}

/** Seeded PRNG (the engine's own mulberry32) so a failing fault schedule can be replayed. */
export { seededRandom as seeded } from '../../src/coordinator/fault-injector.ts';

/** The seed of this run: WEIR_TEST_SEED to replay, otherwise derived from the clock; printed. */
export function testSeed(name: string): number {
  const fromEnv = process.env.WEIR_TEST_SEED;
  const seed = fromEnv === undefined ? Date.now() % 1_000_000 : Number(fromEnv);
  console.log(`  [${name}] seed ${seed} (replay with WEIR_TEST_SEED=${seed})`);
  return seed;
}
