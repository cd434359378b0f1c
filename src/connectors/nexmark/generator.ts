/**
 * NexmarkGenerator: the deterministic Nexmark event generator, where `eventAt(n)` is a pure
 * function of the configuration and the event number n. Runs on whichever thread calls it: a
 * NexmarkSource reader on its source subtask's worker thread, tests and benchmarks on the main
 * thread.
 *
 * Follows the reference generator (nexmark-flink `NexmarkGenerator`, after Beam's), in its
 * structure and distributions:
 * - event id = `firstEventId + n`; kind by `id % 50` with proportions 1:3:46 (person, auction,
 *   bid); person id = `lastBase0PersonId + 1000`, auction id = `lastBase0AuctionId + 1000`, so
 *   ids follow from the event id alone;
 * - hot sellers (p = 3/4: the first of the last 100 people), hot auctions (p = 1/2: the first
 *   of the last 100 auctions), hot bidders (p = 3/4: the second of the last 100 people); other
 *   references uniform over the last 1,000 people / 100 auctions plus 10 ids not yet generated;
 * - `price = round(10^(6U) · 100)`; 5 categories from 10; `expires = dateTime + 1 +
 *   U[0, 2·horizon)` where the horizon is the event-time span of the next 100 auctions;
 *   channels: half from {Google, Facebook, Baidu, Apple} with a fixed url each, else one of
 *   `channel-0 … channel-9999` with its url (9 in 10 carry `&channel_id=`); names, cities,
 *   states, e-mails and credit cards from the same lists and shapes;
 * - `extra` pads each event's idealized size to 200 / 500 / 100 bytes on average (uniform
 *   ±20 %), cut from one shared pool of random letters;
 * - event time `dateTime = firstEventTimestamp + floor(floor(n · 1e6 / eventsPerSecond) / 1000)`
 *   (doubles, as the reference's Java).
 *
 * Where we differ:
 * - each event draws from our own PRNG (splitmix32) seeded by a hash of (`seed`, event id), as
 *   the reference seeds its Random from the event id, so output depends on `seed` and is
 *   reproducible; the shared tables (extra and text pools, channel urls) come from a fixed seed;
 * - one global timeline: event n has the same id and timestamp whatever the source parallelism
 *   (the reference gives each of p parallel generators its own block of ids and its own
 *   timeline at rate/p, and its Flink table source starts at id 2: firstEventId 1 plus
 *   firstEventNumber 1); no out-of-order groups (the reference's default `outOfOrderGroupSize`
 *   of 1 has none either);
 * - item names, descriptions and e-mail parts are slices of a pool of the same text (letters,
 *   1 in 13 spaces, trimmed) rather than drawn character by character, and a price takes one
 *   32-bit draw; both for speed;
 * - the reference adds 1000 to the bidder id twice (bidders 2000 + base); we add it once, so
 *   bidders are person ids like sellers.
 */

import { WeirError } from '../../errors.ts';
import { describe, resolveNexmarkConfig, type NexmarkConfig, type NexmarkGeneratorOptions } from './generator-config.ts';
import type { Auction, Bid, NexmarkEvent, Person } from './model.ts';

export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;
/** Ids a random reference may run ahead of the last generated person / auction. */
const ID_LEAD = 10;
/** Hot sellers, bidders and auctions are the first (bidders: second) of each block of 100. */
const HOT_BLOCK = 100;
const NUM_CHANNELS = 10_000;
/** 4× MAX_AVG_BYTE_SIZE, so the longest padding (1.2 × average) always fits. */
const EXTRA_POOL_LENGTH = 1 << 20;
const TEXT_POOL_LENGTH = 1 << 16;

const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'] as const;
const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'] as const;
const US_CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'] as const;
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'] as const;
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'] as const;

/**
 * Builds events by number. Holds one PRNG that `eventAt` reseeds per event, so a generator must
 * not be shared by code that interleaves calls (it is synchronous, so one thread is fine).
 */
export class NexmarkGenerator {
  readonly config: NexmarkConfig;
  readonly #random = new SplitMix32();
  readonly #tables: SharedTables;
  /** Hash of the seed, mixed with each event id. */
  readonly #seedKeyLow: number;
  readonly #seedKeyHigh: number;
  readonly #limit: number;
  readonly #totalProportion: number;
  readonly #interEventDelayUs: number;
  /** Events until `numInFlightAuctions` more auctions exist: the auction length horizon. */
  readonly #eventsForAuctions: number;

