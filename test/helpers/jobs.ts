// Shared helpers for integration tests: fixture paths, a time limit for anything that runs
// threads, and a single-thread reference word count.
import { fileURLToPath } from 'node:url';

export function fixtureJob(name: string): string {
  return fileURLToPath(new URL(`../fixtures/jobs/${name}`, import.meta.url));
}

/** Rejects if `promise` does not settle within `ms` (tests must fail fast, never hang). */
export async function within<T>(ms: number, promise: Promise<T>, what = 'the job'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Groups values by a key, keeping arrival order within each group. */
export function groupBy<T, K>(values: readonly T[], key: (v: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const v of values) {
    const k = key(v);
    const list = groups.get(k);
    if (list === undefined) groups.set(k, [v]);
    else list.push(v);
  }
  return groups;
}

/** Resource kinds that indicate live threads or ports (for leak checks). */
export function threadResources(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort' || r === 'Worker').length;
}
