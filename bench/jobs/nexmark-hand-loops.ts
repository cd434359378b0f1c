// bench:nexmark's baselines: Nexmark q0–q5, q7, q8 as hand-written single-thread streaming loops,
// timed one per fresh worker thread and checked on the bench's main thread. Each loop generates its events one at a time with
// `NexmarkGenerator.eventAt(i)` (the engine pays for generation too), keeps its state in Maps,
// hands every result row to `emit` as soon as it is final, and fires windows as event time
// advances — what a competent engineer writes for a stream without an engine. No arrays of all
// events and no sorting (that is what the test oracles in test/helpers/nexmark-reference.ts do);
// bench/nexmark.ts checks that each loop produces the oracle's rows.
//
// Event time as in the engine jobs: the watermark is Flink's bounded out-of-orderness one,
// `max dateTime seen − 4 s − 1` ("no event at or before it is still to come"); a window
// [start, end) fires once the watermark reaches end − 1, an auction closes once it passes its
// `expires`. The generator's stream is in event-time order, so nothing is ever late; the loops
// would stay correct on a stream up to 4 s out of order.
import { NexmarkGenerator, type Bid, type NexmarkGeneratorOptions } from 'weir';

export const WINDOW_MS = 10_000;
export const HOP_SLIDE_MS = 2_000;
export const OUT_OF_ORDERNESS_MS = 4_000;

/** Where a loop puts its result rows: a counter when timing, an array when checking. */
export type Emit<R> = (row: R) => void;
/** A hand loop: processes events 0 … count−1 of the generator with these options. */
export type HandLoop<R = unknown> = (count: number, options: NexmarkGeneratorOptions, emit: Emit<R>) => void;

export interface Q2Row { auction: number; price: number }
export interface Q3Row { name: string; city: string; state: string; id: number }
export interface Q4Row { category: number; avgPrice: number }
export interface Q5Row { auction: number; count: number; windowStart: number; windowEnd: number }
export interface Q7Row { auction: number; price: number; bidder: number; dateTime: number; windowEnd: number }
export interface Q8Row { id: number; name: string; windowStart: number }

function generator(count: number, options: NexmarkGeneratorOptions): NexmarkGenerator {
  return new NexmarkGenerator({ ...options, numEvents: count });
}

/** q0, pass-through: every bid as it is. */
export function q0(count: number, options: NexmarkGeneratorOptions, emit: Emit<Bid>): void {
  const events = generator(count, options);
  for (let i = 0; i < count; i++) {
    const event = events.eventAt(i);
    if (event.type === 'bid') emit(event.bid);
  }
}

/** q1, currency conversion: every bid with `price * 0.908` (the exact double the oracle computes). */
export function q1(count: number, options: NexmarkGeneratorOptions, emit: Emit<Bid>): void {
  const events = generator(count, options);
  for (let i = 0; i < count; i++) {
    const event = events.eventAt(i);
    if (event.type !== 'bid') continue;
    const b = event.bid;
    emit({ auction: b.auction, bidder: b.bidder, price: b.price * 0.908, channel: b.channel, url: b.url, dateTime: b.dateTime, extra: b.extra });
  }
}

/** q2, selection: `{auction, price}` of the bids on auctions divisible by 123. */
export function q2(count: number, options: NexmarkGeneratorOptions, emit: Emit<Q2Row>): void {
  const events = generator(count, options);
  for (let i = 0; i < count; i++) {
    const event = events.eventAt(i);
    if (event.type === 'bid' && event.bid.auction % 123 === 0) emit({ auction: event.bid.auction, price: event.bid.price });
  }
}

interface Q3Person { name: string; city: string; state: string }

/**
 * q3, local item suggestion: a symmetric hash join (Flink's regular join: both sides kept for
 * ever) of people in OR, ID, CA with auctions of category 10 on `seller = id`; a row is emitted
 * when its second side arrives.
 */
