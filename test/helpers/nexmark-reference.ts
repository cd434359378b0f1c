// Single-thread reference implementations (oracles) of Nexmark queries q0–q5, q7, q8 over an
// array of events, run on the test or benchmark thread. Engine query jobs are checked against
// these, and benchmarks use them as hand-loop baselines.
//
// Every query returns a multiset of rows as an array in canonical order (`canonicalRows`), so
// results compare regardless of parallelism and processing order. Each query's result is its
// final answer over the whole input: the input is bounded and the final watermark (+∞) closes
// every window and auction; no event is treated as late.
//
// Late data in the engine versions: they use event time with a watermark of (max dateTime seen −
// 4 s). A NexmarkSource subtask emits its events in increasing event number, hence increasing
// dateTime (out-of-orderness 0 within a subtask), and the watermark downstream is the minimum
// over input channels, so no event is behind the watermark when it arrives and the engine should
// drop nothing: its final output must equal these results exactly.
//
// Windows are aligned to the epoch (offset 0) and half-open: a tumbling window is
// [start, start + 10 s) with start a multiple of 10 s; a sliding (HOP) window is
// [start, start + 10 s) with start a multiple of 2 s, so an event at `ts` lies in the 5 windows
// whose start runs from floor((ts − 10000 + 2000) / 2000) · 2000 to floor(ts / 2000) · 2000.
import { NexmarkGenerator } from '../../src/connectors/nexmark/generator.ts';
import type { NexmarkGeneratorOptions } from '../../src/connectors/nexmark/generator-config.ts';
import type { Auction, Bid, NexmarkEvent, Person } from '../../src/connectors/nexmark/model.ts';

export const WINDOW_SIZE_MS = 10_000;
export const HOP_SLIDE_MS = 2_000;

/** Events 0 … count−1 of the generator with these options. */
export function nexmarkEvents(count: number, options: NexmarkGeneratorOptions = {}): NexmarkEvent[] {
  const generator = new NexmarkGenerator({ ...options, numEvents: count });
  const events: NexmarkEvent[] = new Array(count);
  for (let i = 0; i < count; i++) events[i] = generator.eventAt(i);
  return events;
}

/** Options of every query: `sort: false` skips the canonical sort (for timing the query alone). */
export interface QueryOptions {
  sort?: boolean;
}

/**
 * JSON with object keys in sorted order at every level, so that rows equal field by field have
 * the same text whatever order their fields were built in.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const fields = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The rows sorted by their canonical JSON: a multiset as a sorted array. Does not modify `rows`. */
export function canonicalRows<T>(rows: readonly T[]): T[] {
  return rows
    .map((row) => ({ row, key: canonicalJson(row) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ row }) => row);
}

function finish<T>(rows: T[], options: QueryOptions): T[] {
  return options.sort === false ? rows : canonicalRows(rows);
}

function bids(events: readonly NexmarkEvent[]): Bid[] {
  const out: Bid[] = [];
  for (const event of events) if (event.type === 'bid') out.push(event.bid);
  return out;
}

/** Start of the tumbling 10 s window holding `ts`. */
export function tumbleStart(ts: number): number {
  return Math.floor(ts / WINDOW_SIZE_MS) * WINDOW_SIZE_MS;
}

/** q0, pass-through: every bid, unchanged (all seven fields). */
export function q0(events: readonly NexmarkEvent[], options: QueryOptions = {}): Bid[] {
  return finish(bids(events), options);
}

/**
 * q1, currency conversion: every bid with `price` replaced by `bid.price * 0.908`, kept as the
 * IEEE-754 double JavaScript computes for exactly that expression (no rounding). The engine job
 * must use the same expression: `price * 908 / 1000` differs in the last bit for about a fifth
 * of the prices. (Flink emits DECIMAL(23,3) and only auction, bidder, price, dateTime, extra; we
 * keep all bid fields.)
 */
