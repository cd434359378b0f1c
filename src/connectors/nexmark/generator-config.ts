/**
 * The NexmarkGenerator's options, their defaults and their validation. Pure; runs wherever a
 * generator or a NexmarkSource is constructed (the job module's thread, each source subtask's
 * worker thread, tests).
 */

import { WeirError } from '../../errors.ts';

export interface NexmarkGeneratorOptions {
  /** Seeds every event's randomness (with its event id). An integer. Default 0. */
  seed?: number;
  /** Event-time rate: events per second of event time (not a wall-clock limit). Default 10,000. */
  eventsPerSecond?: number;
  /** `dateTime` of event 0, ms since the epoch. Default 2015-07-15T00:00:00Z (Beam's base time). */
  firstEventTimestamp?: number;
  /**
   * Event id of event 0; ids drive the person/auction/bid mix and the entity ids. Default 1, so
   * the stream opens with three auctions and its first person (id 1001) is event 49.
   */
  firstEventId?: number;
  /** Event numbers [0, numEvents) are valid; omitted: unbounded. */
  numEvents?: number;
  /** Proportions of people, auctions and bids. Defaults 1, 3, 46. */
  personProportion?: number;
  auctionProportion?: number;
  bidProportion?: number;
  /** Average idealized sizes in bytes, reached by padding `extra`. Defaults 200, 500, 100. */
  avgPersonByteSize?: number;
  avgAuctionByteSize?: number;
  avgBidByteSize?: number;
  /** A reference is 'hot' with probability 1 − 1/ratio. Defaults 2 (auctions), 4, 4. */
  hotAuctionRatio?: number;
  hotSellersRatio?: number;
  hotBiddersRatio?: number;
  /** Auctions a random bid may pick from (before the latest). Default 100. */
  numInFlightAuctions?: number;
  /** People a random seller or bidder may be picked from. Default 1,000. */
  numActivePeople?: number;
}

/** A validated configuration with every default filled in. Plain data. */
export type NexmarkConfig = Readonly<Required<Omit<NexmarkGeneratorOptions, 'numEvents'>>> & {
  readonly numEvents: number | undefined;
};

export const NEXMARK_DEFAULTS = {
  seed: 0,
  eventsPerSecond: 10_000,
  firstEventTimestamp: Date.UTC(2015, 6, 15),
  firstEventId: 1,
  personProportion: 1,
  auctionProportion: 3,
  bidProportion: 46,
  avgPersonByteSize: 200,
  avgAuctionByteSize: 500,
  avgBidByteSize: 100,
  hotAuctionRatio: 2,
  hotSellersRatio: 4,
  hotBiddersRatio: 4,
  numInFlightAuctions: 100,
  numActivePeople: 1000,
} as const;

/**
 * Largest accepted average event size: `extra` is cut from a 1 MiB pool, which must stay well
 * above the longest padding.
 */
export const MAX_AVG_BYTE_SIZE = 1 << 18;

const INTEGER_OPTIONS = [
  ['firstEventTimestamp', 0],
  ['firstEventId', 0],
  ['personProportion', 1],
  ['auctionProportion', 1],
  ['bidProportion', 0],
  ['avgPersonByteSize', 1],
  ['avgAuctionByteSize', 1],
  ['avgBidByteSize', 1],
  ['hotAuctionRatio', 1],
  ['hotSellersRatio', 1],
  ['hotBiddersRatio', 1],
  ['numInFlightAuctions', 1],
  ['numActivePeople', 1],
] as const;

/**
 * Validates options and fills in defaults. `owner` names the class in error messages
 * ("NexmarkSource options.seed must be …"). Throws WEIR_INVALID_OPTION.
 */
export function resolveNexmarkConfig(options: NexmarkGeneratorOptions = {}, owner = 'NexmarkGenerator'): NexmarkConfig {
  if (options === null || typeof options !== 'object') {
    throw invalid(`${owner} options must be an object, got ${describe(options)}`);
  }
  // Known options only: NexmarkSource passes its own options (count, ratePerSecond…) through.
  const given = options as Record<string, unknown>;
  const config: Record<string, number | undefined> = {};
  for (const [name, fallback] of Object.entries(NEXMARK_DEFAULTS)) {
    config[name] = given[name] === undefined ? fallback : (given[name] as number);
  }
  const seed = config['seed'];
  if (!Number.isSafeInteger(seed)) throw invalid(`${owner} options.seed must be a safe integer, got ${describe(seed)}`);
  const rate = config['eventsPerSecond'];
  if (!(typeof rate === 'number' && Number.isFinite(rate) && rate > 0)) {
    throw invalid(`${owner} options.eventsPerSecond must be a positive finite number, got ${describe(rate)}`);
  }
  for (const [name, min] of INTEGER_OPTIONS) {
    const value = config[name];
    if (!(Number.isSafeInteger(value) && value! >= min)) {
      throw invalid(`${owner} options.${name} must be an integer ≥ ${min}, got ${describe(value)}`);
    }
  }
  for (const name of ['avgPersonByteSize', 'avgAuctionByteSize', 'avgBidByteSize']) {
    if (config[name]! > MAX_AVG_BYTE_SIZE) {
      throw invalid(`${owner} options.${name} must be at most ${MAX_AVG_BYTE_SIZE}, got ${config[name]}`);
    }
  }
  const numEvents = options.numEvents;
  if (numEvents !== undefined && !(Number.isSafeInteger(numEvents) && numEvents >= 0)) {
    throw invalid(`${owner} options.numEvents must be a non-negative integer, got ${describe(numEvents)}`);
  }
  if (numEvents !== undefined && config['firstEventId']! + numEvents > Number.MAX_SAFE_INTEGER) {
    throw invalid(`${owner} options.firstEventId + numEvents must stay below 2^53, got ${config['firstEventId']} + ${numEvents}`);
  }
  config['numEvents'] = numEvents;
  return Object.freeze(config) as unknown as NexmarkConfig;
}

/** @internal */
export function invalid(message: string): WeirError {
  return new WeirError('WEIR_INVALID_OPTION', message);
}

/**
 * A short rendering of a bad option value for an error message.
 * @internal
 */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}