export function q3(count: number, options: NexmarkGeneratorOptions, emit: Emit<Q3Row>): void {
  const events = generator(count, options);
  // Lists on both sides keep the join exact even if an id repeated (the generator's do not).
  const peopleById = new Map<number, Q3Person[]>();
  const auctionsBySeller = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const event = events.eventAt(i);
    if (event.type === 'bid') continue;
    if (event.type === 'person') {
      const p = event.person;
      if (p.state !== 'OR' && p.state !== 'ID' && p.state !== 'CA') continue;
      const person = { name: p.name, city: p.city, state: p.state };
      const same = peopleById.get(p.id);
      if (same === undefined) peopleById.set(p.id, [person]);
      else same.push(person);
      const auctionIds = auctionsBySeller.get(p.id);
      if (auctionIds !== undefined) for (const id of auctionIds) emit({ name: p.name, city: p.city, state: p.state, id });
    } else {
      const a = event.auction;
      if (a.category !== 10) continue;
      const same = auctionsBySeller.get(a.seller);
      if (same === undefined) auctionsBySeller.set(a.seller, [a.id]);
      else same.push(a.id);
      const people = peopleById.get(a.seller);
      if (people !== undefined) for (const p of people) emit({ name: p.name, city: p.city, state: p.state, id: a.id });
    }
  }
}

interface OpenAuction {
  readonly id: number;
  readonly category: number;
  readonly dateTime: number;
  readonly expires: number;
  /** Highest qualifying bid so far; −1: none yet. */
  maxPrice: number;
}

/**
 * q4, average winning price per category. Open auctions wait in a Map and in a min-heap by
 * `expires`; a bid raises its auction's maximum when `dateTime ≤ bid.dateTime ≤ expires`. An
 * auction closes when the watermark passes `expires`: its maximum (if it had a qualifying bid)
 * joins its category's sum and count, and the category's new `{category, avgPrice}` is emitted
 * (the last row per category is the final answer). Bids on an auction not seen yet (the
 * generator lets bids run up to 10 auctions ahead) wait until the auction comes or the watermark
 * passes them (a later auction starts after the watermark, so they can no longer match).
 */
export function q4(count: number, options: NexmarkGeneratorOptions, emit: Emit<Q4Row>): void {
  const events = generator(count, options);
  const open = new Map<number, OpenAuction>();
  const closing = new MinHeap<OpenAuction>((a, b) => a.expires < b.expires);
  const early = new Map<number, Bid[]>();
  const earlyQueue: Bid[] = []; // arrival order, for expiring `early` by the watermark
  let earlyHead = 0;
  const totals = new Map<number, { sum: number; n: number }>();
  let maxTimestamp = -Infinity;

  const closeUpTo = (wm: number) => {
    while (closing.size > 0 && closing.peek()!.expires <= wm) {
      const auction = closing.pop()!;
      open.delete(auction.id);
      if (auction.maxPrice < 0) continue;
      let t = totals.get(auction.category);
      if (t === undefined) totals.set(auction.category, (t = { sum: 0, n: 0 }));
      t.sum += auction.maxPrice;
      t.n += 1;
      emit({ category: auction.category, avgPrice: Math.trunc(t.sum / t.n) });
    }
    while (earlyHead < earlyQueue.length && earlyQueue[earlyHead]!.dateTime <= wm) {
      const bid = earlyQueue[earlyHead++]!;
      const waiting = early.get(bid.auction);
      const at = waiting === undefined ? -1 : waiting.indexOf(bid);
      if (at >= 0) {
        waiting!.splice(at, 1);
        if (waiting!.length === 0) early.delete(bid.auction);
      }
    }
    if (earlyHead > 4096 && earlyHead * 2 > earlyQueue.length) {
      earlyQueue.splice(0, earlyHead);
      earlyHead = 0;
    }
  };

  for (let i = 0; i < count; i++) {
    const event = events.eventAt(i);
    if (event.type === 'bid') {
      const bid = event.bid;
      if (bid.dateTime > maxTimestamp) {
        maxTimestamp = bid.dateTime;
        closeUpTo(maxTimestamp - OUT_OF_ORDERNESS_MS - 1);
      }
      const auction = open.get(bid.auction);
      if (auction !== undefined) {
        if (bid.price > auction.maxPrice && bid.dateTime >= auction.dateTime && bid.dateTime <= auction.expires) auction.maxPrice = bid.price;
      } else {
        const waiting = early.get(bid.auction);
        if (waiting === undefined) early.set(bid.auction, [bid]);
        else waiting.push(bid);
        earlyQueue.push(bid);
      }
    } else if (event.type === 'auction') {
      const a = event.auction;
      if (a.dateTime > maxTimestamp) {
        maxTimestamp = a.dateTime;
        closeUpTo(maxTimestamp - OUT_OF_ORDERNESS_MS - 1);
      }
      const auction: OpenAuction = { id: a.id, category: a.category, dateTime: a.dateTime, expires: a.expires, maxPrice: -1 };
      const waiting = early.get(a.id);
      if (waiting !== undefined) {
        for (const bid of waiting) {
          if (bid.price > auction.maxPrice && bid.dateTime >= a.dateTime && bid.dateTime <= a.expires) auction.maxPrice = bid.price;
        }
        early.delete(a.id);
      }
      open.set(a.id, auction);
      closing.push(auction);
    } else if (event.person.dateTime > maxTimestamp) {
      maxTimestamp = event.person.dateTime;
      closeUpTo(maxTimestamp - OUT_OF_ORDERNESS_MS - 1);
    }
  }
  closeUpTo(Infinity); // the final watermark closes every auction
}

