/**
 * The Nexmark data model (an online auction: people, auctions, bids), after the nexmark-flink
 * `model` package. Plain types only, used on every thread: events are plain objects of numbers
 * and strings so the binary record codec carries them between subtasks as they are.
 */

/** A person who may sell items and bid on them. `dateTime` is event time in ms since the epoch. */
export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  dateTime: number;
  extra: string;
}

/**
 * An item put up for auction by `seller` (a person id). Bids count between `dateTime` and
 * `expires` (both ms since the epoch); prices are integers (cents in the reference's reading).
 */
export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  dateTime: number;
  expires: number;
  seller: number;
  category: number;
  extra: string;
}

/** A bid of `price` by person `bidder` on auction `auction`, placed through `channel`. */
export interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  dateTime: number;
  extra: string;
}

/**
 * One event of the stream: a new person, a new auction, or a bid. A discriminated union of
 * two-field objects, so that each variant has one fixed shape (the binary codec sends the keys of
 * a shape once per channel) and a filter on `type` narrows the payload.
 */
export type NexmarkEvent =
  | { type: 'person'; person: Person }
  | { type: 'auction'; auction: Auction }
  | { type: 'bid'; bid: Bid };

/** The event time of any event: the `dateTime` of its payload. */
export function eventDateTime(event: NexmarkEvent): number {
  switch (event.type) {
    case 'person':
      return event.person.dateTime;
    case 'auction':
      return event.auction.dateTime;
    case 'bid':
      return event.bid.dateTime;
  }
}
