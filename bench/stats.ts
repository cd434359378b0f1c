// Small statistics helpers shared by the benchmarks: median and spread of repeated runs.
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** "median [min–max]" with the given formatter. */
export function spread(values: readonly number[], format: (v: number) => string): string {
  return `${format(median(values))} [${format(Math.min(...values))}–${format(Math.max(...values))}]`;
}

export const millions = (v: number) => `${(v / 1e6).toFixed(2)} M`;

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
