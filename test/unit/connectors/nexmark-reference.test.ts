import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NexmarkEvent } from '../../../src/connectors/nexmark/model.ts';
import { canonicalRows, nexmarkEvents, q0, q1, q2, q3, q4, q5, q7, q8 } from '../../helpers/nexmark-reference.ts';

// Tiny synthetic events: only the fields a query reads matter; the rest are fixed.
function person(id: number, state: string, dateTime = 100_000, name = `P${id}`): NexmarkEvent {
  return { type: 'person', person: { id, name, emailAddress: 'a@b.com', creditCard: '0000 0000 0000 0000', city: `C${id}`, state, dateTime, extra: '' } };
}

function auction(id: number, seller: number, category: number, dateTime: number, expires = dateTime + 1000): NexmarkEvent {
  return {
    type: 'auction',
    auction: { id, itemName: 'i', description: 'd', initialBid: 1, reserve: 2, dateTime, expires, seller, category, extra: '' },
  };
}

function bid(auctionId: number, price: number, dateTime: number, bidder = 1): NexmarkEvent {
  return { type: 'bid', bid: { auction: auctionId, bidder, price, channel: 'Google', url: 'u', dateTime, extra: '' } };
}

const payloads = (events: NexmarkEvent[]) => events.map((e) => (e.type === 'bid' ? e.bid : null)).filter((b) => b !== null);

test('canonicalRows sorts by JSON with sorted keys and keeps duplicates', () => {
  const rows = [{ b: 2, a: 1 }, { a: 0, b: 9 }, { a: 1, b: 2 }];
  assert.equal(canonicalRows(rows), [{ a: 0, b: 9 }, { a: 1, b: 2 }, { b: 2, a: 1 }]);
  assert.equal(canonicalRows([{ a: 1, b: 2 }]), canonicalRows([{ b: 2, a: 1 }]));
  assert.equal(rows[0], { b: 2, a: 1 }, 'input untouched');
});

test('q0 passes every bid through, q1 converts its price with × 0.908, q2 keeps auctions divisible by 123', () => {
  const events = [bid(246, 1000, 5), person(1, 'OR'), bid(247, 125, 6), auction(0, 1, 10, 7), bid(0, 3, 8)];
  const bids = payloads(events);
  assert.equal(q0(events), canonicalRows(bids));
  assert.equal(q0([...events].reverse()), q0(events), 'order of arrival does not matter');
  assert.equal(
    q1(events).map((b) => [b.auction, b.price]),
    [[0, 2.724], [246, 908], [247, 113.5]],
  );
  assert.equal(q2(events), [{ auction: 0, price: 3 }, { auction: 246, price: 1000 }]);
});

test('q3 joins category-10 auctions with their OR/ID/CA sellers, whichever came first', () => {
  const events = [
    auction(13, 3, 10, 100_000), // before its seller arrives
    person(1, 'OR'),
    person(2, 'WA'),
    person(3, 'CA'),
    auction(10, 1, 10, 100_001),
    auction(11, 2, 10, 100_002), // WA: not selected
    auction(12, 3, 11, 100_003), // category 11: not selected
    auction(14, 1, 10, 100_004),
    auction(15, 99, 10, 100_005), // no such person
  ];
  assert.equal(q3(events), [
    { name: 'P1', city: 'C1', state: 'OR', id: 10 },
    { name: 'P1', city: 'C1', state: 'OR', id: 14 },
    { name: 'P3', city: 'C3', state: 'CA', id: 13 },
  ]);
});

test('q4 averages the winning in-time bid of each auction per category, truncating', () => {
  const events = [
    bid(4, 7, 3_000), // arrives before its auction: still counts
    auction(1, 1, 10, 1_000, 2_000),
    bid(1, 500, 999), // before the auction starts
    bid(1, 700, 1_000), // at the start: counts
    bid(1, 900, 2_000), // at expiry: counts, and wins
    bid(1, 5_000, 2_001), // after expiry
    auction(2, 1, 10, 0, 5_000),
    bid(2, 101, 10),
    auction(3, 1, 11, 0, 5_000), // no bids: category 11 has no row
    auction(4, 1, 12, 2_500, 3_500),
    bid(77, 1_000_000, 10), // unknown auction
  ];
  // Category 10: (900 + 101) / 2 = 500.5 → 500.
  assert.equal(q4(events), canonicalRows([{ category: 10, avgPrice: 500 }, { category: 12, avgPrice: 7 }]));
  assert.equal(q4([...events].reverse()), q4(events));
});

