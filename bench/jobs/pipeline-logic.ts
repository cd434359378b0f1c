// The logic of bench:pipeline, shared by the engine job and the hand-written loop so both do
// exactly the same work per record: generate an event, enrich it (map), key it by user, keep a
// running count per user.
export interface Event {
  user: string;
  amount: number;
  seq: number;
}

export interface Enriched extends Event {
  cents: number;
}

export interface UserCount {
  user: string;
  count: number;
  cents: number;
}

export const USERS = 10_000;

export function generate(i: number): Event {
  return { user: `user-${(i * 7919) % USERS}`, amount: (i % 1000) / 10, seq: i };
}

export function enrich(e: Event): Enriched {
  return { user: e.user, amount: e.amount, seq: e.seq, cents: Math.round(e.amount * 100) };
}

export function step(previous: UserCount | undefined, e: Enriched): UserCount {
  return previous === undefined
    ? { user: e.user, count: 1, cents: e.cents }
    : { user: e.user, count: previous.count + 1, cents: previous.cents + e.cents };
}