  constructor(options: NexmarkGeneratorOptions = {}) {
    const config = resolveNexmarkConfig(options);
    this.config = config;
    this.#tables = sharedTables();
    this.#seedKeyLow = mix32((config.seed >>> 0) ^ 0x5bd1e995);
    this.#seedKeyHigh = mix32(Math.floor(config.seed / 2 ** 32) ^ 0x27d4eb2f);
    this.#limit = config.numEvents ?? Number.MAX_SAFE_INTEGER - config.firstEventId;
    this.#totalProportion = config.personProportion + config.auctionProportion + config.bidProportion;
    this.#interEventDelayUs = 1e6 / config.eventsPerSecond;
    this.#eventsForAuctions = Math.floor((config.numInFlightAuctions * this.#totalProportion) / config.auctionProportion);
  }

  /** The event with number `eventNumber` (≥ 0, below `numEvents`). Pure: same config, same event. */
  eventAt(eventNumber: number): NexmarkEvent {
    if (!(Number.isSafeInteger(eventNumber) && eventNumber >= 0 && eventNumber < this.#limit)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `NexmarkGenerator.eventAt: event number must be an integer in [0, ${this.#limit}), got ${describe(eventNumber)}`);
    }
    const eventId = this.config.firstEventId + eventNumber;
    this.#random.state = mix32(mix32((eventId >>> 0) ^ this.#seedKeyLow) + (Math.floor(eventId / 2 ** 32) ^ this.#seedKeyHigh));
    const timestamp = this.timestampAt(eventNumber);
    const offset = eventId % this.#totalProportion;
    const { personProportion, auctionProportion } = this.config;
    if (offset < personProportion) return { type: 'person', person: this.#person(eventId, timestamp) };
    if (offset < personProportion + auctionProportion) {
      return { type: 'auction', auction: this.#auction(eventNumber, eventId, timestamp) };
    }
    return { type: 'bid', bid: this.#bid(eventId, timestamp) };
  }

  /** The event time (`dateTime`) of event `eventNumber`, ms since the epoch. */
  timestampAt(eventNumber: number): number {
    return this.config.firstEventTimestamp + Math.floor(Math.floor(eventNumber * this.#interEventDelayUs) / 1000);
  }

  /** Base-0 id of the last person generated up to event `eventId` (the current one if a person). */
  lastBase0PersonId(eventId: number): number {
    const { personProportion } = this.config;
    const epoch = Math.floor(eventId / this.#totalProportion);
    const offset = Math.min(eventId % this.#totalProportion, personProportion - 1);
    return epoch * personProportion + offset;
  }

  /** Base-0 id of the last auction generated up to event `eventId` (the current one if an auction); −1 before any. */
  lastBase0AuctionId(eventId: number): number {
    const { personProportion, auctionProportion } = this.config;
    let epoch = Math.floor(eventId / this.#totalProportion);
    let offset = eventId % this.#totalProportion;
    if (offset < personProportion) {
      epoch--; // a person starts the epoch: the last auction is in the previous one
      offset = auctionProportion - 1;
    } else if (offset >= personProportion + auctionProportion) {
      offset = auctionProportion - 1;
    } else {
      offset -= personProportion;
    }
    return epoch * auctionProportion + offset;
  }

  #person(eventId: number, timestamp: number): Person {
    const random = this.#random;
    const cards = this.#tables.creditCardGroups;
    const id = this.lastBase0PersonId(eventId) + FIRST_PERSON_ID;
    const name = pick(random, FIRST_NAMES) + ' ' + pick(random, LAST_NAMES);
    const emailAddress = this.#text(7) + '@' + this.#text(5) + '.com';
    const creditCard = `${pick(random, cards)} ${pick(random, cards)} ${pick(random, cards)} ${pick(random, cards)}`;
    const city = pick(random, US_CITIES);
    const state = pick(random, US_STATES);
    const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
    const extra = this.#extra(size, this.config.avgPersonByteSize);
    return { id, name, emailAddress, creditCard, city, state, dateTime: timestamp, extra };
  }

  #auction(eventNumber: number, eventId: number, timestamp: number): Auction {
    const random = this.#random;
    const id = this.lastBase0AuctionId(eventId) + FIRST_AUCTION_ID;
    const seller =
      (random.nextInt(this.config.hotSellersRatio) > 0
        ? Math.floor(this.lastBase0PersonId(eventId) / HOT_BLOCK) * HOT_BLOCK
        : this.#randomBase0PersonId(eventId)) + FIRST_PERSON_ID;
    const category = FIRST_CATEGORY_ID + random.nextInt(NUM_CATEGORIES);
    const initialBid = nextPrice(random);
    const horizonMs = this.timestampAt(eventNumber + this.#eventsForAuctions) - timestamp;
    const expires = timestamp + 1 + random.nextInt(Math.max(horizonMs * 2, 1));
    const itemName = this.#text(20);
    const description = this.#text(100);
    const reserve = initialBid + nextPrice(random);
    const size = 8 + itemName.length + description.length + 40;
    const extra = this.#extra(size, this.config.avgAuctionByteSize);
    return { id, itemName, description, initialBid, reserve, dateTime: timestamp, expires, seller, category, extra };
  }

  #bid(eventId: number, timestamp: number): Bid {
    const random = this.#random;
    const auction =
      (random.nextInt(this.config.hotAuctionRatio) > 0
        ? Math.floor(this.lastBase0AuctionId(eventId) / HOT_BLOCK) * HOT_BLOCK
        : this.#randomBase0AuctionId(eventId)) + FIRST_AUCTION_ID;
    const bidder =
      (random.nextInt(this.config.hotBiddersRatio) > 0
        ? Math.floor(this.lastBase0PersonId(eventId) / HOT_BLOCK) * HOT_BLOCK + 1
        : this.#randomBase0PersonId(eventId)) + FIRST_PERSON_ID;
    const price = nextPrice(random);
    const tables = this.#tables;
    let channel: string;
    let url: string;
    if (random.nextInt(2) > 0) {
      const i = random.nextInt(HOT_CHANNELS.length);
      channel = HOT_CHANNELS[i]!;
      url = tables.hotUrls[i]!;
    } else {
      const i = random.nextInt(NUM_CHANNELS);
      channel = tables.channels[i]!;
      url = tables.channelUrls[i]!;
    }
    const extra = this.#extra(32, this.config.avgBidByteSize);
    return { auction, bidder, price, channel, url, dateTime: timestamp, extra };
  }

  /** One of the last `numActivePeople` people, or up to ID_LEAD not yet generated. */
  #randomBase0PersonId(eventId: number): number {
    const numPeople = this.lastBase0PersonId(eventId) + 1;
    const active = Math.min(numPeople, this.config.numActivePeople);
    return numPeople - active + this.#random.nextInt(active + ID_LEAD);
  }

  /** One of the last `numInFlightAuctions` + 1 auctions, or up to ID_LEAD not yet generated. */
  #randomBase0AuctionId(eventId: number): number {
    const last = this.lastBase0AuctionId(eventId);
    const first = Math.max(last - this.config.numInFlightAuctions, 0);
    return first + this.#random.nextInt(last - first + 1 + ID_LEAD);
  }

  /**
   * Text of 3 … maxLength−1 characters (letters, and spaces with probability 1/13), trimmed: the
   * reference's `nextString`, but cut from a pool of such text in two draws rather than drawn
   * character by character (which made auctions cost several times a bid).
   */
  #text(maxLength: number): string {
    const length = 3 + this.#random.nextInt(maxLength - 3);
    const start = this.#random.nextInt(TEXT_POOL_LENGTH - length);
    return this.#tables.textPool.substring(start, start + length).trim();
  }

  /** Padding so that `currentSize + extra.length` averages `averageSize` (uniform ±20 %). */
  #extra(currentSize: number, averageSize: number): string {
    if (currentSize > averageSize) return '';
    const desired = averageSize - currentSize;
    const delta = Math.round(desired * 0.2);
    const length = desired - delta + (delta === 0 ? 0 : this.#random.nextInt(2 * delta));
    const start = this.#random.nextInt(EXTRA_POOL_LENGTH - length);
    // A slice of the pool: V8 makes a sliced string, no copy.
    return this.#tables.extraPool.substring(start, start + length);
  }
}

/**
 * splitmix32 (Mulberry-style Weyl sequence + a 32-bit finalizer, constants from Wellons'
 * hash-prospector): tiny state, so reseeding per event costs one assignment.
 */
class SplitMix32 {
  state = 0;

  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) | 0;
    return mix32(this.state) >>> 0;
  }

  /** Uniform integer in [0, n) for 1 ≤ n ≤ 2^53 (multiply-shift; bias below n / 2^32). */
  nextInt(n: number): number {
    if (n <= 0x1_0000_0000) return Math.floor((this.nextUint32() * n) / 0x1_0000_0000);
    return Math.floor(this.nextDouble() * n);
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const high = this.nextUint32() >>> 11;
    return (high * 0x1_0000_0000 + this.nextUint32()) / 2 ** 53;
  }
}

/** A 32-bit avalanche (hash-prospector's best two-multiply finalizer); returns an int32. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x21f0aaad);
  x ^= x >>> 15;
  x = Math.imul(x, 0x735a2d97);
  return x ^ (x >>> 15);
}

function pick<T>(random: SplitMix32, values: readonly T[]): T {
  return values[random.nextInt(values.length)]!;
}

/** ln(10^6) / 2^32: maps a uint32 draw U·2^32 to ln(10^(6U)). */
const PRICE_EXPONENT_SCALE = (6 * Math.LN10) / 0x1_0000_0000;

/**
 * `round(10^(6U) · 100)`, U uniform in [0, 1): 100 … 10^8, log-uniform. One 32-bit draw is
 * enough (adjacent draws differ by under 0.4 in the largest price), and `exp` is cheaper than
 * `pow` in this, the generator's most frequent call.
 */
function nextPrice(random: SplitMix32): number {
  return Math.round(Math.exp(random.nextUint32() * PRICE_EXPONENT_SCALE) * 100);
}

/**
 * A character that is `special` with probability 1/13 and otherwise a random lowercase letter,
 * as the reference's `nextString`: one draw of 338 = 13 · 26 outcomes, 26 of them `special`.
 */
function nextTextChar(random: SplitMix32, special: number): number {
  const r = random.nextInt(338);
  return r < 26 ? special : 97 + (r % 26);
}

/** 3 … maxLength−1 characters of `nextTextChar` (for the url table). */
function randomUrlPart(random: SplitMix32, maxLength: number): string {
  let length = 3 + random.nextInt(maxLength - 3);
  let s = '';
  while (length-- > 0) s += String.fromCharCode(nextTextChar(random, 95 /* _ */));
  return s;
}

/** Tables every generator on a thread shares; built once from a fixed seed (as the reference's static tables). */
interface SharedTables {
  /** Random lowercase letters; every `extra` is a slice of it. */
  readonly extraPool: string;
  /** Random letters and spaces (1 in 13); names, descriptions and e-mails are slices of it. */
  readonly textPool: string;
  readonly hotUrls: readonly string[];
  readonly channels: readonly string[];
  readonly channelUrls: readonly string[];
  /** "0000" … "9999": the four groups of a credit card number. */
  readonly creditCardGroups: readonly string[];
}

let sharedTablesOnThisThread: SharedTables | undefined;

function sharedTables(): SharedTables {
  if (sharedTablesOnThisThread !== undefined) return sharedTablesOnThisThread;
  const random = new SplitMix32();
  random.state = 0x4e455831; // "NEX1": fixed, so tables are the same on every thread and run
  const pool = Buffer.allocUnsafe(EXTRA_POOL_LENGTH);
  for (let i = 0; i < pool.length; ) {
    // Five letters per draw (5 · log2 26 ≈ 23.5 of its 32 bits): a fifth of the draws for the
    // megabyte every thread builds before its first event.
    let x = random.nextUint32() / 0x1_0000_0000;
    for (let k = 0; k < 5 && i < pool.length; k++) {
      x *= 26;
      const letter = Math.floor(x);
      x -= letter;
      pool[i++] = 97 + letter;
    }
  }
  const text = Buffer.allocUnsafe(TEXT_POOL_LENGTH);
  for (let i = 0; i < text.length; i++) text[i] = nextTextChar(random, 32 /* space */);
  const baseUrl = () =>
    `https://www.nexmark.com/${randomUrlPart(random, 5)}/${randomUrlPart(random, 5)}/${randomUrlPart(random, 5)}/item.htm?query=1`;
  const hotUrls = HOT_CHANNELS.map(baseUrl);
  const channels: string[] = [];
  const channelUrls: string[] = [];
  for (let i = 0; i < NUM_CHANNELS; i++) {
    const url = baseUrl();
    channels.push(`channel-${i}`);
    channelUrls.push(random.nextInt(10) > 0 ? `${url}&channel_id=${Math.abs(reverseBits32(i) | 0)}` : url);
  }
  const creditCardGroups = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'));
  sharedTablesOnThisThread = { extraPool: pool.toString('latin1'), textPool: text.toString('latin1'), hotUrls, channels, channelUrls, creditCardGroups };
  return sharedTablesOnThisThread;
}

/** Java's Integer.reverse: the 32 bits of `x` in reverse order, as an unsigned number. */
function reverseBits32(x: number): number {
  let out = 0;
  for (let i = 0; i < 32; i++) {
    out = (out << 1) | (x & 1);
    x >>>= 1;
  }
  return out >>> 0;
}