test('q5 reports, per 10 s window sliding by 2 s, the auctions with the most bids', () => {
  const events = [bid(1, 1, 101_000), bid(2, 1, 103_000), bid(2, 1, 103_500), bid(1, 1, 111_000)];
  const row = (auction: number, count: number, windowStart: number) => ({ auction, count, windowStart, windowEnd: windowStart + 10_000 });
  assert.equal(
    q5(events),
    canonicalRows([
      row(1, 1, 92_000), // only the bid at 101 000
      row(2, 2, 94_000), // 101 000, 103 000, 103 500: auction 2 leads 2 to 1
      row(2, 2, 96_000),
      row(2, 2, 98_000),
      row(2, 2, 100_000),
      row(2, 2, 102_000), // 103 000, 103 500, 111 000
      row(1, 1, 104_000),
      row(1, 1, 106_000),
      row(1, 1, 108_000),
      row(1, 1, 110_000),
    ]),
  );
});

test('q5 window bounds are half-open and ties report every auction', () => {
  // A bid at 110 000 is in the windows starting 102 000 … 110 000, not in [100 000, 110 000).
  assert.equal(q5([bid(5, 1, 110_000)]).map((r) => r.windowStart), [102_000, 104_000, 106_000, 108_000, 110_000]);
  const tie = q5([bid(1, 1, 110_000), bid(2, 1, 110_001)]);
  assert.is(tie.length, 10);
  assert.equal(tie.filter((r) => r.windowStart === 110_000).map((r) => r.auction), [1, 2]);
});

test('q7 reports every bid at its 10 s tumbling window maximum price', () => {
  const events = [
    bid(1, 5, 100_000),
    bid(1, 9, 105_000, 7),
    bid(2, 9, 109_999, 8),
    bid(3, 3, 110_000, 9), // next window, where it is the maximum alone
    bid(4, 2, 119_999),
  ];
  assert.equal(q7(events), [
    { auction: 1, price: 9, bidder: 7, dateTime: 105_000, windowEnd: 110_000 },
    { auction: 2, price: 9, bidder: 8, dateTime: 109_999, windowEnd: 110_000 },
    { auction: 3, price: 3, bidder: 9, dateTime: 110_000, windowEnd: 120_000 },
  ]);
});

test('q8 reports people who opened an auction in the tumbling window they joined in, once', () => {
  const events = [
    auction(50, 5, 10, 131_000), // before the person arrives
    person(1, 'OR', 100_000),
    auction(10, 1, 10, 109_999),
    person(2, 'WA', 109_000),
    auction(11, 2, 10, 110_000), // the next window
    person(3, 'ID', 120_500),
    auction(12, 3, 10, 121_000),
    auction(13, 3, 11, 125_000), // a second auction: still one row
    auction(14, 4, 10, 121_000), // seller never joins
    person(5, 'CA', 130_000),
  ];
  assert.equal(q8(events), [
    { id: 1, name: 'P1', windowStart: 100_000 },
    { id: 3, name: 'P3', windowStart: 120_000 },
    { id: 5, name: 'P5', windowStart: 130_000 },
  ]);
});

test('on generated events every query has results and q0–q2 relate to the bids', () => {
  const events = nexmarkEvents(60_000);
  const bids = q0(events);
  assert.is(bids.length, 60_000 * 46 / 50);
  assert.is(q1(events).length, bids.length);
  const q2Rows = q2(events);
  assert.ok(q2Rows.length > 0 && q2Rows.every((r) => r.auction % 123 === 0));
  for (const [name, rows] of [['q3', q3(events)], ['q4', q4(events)], ['q5', q5(events)], ['q7', q7(events)], ['q8', q8(events)]] as const) {
    assert.ok(rows.length > 0, `${name} has rows`);
  }
  assert.is(q4(events).length, 5, 'all five categories have closed auctions with bids');
});

test.run();