/**
 * q5, hot items: HOP windows of 10 s every 2 s, counted per 2 s pane (one Map update per bid, as
 * Flink's sliced windows do) and merged over a window's 5 panes when it fires; emits every
 * auction whose count equals the window's maximum.
 */
export function q5(count: number, options: NexmarkGeneratorOptions, emit: Emit<Q5Row>): void {
  const events = generator(count, options);
  const panes = new Map<number, Map<number, number>>(); // pane start → auction → bids
  const panesPerWindow = WINDOW_MS / HOP_SLIDE_MS;
  const lead = WINDOW_MS - HOP_SLIDE_MS; // the first window holding pane p starts at p − lead
  let nextWindow = -Infinity; // start of the next window to fire; never decreases
  let nextDue = Infinity; // watermark at which the next window fires
  let maxTimestamp = -Infinity;

  const fireUpTo = (wm: number) => {
    nextDue = Infinity;
    while (panes.size > 0) {
      // Windows before the one holding the oldest pane hold no bid: skip them.
      nextWindow = Math.max(nextWindow, minKey(panes) - lead);
      if (nextWindow + WINDOW_MS - 1 > wm) {
        nextDue = nextWindow + WINDOW_MS - 1;
        return;
      }
      const merged = new Map<number, number>();
      let max = 0;
      for (let k = 0, pane = nextWindow; k < panesPerWindow; k++, pane += HOP_SLIDE_MS) {
        const counts = panes.get(pane);
        if (counts === undefined) continue;
        for (const [auction, n] of counts) {
          const total = (merged.get(auction) ?? 0) + n;
          merged.set(auction, total);
          if (total > max) max = total;
        }
      }
      for (const [auction, n] of merged) {
        if (n === max) emit({ auction, count: n, windowStart: nextWindow, windowEnd: nextWindow + WINDOW_MS });
      }
      panes.delete(nextWindow); // the first pane of this window is in no later one
      nextWindow += HOP_SLIDE_MS;
    }
  };

  for (let i = 0; i < count; i++) {
    const event = events.eventAt(i);
    const ts = event.type === 'bid' ? event.bid.dateTime : event.type === 'auction' ? event.auction.dateTime : event.person.dateTime;
    if (ts > maxTimestamp) {
      maxTimestamp = ts;
      if (maxTimestamp - OUT_OF_ORDERNESS_MS - 1 >= nextDue) fireUpTo(maxTimestamp - OUT_OF_ORDERNESS_MS - 1);
    }
    if (event.type !== 'bid') continue;
    const pane = Math.floor(ts / HOP_SLIDE_MS) * HOP_SLIDE_MS;
    let counts = panes.get(pane);
    if (counts === undefined) {
      panes.set(pane, (counts = new Map()));
      nextDue = Math.min(nextDue, Math.max(nextWindow, pane - lead) + WINDOW_MS - 1);
    }
    counts.set(event.bid.auction, (counts.get(event.bid.auction) ?? 0) + 1);
  }
  fireUpTo(Infinity);
}

interface Q7Window { max: number; bids: Bid[] }

/**
 * q7, highest bid: per tumbling 10 s window the maximum price and the bids at it (reset when a
 * higher one comes); at the window's end, one row per bid at the maximum.
 */
