/**
 * Record codec benchmark: encode + copy into a SharedArrayBuffer + decode round trips per
 * second, bytes per record, and fidelity on edge cases, for every candidate codec side by side.
 * Runs on the main thread. `npm run bench:codec [-- --quick]`; the last line is a JSON object.
 */
import { Bench } from 'tinybench';
import { recordCodecByName, defaultRecordCodec, type RecordCodec } from '../src/channels/record-codec.ts';
import { msgpackrRecordCodec, msgpackrRecordsRecordCodec } from './msgpackr-codec.ts';

const quick = process.argv.includes('--quick');
const REPEATS = quick ? 3 : 5;
const TASK_MS = quick ? 150 : 500;
const WARMUP_MS = quick ? 50 : 150;
const RECORDS = 1000; // one benchmark iteration = a round trip of each of these

const codecs: RecordCodec[] = [
  recordCodecByName('json'),
  recordCodecByName('v8'),
  msgpackrRecordCodec,
  msgpackrRecordsRecordCodec,
  recordCodecByName('binary'),
];

// ---- record sets (seeded, so every run and codec sees the same records) ----

function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(42);
const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const word = (lo: number, hi: number): string => {
  let s = '';
  for (let i = int(lo, hi); i > 0; i--) s += ALPHA[int(0, 25)];
  return s;
};
const text = (n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHA[int(0, ALPHA.length - 1)];
  return s;
};
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const sets: Record<string, () => unknown> = {
  small: () => ({ word: word(3, 10), count: int(1, 1000) }),
  bid: () => ({
    auction: 1000 + int(0, 100_000),
    bidder: 1000 + int(0, 100_000),
    price: Math.round(10 ** (rand() * 6) * 100),
    channel: rand() < 0.5 ? CHANNELS[int(0, 3)] : `channel-${int(0, 9999)}`,
    url: `https://www.nexmark.com/${word(4, 8)}/${word(4, 8)}/item.htm?query=1&channel_id=${int(0, 1 << 20)}`,
    dateTime: 1_700_000_000_000 + int(0, 1e9),
    extra: text(100),
  }),
  number: () => (rand() < 0.5 ? int(0, 1e6) : rand() * 1e6),
  string: () => word(5, 20),
  nested: () => ({
    id: int(0, 1e6),
    user: { name: word(4, 12), tags: [word(3, 6), word(3, 6)] },
    items: Array.from({ length: int(1, 4) }, () => ({ sku: word(6, 6), qty: int(1, 9), price: int(100, 99_999) / 100 })),
    ok: rand() < 0.5,
  }),
};
const data: Record<string, unknown[]> = {};
for (const [name, make] of Object.entries(sets)) data[name] = Array.from({ length: RECORDS }, make);

// ---- round trip: encode, copy the frame into a SharedArrayBuffer "ring", decode from it ----

const ring = new Uint8Array(new SharedArrayBuffer(1 << 20));
const FRAME_AT = 24; // a non-zero offset, as in a real ring
let sink = 0;

function roundTripAll(codec: RecordCodec, records: unknown[]): () => void {
  const encoder = codec.createEncoder();
  const decoder = codec.createDecoder();
  return () => {
    for (let i = 0; i < records.length; i++) {
      const length = encoder.encode(records[i]);
      ring.set(encoder.buffer.subarray(0, length), FRAME_AT);
      const value = decoder.decode(ring, FRAME_AT, length);
      if (value !== undefined) sink++;
    }
  };
}

function bytesPerRecord(codec: RecordCodec, records: unknown[]): number {
  const encoder = codec.createEncoder();
  let total = 0;
  for (const record of records) total += encoder.encode(record);
  return total / records.length;
}

// ---- fidelity: which values survive a round trip unchanged ----

