// Nexmark q4, average price per category: each auction's winning price is its highest bid placed
// while it was open (auction.dateTime ≤ bid.dateTime ≤ auction.expires); the job emits, per
// category, the average of the winning prices of its closed auctions, updated at every close.
//   SQL: SELECT Q.category, AVG(Q.final) FROM (SELECT MAX(B.price) AS final, A.category FROM auction A, bid B WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires GROUP BY A.id, A.category) Q GROUP BY Q.category
//   npx weir run examples/nexmark/q4.ts --param events=100000 --param out=/tmp/q4
// Params: events (required), seed, rate, eventsPerSecond, out — see nexmark-params.ts; docs/guides/nexmark.md.
//
// The event stream is split into auctions and bids by a ProcessFunction with a side output,
// then `connect`ed and keyed by auction id into a KeyedCoProcessFunction that keeps the auction
// and its highest valid bid. An auction closes when the watermark passes its `expires` (an
// event-time timer; the end of the input, watermark +∞, closes the rest) and emits its winning
// price. Bids may arrive before their auction (the source subtasks run in parallel): they wait
// in keyed state until it arrives, or until the watermark passes their own time, after which no
// auction they could belong to can still arrive. Keyed by category, a KeyedProcessFunction keeps
// (sum, count) and emits `{category, avgPrice}` (avgPrice = trunc(sum / count), as Flink's AVG
// over BIGINT) at every close: an update stream, whose last row per category is the answer.
import {
  defineJob,
  DiscardingSink,
  eventDateTime,
  FileSink,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  NexmarkSource,
  OutputTag,
  ProcessFunction,
  WatermarkStrategy,
  type Auction,
  type Bid,
  type Collector,
  type KeyedContext,
  type ListState,
  type NexmarkEvent,
  type OnTimerContext,
  type ProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'weir';
import { nexmarkParams } from './nexmark-params.ts';

interface Q4Row {
  category: number;
  avgPrice: number;
}

/** A closed auction and its winning (highest valid) price. */
interface WinningBid {
  auction: number;
  category: number;
  price: number;
}

/** What the join keeps of an open auction. */
type OpenAuction = Pick<Auction, 'category' | 'dateTime' | 'expires'>;

/** What the join keeps of a bid waiting for its auction. */
type EarlyBid = Pick<Bid, 'price' | 'dateTime'>;

const BIDS = new OutputTag<Bid>('bids');

/** Auctions to the main output, bids to the side output `BIDS`. */
class SplitAuctionsBids extends ProcessFunction<NexmarkEvent, Auction> {
  processElement(event: NexmarkEvent, ctx: ProcessContext, out: Collector<Auction>): void {
    if (event.type === 'auction') out.collect(event.auction);
    else if (event.type === 'bid') ctx.output(BIDS, event.bid);
  }
}

/**
 * Keyed by auction id: input 1 the auction, input 2 its bids. Keeps the highest valid price
 * while the auction is open and emits it when the watermark passes `expires`.
 */
class MaxBidPerAuction extends KeyedCoProcessFunction<number, Auction, Bid, WinningBid> {
  #auction!: ValueState<OpenAuction>;
  #maxPrice!: ValueState<number>;
  #early!: ListState<EarlyBid>;

  override open(ctx: RuntimeContext): void {
    this.#auction = ctx.getValueState('auction');
    this.#maxPrice = ctx.getValueState('max-price');
    this.#early = ctx.getListState('early-bids');
  }

  processElement1(auction: Auction, ctx: KeyedContext<number>, _out: Collector<WinningBid>): void {
    const open: OpenAuction = { category: auction.category, dateTime: auction.dateTime, expires: auction.expires };
    this.#auction.update(open);
    for (const bid of this.#early.get()) this.#offer(open, bid);
    this.#early.clear();
    ctx.timerService().registerEventTimeTimer(auction.expires);
  }

  processElement2(bid: Bid, ctx: KeyedContext<number>, _out: Collector<WinningBid>): void {
    const open = this.#auction.value();
    if (open !== undefined) {
      this.#offer(open, bid);
      return;
    }
    // No auction yet (or it closed already, and then the bid is too late to count): wait until
    // the watermark passes the bid's time, when its auction, if valid, must have arrived.
    this.#early.add({ price: bid.price, dateTime: bid.dateTime });
    ctx.timerService().registerEventTimeTimer(bid.dateTime);
  }

  override onTimer(timestamp: number, ctx: OnTimerContext<number>, out: Collector<WinningBid>): void {
    const open = this.#auction.value();
    if (open === undefined) {
      // A waiting bid's time passed without its auction: drop the bids no auction can take now.
      const waiting = this.#early.get().filter((bid) => bid.dateTime > timestamp);
      if (waiting.length === 0) this.#early.clear();
      else this.#early.update(waiting);
      return;
    }
    if (timestamp !== open.expires) return; // a waiting bid's timer, after its auction arrived
    const price = this.#maxPrice.value();
    if (price !== undefined) out.collect({ auction: ctx.getCurrentKey(), category: open.category, price });
    this.#auction.clear();
    this.#maxPrice.clear();
  }

  #offer(open: OpenAuction, bid: EarlyBid): void {
    if (bid.dateTime < open.dateTime || bid.dateTime > open.expires) return;
    const max = this.#maxPrice.value();
    if (max === undefined || bid.price > max) this.#maxPrice.update(bid.price);
  }
}

/** Keyed by category: the running average of the winning prices, emitted at every change. */
class AveragePrice extends KeyedProcessFunction<number, WinningBid, Q4Row> {
  #totals!: ValueState<{ sum: number; count: number }>;

  override open(ctx: RuntimeContext): void {
    this.#totals = ctx.getValueState('totals');
  }

  processElement(winning: WinningBid, _ctx: KeyedContext<number>, out: Collector<Q4Row>): void {
    const before = this.#totals.value() ?? { sum: 0, count: 0 };
    const totals = { sum: before.sum + winning.price, count: before.count + 1 };
    this.#totals.update(totals);
    out.collect({ category: winning.category, avgPrice: Math.trunc(totals.sum / totals.count) });
  }
}

export default defineJob((env) => {
  const { source, out } = nexmarkParams(env);
  const auctions = env
    .fromSource(
      new NexmarkSource(source),
      WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(4000).withTimestampAssigner((event) => eventDateTime(event)),
      'nexmark',
    )
    .uid('nexmark')
    .process(new SplitAuctionsBids())
    .name('split-auctions-bids')
    .uid('split');
  const bids = auctions.getSideOutput(BIDS);
  auctions
    .connect(bids)
    .keyBy((auction) => auction.id, (bid) => bid.auction)
    .process(new MaxBidPerAuction())
    .name('max-bid-per-auction')
    .uid('max-bid-per-auction')
    .keyBy((winning) => winning.category)
    .process(new AveragePrice())
    .name('average-per-category')
    .uid('average-per-category')
    .sinkTo(out === undefined ? new DiscardingSink<Q4Row>() : new FileSink<Q4Row>({ directory: out }), 'sink')
    .uid('sink');
});