export function q7(count: number, options: NexmarkGeneratorOptions, emit: Emit<Q7Row>): void {
  const events = generator(count, options);
  const windows = new Map<number, Q7Window>();
  let nextFire = Infinity; // smallest end − 1 of an open window
  let maxTimestamp = -Infinity;

  const fireUpTo = (wm: number) => {
    nextFire = Infinity;
    for (const [start, w] of windows) {
      if (start + WINDOW_MS - 1 > wm) {
        nextFire = Math.min(nextFire, start + WINDOW_MS - 1);
        continue;
      }
      for (const b of w.bids) emit({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, windowEnd: start + WINDOW_MS });
      windows.delete(start);
    }
  };

  for (let i = 0; i < count; i++) {
    const event = events.eventAt(i);
    const ts = event.type === 'bid' ? event.bid.dateTime : event.type === 'auction' ? event.auction.dateTime : event.person.dateTime;
    if (ts > maxTimestamp) {
      maxTimestamp = ts;
      if (maxTimestamp - OUT_OF_ORDERNESS_MS - 1 >= nextFire) fireUpTo(maxTimestamp - OUT_OF_ORDERNESS_MS - 1);
    }
    if (event.type !== 'bid') continue;
    const bid = event.bid;
    const start = Math.floor(ts / WINDOW_MS) * WINDOW_MS;
    const w = windows.get(start);
    if (w === undefined) {
      windows.set(start, { max: bid.price, bids: [bid] });
      nextFire = Math.min(nextFire, start + WINDOW_MS - 1);
    } else if (bid.price > w.max) {
      w.max = bid.price;
      w.bids.length = 0;
      w.bids.push(bid);
    } else if (bid.price === w.max) {
      w.bids.push(bid);
    }
  }
  fireUpTo(Infinity);
}

interface Q8Window { people: Array<{ id: number; name: string }>; sellers: Set<number> }

/**
 * q8, new users: per tumbling 10 s window the people who registered in it and the sellers of
 * the auctions created in it; at the window's end, each person who also sold, once per (id, name).
 */
export function q8(count: number, options: NexmarkGeneratorOptions, emit: Emit<Q8Row>): void {
  const events = generator(count, options);
  const windows = new Map<number, Q8Window>();
  let nextFire = Infinity;
  let maxTimestamp = -Infinity;

  const fireUpTo = (wm: number) => {
    nextFire = Infinity;
    for (const [start, w] of windows) {
      if (start + WINDOW_MS - 1 > wm) {
        nextFire = Math.min(nextFire, start + WINDOW_MS - 1);
        continue;
      }
      const emitted = new Map<number, string[]>();
      for (const { id, name } of w.people) {
        if (!w.sellers.has(id)) continue;
        const names = emitted.get(id);
        if (names === undefined) emitted.set(id, [name]);
        else if (names.includes(name)) continue;
        else names.push(name);
        emit({ id, name, windowStart: start });
      }
      windows.delete(start);
    }
  };
  const windowAt = (ts: number): Q8Window => {
    const start = Math.floor(ts / WINDOW_MS) * WINDOW_MS;
    let w = windows.get(start);
    if (w === undefined) {
      windows.set(start, (w = { people: [], sellers: new Set() }));
      nextFire = Math.min(nextFire, start + WINDOW_MS - 1);
    }
    return w;
  };

  for (let i = 0; i < count; i++) {
    const event = events.eventAt(i);
    if (event.type === 'bid') {
      // Bids carry no rows here but still move event time (as the engine's watermark does).
      if (event.bid.dateTime > maxTimestamp) {
        maxTimestamp = event.bid.dateTime;
        if (maxTimestamp - OUT_OF_ORDERNESS_MS - 1 >= nextFire) fireUpTo(maxTimestamp - OUT_OF_ORDERNESS_MS - 1);
      }
      continue;
    }
    const ts = event.type === 'auction' ? event.auction.dateTime : event.person.dateTime;
    if (ts > maxTimestamp) {
      maxTimestamp = ts;
      if (maxTimestamp - OUT_OF_ORDERNESS_MS - 1 >= nextFire) fireUpTo(maxTimestamp - OUT_OF_ORDERNESS_MS - 1);
    }
    if (event.type === 'person') windowAt(ts).people.push({ id: event.person.id, name: event.person.name });
    else windowAt(ts).sellers.add(event.auction.seller);
  }
  fireUpTo(Infinity);
}

export const HAND_LOOPS = { q0, q1, q2, q3, q4, q5, q7, q8 } as const satisfies Record<string, HandLoop<unknown>>;

function minKey(map: Map<number, unknown>): number {
  let min = Infinity;
  for (const key of map.keys()) if (key < min) min = key;
  return min;
}

/** A binary min-heap under `less`. */
class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    let i = items.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let best = i;
        if (left < items.length && this.#less(items[left]!, items[best]!)) best = left;
        if (right < items.length && this.#less(items[right]!, items[best]!)) best = right;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
}