const FIDELITY: Array<[string, unknown]> = [
  ['-0', -0],
  ['NaN', NaN],
  ['Infinity', [Infinity, -Infinity]],
  ['large ints', [2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1e300]],
  ['floats', [0.1, -1.5, 5e-324]],
  ['non-ASCII', { s: 'héllo wörld — ünïcødé ✓', k: 'Straße' }],
  ['emoji', ['😀', 'a😀b'.repeat(20)]],
  ['empty string/object/array', { s: '', o: {}, a: [] }],
  ['undefined in object', { a: undefined, b: 1 }],
  ['undefined in array', [1, undefined, 3]],
  ['top-level undefined', undefined],
  ['null', { n: null }],
  ['nested', { a: [{ b: [{ c: 'd' }] }] }],
  ['bigint', { big: 12345678901234567890n }],
  ['Date', { at: new Date(1_700_000_000_123) }],
  ['Map', new Map<unknown, unknown>([['a', 1], [2, { b: true }]])],
  ['Set', new Set(['x', 1])],
  ['Uint8Array', new Uint8Array([1, 2, 255])],
];

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof Map || a instanceof Set) return same([...a], [...(b as Set<unknown>)]);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function lostCases(codec: RecordCodec): string[] {
  const lost: string[] = [];
  for (const [name, value] of FIDELITY) {
    try {
      const encoder = codec.createEncoder();
      const length = encoder.encode(value);
      ring.set(encoder.buffer.subarray(0, length), 7);
      if (!same(value, codec.createDecoder().decode(ring, 7, length))) lost.push(name);
    } catch {
      lost.push(`${name} (throws)`);
    }
  }
  return lost;
}

// ---- run ----

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const rates: Record<string, number[]> = {}; // `${codec}_${set}` → round trips/s per repeat
const started = Date.now();
for (let repeat = 0; repeat < REPEATS; repeat++) {
  for (const set of Object.keys(sets)) {
    // All codecs of one record set in one Bench, interleaved per repeat, so noise hits them alike.
    const bench = new Bench({ time: TASK_MS, warmupTime: WARMUP_MS });
    for (const codec of codecs) bench.add(`${codec.name}_${set}`, roundTripAll(codec, data[set]!));
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`${task.name}: ${result.state}`);
      (rates[task.name] ??= []).push((RECORDS * 1000) / result.latency.mean);
    }
  }
  console.error(`repeat ${repeat + 1}/${REPEATS} done (${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

const figures: Record<string, number | string> = {};
const fmt = (n: number): string => (n / 1e6).toFixed(2);
console.log(`\nround trips/s (M, median [min–max] of ${REPEATS}), encode + copy into SAB + decode; bytes/record`);
console.log(['codec', ...Object.keys(sets)].map((s) => s.padEnd(26)).join(''));
for (const codec of codecs) {
  const cells = [codec.name];
  for (const set of Object.keys(sets)) {
    const xs = rates[`${codec.name}_${set}`]!;
    const bytes = bytesPerRecord(codec, data[set]!);
    const key = codec.name.replace(/-/g, '_');
    figures[`${key}_${set}_roundtrips_per_s`] = Math.round(median(xs));
    figures[`${key}_${set}_bytes`] = Math.round(bytes * 10) / 10;
    cells.push(`${fmt(median(xs))} [${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}] ${bytes.toFixed(1)}B`);
  }
  console.log(cells.map((s) => s.padEnd(26)).join(''));
}
console.log('\nfidelity (edge cases not round-tripped exactly):');
for (const codec of codecs) {
  const lost = lostCases(codec);
  console.log(`  ${codec.name.padEnd(17)} ${lost.length === 0 ? 'none' : lost.join('; ')}`);
  figures[`${codec.name.replace(/-/g, '_')}_fidelity_failures`] = lost.length;
}
const chosen = defaultRecordCodec.name;
figures.chosen = chosen;
for (const set of ['small', 'bid', 'nested']) {
  figures[`chosen_over_json_${set}`] =
    Math.round((median(rates[`${chosen}_${set}`]!) / median(rates[`json_${set}`]!)) * 100) / 100;
}
figures.quick = quick ? 1 : 0;
figures.seconds = Math.round((Date.now() - started) / 1000);
if (sink < 0) console.log(sink);
console.log(JSON.stringify(figures));