export function q1(events: readonly NexmarkEvent[], options: QueryOptions = {}): Bid[] {
  return finish(bids(events).map((bid) => ({ ...bid, price: bid.price * 0.908 })), options);
}

export interface Q2Row {
  auction: number;
  price: number;
}

/** q2, selection: `{auction, price}` of every bid with `auction % 123 === 0`. */
export function q2(events: readonly NexmarkEvent[], options: QueryOptions = {}): Q2Row[] {
  const rows: Q2Row[] = [];
  for (const bid of bids(events)) if (bid.auction % 123 === 0) rows.push({ auction: bid.auction, price: bid.price });
  return finish(rows, options);
}

export interface Q3Row {
  name: string;
  city: string;
  state: string;
  id: number;
}

const Q3_STATES = new Set(['OR', 'ID', 'CA']);

/**
 * q3, local item suggestion: `{name, city, state, id}` (person's name, city, state; the
 * auction's id) for every (auction, person) pair with `auction.seller === person.id`,
 * `auction.category === 10` and `person.state` in OR, ID, CA. An inner join over all events,
 * whichever arrived first.
 */
export function q3(events: readonly NexmarkEvent[], options: QueryOptions = {}): Q3Row[] {
  const peopleById = new Map<number, Person[]>();
  const auctions: Auction[] = [];
  for (const event of events) {
    if (event.type === 'person' && Q3_STATES.has(event.person.state)) {
      const list = peopleById.get(event.person.id);
      if (list === undefined) peopleById.set(event.person.id, [event.person]);
      else list.push(event.person);
    } else if (event.type === 'auction' && event.auction.category === 10) {
      auctions.push(event.auction);
    }
  }
  const rows: Q3Row[] = [];
  for (const auction of auctions) {
    for (const person of peopleById.get(auction.seller) ?? []) {
      rows.push({ name: person.name, city: person.city, state: person.state, id: auction.id });
    }
  }
  return finish(rows, options);
}

export interface Q4Row {
  category: number;
  avgPrice: number;
}

/**
 * q4, average price per category: for each auction, its winning price is the maximum `price`
 * of the bids with `bid.auction === auction.id` and `auction.dateTime <= bid.dateTime <=
 * auction.expires` (both ends inclusive, SQL BETWEEN), whichever arrived first; auctions without
 * such a bid are skipped (inner join). Per category, `avgPrice = Math.trunc(sum / n)` over its
 * auctions' winning prices, which equals Flink's AVG over BIGINT (Java long division; exact here
 * as sums stay below 2^53). Rows `{category, avgPrice}`, one per category with at least one such
 * auction: the final value after all input, when the final watermark has closed every auction
 * (the engine's stream of updates, reduced to its last value per category, must equal it).
 */
export function q4(events: readonly NexmarkEvent[], options: QueryOptions = {}): Q4Row[] {
  const auctionsById = new Map<number, Auction>();
  for (const event of events) if (event.type === 'auction') auctionsById.set(event.auction.id, event.auction);
  const winning = new Map<number, number>();
  for (const bid of bids(events)) {
    const auction = auctionsById.get(bid.auction);
    if (auction === undefined || bid.dateTime < auction.dateTime || bid.dateTime > auction.expires) continue;
    const best = winning.get(auction.id);
    if (best === undefined || bid.price > best) winning.set(auction.id, bid.price);
  }
  const perCategory = new Map<number, { sum: number; n: number }>();
  for (const [auctionId, price] of winning) {
    const category = auctionsById.get(auctionId)!.category;
    const totals = perCategory.get(category) ?? { sum: 0, n: 0 };
    totals.sum += price;
    totals.n += 1;
    perCategory.set(category, totals);
  }
  const rows = [...perCategory].map(([category, { sum, n }]) => ({ category, avgPrice: Math.trunc(sum / n) }));
  return finish(rows, options);
}

export interface Q5Row {
  auction: number;
  count: number;
  windowStart: number;
  windowEnd: number;
}

