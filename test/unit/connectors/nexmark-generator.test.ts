import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { NexmarkGenerator } from '../../../src/connectors/nexmark/generator.ts';
import { NEXMARK_DEFAULTS, type NexmarkGeneratorOptions } from '../../../src/connectors/nexmark/generator-config.ts';
import type { Auction, Bid, NexmarkEvent, Person } from '../../../src/connectors/nexmark/model.ts';
import { nexmarkEvents } from '../../helpers/nexmark-reference.ts';
import { throwsCode } from '../../helpers/errors.ts';

const BASE = NEXMARK_DEFAULTS.firstEventTimestamp;

function split(events: readonly NexmarkEvent[]): { people: Person[]; auctions: Auction[]; bids: Bid[] } {
  const people: Person[] = [];
  const auctions: Auction[] = [];
  const bids: Bid[] = [];
  for (const e of events) {
    if (e.type === 'person') people.push(e.person);
    else if (e.type === 'auction') auctions.push(e.auction);
    else bids.push(e.bid);
  }
  return { people, auctions, bids };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

test('the same seed gives the same events, in any order of access', () => {
  const a = new NexmarkGenerator({ seed: 7 });
  const b = new NexmarkGenerator({ seed: 7 });
  const sequential = Array.from({ length: 3000 }, (_, n) => a.eventAt(n));
  for (let n = 2999; n >= 0; n -= 7) assert.equal(b.eventAt(n), sequential[n], `event ${n}`);
  assert.equal(a.eventAt(1234), sequential[1234]);
});

test('a different seed changes the random fields but not the ids or the mix', () => {
  const a = nexmarkEvents(2000, { seed: 1 });
  const b = nexmarkEvents(2000, { seed: 2 });
  let differing = 0;
  for (let n = 0; n < a.length; n++) {
    const x = a[n]!;
    const y = b[n]!;
    assert.is(x.type, y.type);
    if (x.type === 'person' && y.type === 'person') assert.is(x.person.id, y.person.id);
    if (x.type === 'auction' && y.type === 'auction') assert.is(x.auction.id, y.auction.id);
    if (JSON.stringify(x) !== JSON.stringify(y)) differing++;
  }
  assert.ok(differing > 0.95 * a.length, `${differing} of ${a.length} events differ`);
});

test('events are 1:3:46 people, auctions and bids by event id modulo 50 (first event id 1)', () => {
  const events = nexmarkEvents(5000);
  const { people, auctions, bids } = split(events);
  assert.equal([people.length, auctions.length, bids.length], [100, 300, 4600]);
  events.forEach((event, n) => {
    const offset = (n + 1) % 50;
    const expected = offset === 0 ? 'person' : offset <= 3 ? 'auction' : 'bid';
    assert.is(event.type, expected, `event ${n}`);
  });
  assert.is(events[0]!.type, 'auction');
  assert.is(events[49]!.type, 'person');
});

test('person and auction ids are consecutive from 1000, derived from the event id', () => {
  const { people, auctions } = split(nexmarkEvents(5000));
  // Event ids 1 … 5000: people at ids 50, 100, …; person 1000 (event id 0) is never generated.
  assert.equal(people.map((p) => p.id), Array.from({ length: 100 }, (_, i) => 1001 + i));
  assert.equal(auctions.map((a) => a.id), Array.from({ length: 300 }, (_, i) => 1000 + i));
  const generator = new NexmarkGenerator({ firstEventId: 0 });
  const first = generator.eventAt(0);
  assert.is(first.type === 'person' && first.person.id, 1000, 'with firstEventId 0 the stream starts with person 1000');
});

test('sellers, bidders and bid auctions refer to generated ids, a few ahead, or the hot ids', () => {
  // Person 1000 counts as generated from the start, as the reference assumes (its event id 0
  // precedes the first event).
  let lastPerson = 1000;
  let lastAuction = 999;
  let hotAuctionBids = 0;
  let hotBidderBids = 0;
  let hotSellerAuctions = 0;
  const events = nexmarkEvents(60_000);
  const { bids, auctions } = split(events);
  const inPeopleRange = (id: number): boolean => {
    const active = Math.min(lastPerson - 999, 1000);
    return id >= lastPerson - active + 1 && id <= lastPerson + 10;
  };
  for (const event of events) {
    if (event.type === 'person') {
      assert.is(event.person.id, lastPerson + 1);
      lastPerson = event.person.id;
    } else if (event.type === 'auction') {
      const { id, seller } = event.auction;
      assert.is(id, lastAuction + 1);
      lastAuction = id;
      const hot = Math.floor((lastPerson - 1000) / 100) * 100 + 1000;
      if (seller === hot) hotSellerAuctions++;
      else assert.ok(inPeopleRange(seller), `seller ${seller} after person ${lastPerson}`);
    } else {
      const { auction, bidder } = event.bid;
      const hotAuction = Math.floor((lastAuction - 1000) / 100) * 100 + 1000;
      if (auction === hotAuction) hotAuctionBids++;
      else assert.ok(auction >= Math.max(lastAuction - 100, 1000) && auction <= lastAuction + 10, `auction ${auction} after ${lastAuction}`);
      const hotBidder = Math.floor((lastPerson - 1000) / 100) * 100 + 1001;
      if (bidder === hotBidder) hotBidderBids++;
      else assert.ok(inPeopleRange(bidder), `bidder ${bidder} after person ${lastPerson}`);
    }
  }
  // Hot with probability 1/2, 3/4, 3/4, plus the random picks that land on the hot id.
  const share = (n: number, of: number) => n / of;
  assert.ok(share(hotAuctionBids, bids.length) > 0.49 && share(hotAuctionBids, bids.length) < 0.53, `hot auctions ${share(hotAuctionBids, bids.length)}`);
  assert.ok(share(hotBidderBids, bids.length) > 0.74 && share(hotBidderBids, bids.length) < 0.77, `hot bidders ${share(hotBidderBids, bids.length)}`);
  assert.ok(share(hotSellerAuctions, auctions.length) > 0.72 && share(hotSellerAuctions, auctions.length) < 0.79, `hot sellers ${share(hotSellerAuctions, auctions.length)}`);
});

test('event time advances by 1/eventsPerSecond from firstEventTimestamp', () => {
  const generator = new NexmarkGenerator();
  for (let n = 0; n < 5000; n++) assert.is(generator.timestampAt(n), BASE + Math.floor(n / 10));
  const events = nexmarkEvents(200);
  events.forEach((event, n) => {
    const payload = event.type === 'person' ? event.person : event.type === 'auction' ? event.auction : event.bid;
    assert.is(payload.dateTime, BASE + Math.floor(n / 10));
  });
  const slow = new NexmarkGenerator({ eventsPerSecond: 250, firstEventTimestamp: 1_000_000 });
  assert.equal([0, 1, 2, 999].map((n) => slow.timestampAt(n)), [1_000_000, 1_000_004, 1_000_008, 1_003_996]);
  // floor(floor(n · 1e6/7) / 1000) in doubles, as the reference's Java: 7 · (1e6/7) rounds to 1e6.
  const odd = new NexmarkGenerator({ eventsPerSecond: 7 });
  assert.equal([1, 2, 6, 7, 13].map((n) => odd.timestampAt(n) - BASE), [142, 285, 857, 1000, 1857]);
});

test('auctions expire 1 ms to two horizons (the next 100 auctions, ~167 ms here) after they start', () => {
  const { auctions } = split(nexmarkEvents(50_000));
  const lengths = auctions.map((a) => a.expires - a.dateTime);
  for (const length of lengths) assert.ok(length >= 1 && length <= 1 + 2 * 167, `length ${length}`);
  assert.ok(Math.abs(mean(lengths) - 167) < 0.1 * 167, `mean length ${mean(lengths)}`);
});

test('extra pads the idealized sizes to 200 / 500 / 100 bytes on average (within 10 %)', () => {
  const { people, auctions, bids } = split(nexmarkEvents(100_000));
  const personSize = (p: Person) => 8 + p.name.length + p.emailAddress.length + p.creditCard.length + p.city.length + p.state.length + p.extra.length;
  const auctionSize = (a: Auction) => 8 + a.itemName.length + a.description.length + 40 + a.extra.length;
  const bidSize = (b: Bid) => 32 + b.extra.length;
  for (const [name, value, target] of [
    ['person', mean(people.map(personSize)), 200],
    ['auction', mean(auctions.map(auctionSize)), 500],
    ['bid', mean(bids.map(bidSize)), 100],
  ] as const) {
    assert.ok(Math.abs(value - target) <= 0.1 * target, `${name} average ${value}, target ${target}`);
  }
  assert.ok(mean(bids.map((b) => b.extra.length)) > 60, 'bids carry real padding');
  const big = split(nexmarkEvents(5000, { avgBidByteSize: 1000 })).bids;
  assert.ok(Math.abs(mean(big.map(bidSize)) - 1000) <= 100, 'avgBidByteSize is honoured');
});

test('field values follow the reference lists and ranges', () => {
  const { people, auctions, bids } = split(nexmarkEvents(50_000));
  const states = new Set(people.map((p) => p.state));
  assert.equal([...states].sort(), ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY']);
  for (const p of people) {
    assert.match(p.creditCard, /^\d{4} \d{4} \d{4} \d{4}$/);
    assert.match(p.emailAddress, /^[a-z ]*[a-z]@[a-z ]*\.com$/);
    assert.match(p.name, /^[A-Z][a-z]+ [A-Z][a-z]+$/);
  }
  assert.equal([...new Set(auctions.map((a) => a.category))].sort(), [10, 11, 12, 13, 14]);
  for (const a of auctions) {
    assert.ok(a.reserve > a.initialBid && a.initialBid >= 100 && a.initialBid <= 100_000_000);
    assert.ok(a.itemName.length >= 1 && a.itemName.length <= 19 && a.itemName === a.itemName.trim());
  }
  for (const b of bids) assert.ok(Number.isSafeInteger(b.price) && b.price >= 100 && b.price <= 100_000_000);
  const hot = bids.filter((b) => ['Google', 'Facebook', 'Baidu', 'Apple'].includes(b.channel));
  assert.ok(Math.abs(hot.length / bids.length - 0.5) < 0.02, `hot channel share ${hot.length / bids.length}`);
  for (const b of bids) {
    if (!hot.includes(b)) assert.match(b.channel, /^channel-\d{1,4}$/);
    assert.match(b.url, /^https:\/\/www\.nexmark\.com\/[a-z_]+\/[a-z_]+\/[a-z_]+\/item\.htm\?query=1(&channel_id=\d+)?$/);
  }
  // A channel always comes with the same url.
  const urlByChannel = new Map<string, string>();
  for (const b of bids) {
    assert.is(urlByChannel.get(b.channel) ?? b.url, b.url);
    urlByChannel.set(b.channel, b.url);
  }
  // Prices are log-uniform over 10^2 … 10^8: about a sixth in each decade.
  const belowTenThousand = bids.filter((b) => b.price < 10_000).length / bids.length;
  assert.ok(Math.abs(belowTenThousand - 2 / 6) < 0.02, `share below 10^4: ${belowTenThousand}`);
});

test('events are plain data that survive structured cloning unchanged', () => {
  for (const event of nexmarkEvents(100)) {
    assert.equal(structuredClone(event), event);
    const payload = event.type === 'person' ? event.person : event.type === 'auction' ? event.auction : event.bid;
    for (const value of Object.values(payload)) assert.ok(typeof value === 'string' || Number.isSafeInteger(value));
  }
});

test('another thread generates the same events', async () => {
  // The worker registers tsx itself (as test/fixtures/ts-worker.ts explains), then generates.
  const url = new URL('../../../src/connectors/nexmark/generator.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(tsx)})
      .then((api) => { api.register(); return import(${JSON.stringify(url)}); })
      .then(({ NexmarkGenerator }) => {
        const g = new NexmarkGenerator({ seed: 5 });
        parentPort.postMessage([0, 1, 3, 49, 4321].map((n) => g.eventAt(n)));
      });`;
  const fromWorker = await new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true });
    worker.once('message', (message) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
  const g = new NexmarkGenerator({ seed: 5 });
  assert.equal(fromWorker, [0, 1, 3, 49, 4321].map((n) => g.eventAt(n)));
});

test('invalid options fail with WEIR_INVALID_OPTION naming the option', () => {
  const cases: Array<[NexmarkGeneratorOptions, RegExp]> = [
    [{ seed: 1.5 }, /options\.seed must be a safe integer, got 1\.5/],
    [{ eventsPerSecond: 0 }, /options\.eventsPerSecond must be a positive finite number, got 0/],
    [{ firstEventTimestamp: -1 }, /options\.firstEventTimestamp must be an integer ≥ 0, got -1/],
    [{ personProportion: 0 }, /options\.personProportion/],
    [{ hotBiddersRatio: 0.5 }, /options\.hotBiddersRatio/],
    [{ avgAuctionByteSize: 10_000_000 }, /options\.avgAuctionByteSize must be at most/],
    [{ numEvents: -1 }, /options\.numEvents must be a non-negative integer/],
    [{ seed: '1' as unknown as number }, /options\.seed must be a safe integer, got "1"/],
  ];
  for (const [options, message] of cases) throwsCode(() => new NexmarkGenerator(options), 'WEIR_INVALID_OPTION', message);
});

test('eventAt outside [0, numEvents) or not an integer fails with WEIR_INVALID_ARGUMENT', () => {
  const generator = new NexmarkGenerator({ numEvents: 10 });
  generator.eventAt(9);
  for (const n of [-1, 10, 1.5, Number.NaN]) throwsCode(() => generator.eventAt(n), 'WEIR_INVALID_ARGUMENT', /event number/);
});

test.run();