/**
 * q5, hot items: sliding windows of 10 s every 2 s over bid dateTime (see the header for the
 * window bounds; each bid counts in 5 windows). Per window, count the bids per auction; emit
 * `{auction, count, windowStart, windowEnd}` for every auction whose count equals the window's
 * maximum (ties: all of them; Flink's `num >= maxn`). Only windows holding at least one bid.
 */
export function q5(events: readonly NexmarkEvent[], options: QueryOptions = {}): Q5Row[] {
  // windowStart → auction → count
  const windows = new Map<number, Map<number, number>>();
  for (const bid of bids(events)) {
    const last = Math.floor(bid.dateTime / HOP_SLIDE_MS) * HOP_SLIDE_MS;
    for (let start = last; start > bid.dateTime - WINDOW_SIZE_MS; start -= HOP_SLIDE_MS) {
      let counts = windows.get(start);
      if (counts === undefined) windows.set(start, (counts = new Map()));
      counts.set(bid.auction, (counts.get(bid.auction) ?? 0) + 1);
    }
  }
  const rows: Q5Row[] = [];
  for (const [windowStart, counts] of windows) {
    let max = 0;
    for (const count of counts.values()) if (count > max) max = count;
    for (const [auction, count] of counts) {
      if (count === max) rows.push({ auction, count, windowStart, windowEnd: windowStart + WINDOW_SIZE_MS });
    }
  }
  return finish(rows, options);
}

export interface Q7Row {
  auction: number;
  price: number;
  bidder: number;
  dateTime: number;
  windowEnd: number;
}

/**
 * q7, highest bid: tumbling 10 s windows over bid dateTime; for every bid whose price equals
 * the maximum price of its own window, `{auction, price, bidder, dateTime, windowEnd}` (ties:
 * all of them). (Flink joins on `dateTime BETWEEN windowEnd − 10 s AND windowEnd`, inclusive,
 * so a bid exactly at a window end can also match the previous window's maximum; we use the
 * half-open window the bid belongs to.)
 */
export function q7(events: readonly NexmarkEvent[], options: QueryOptions = {}): Q7Row[] {
  const all = bids(events);
  const maxByWindow = new Map<number, number>();
  for (const bid of all) {
    const start = tumbleStart(bid.dateTime);
    const max = maxByWindow.get(start);
    if (max === undefined || bid.price > max) maxByWindow.set(start, bid.price);
  }
  const rows: Q7Row[] = [];
  for (const bid of all) {
    const start = tumbleStart(bid.dateTime);
    if (bid.price === maxByWindow.get(start)) {
      rows.push({ auction: bid.auction, price: bid.price, bidder: bid.bidder, dateTime: bid.dateTime, windowEnd: start + WINDOW_SIZE_MS });
    }
  }
  return finish(rows, options);
}

export interface Q8Row {
  id: number;
  name: string;
  windowStart: number;
}

/**
 * q8, new users: `{id, name, windowStart}` for every person who created an auction
 * (`auction.seller === person.id`) in the same tumbling 10 s window as the person's own
 * dateTime; distinct per (id, name, window), whatever the number of such auctions.
 */
export function q8(events: readonly NexmarkEvent[], options: QueryOptions = {}): Q8Row[] {
  const sellerWindows = new Set<string>();
  for (const event of events) {
    if (event.type === 'auction') sellerWindows.add(`${event.auction.seller}@${tumbleStart(event.auction.dateTime)}`);
  }
  const seen = new Set<string>();
  const rows: Q8Row[] = [];
  for (const event of events) {
    if (event.type !== 'person') continue;
    const { id, name, dateTime } = event.person;
    const windowStart = tumbleStart(dateTime);
    const key = JSON.stringify([id, name, windowStart]);
    if (!sellerWindows.has(`${id}@${windowStart}`) || seen.has(key)) continue;
    seen.add(key);
    rows.push({ id, name, windowStart });
  }
  return finish(rows, options);
}
