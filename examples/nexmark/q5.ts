// Nexmark q5, hot items: the auctions with the most bids in each sliding window of 10 s every
// 2 s (each bid counts in 5 windows; ties: all of the auctions with the highest count).
//   SQL: SELECT AuctionBids.auction, AuctionBids.num FROM (SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) GROUP BY auction, window_start, window_end) AS AuctionBids JOIN (SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime FROM (SELECT count(*) AS num, window_start AS starttime, window_end AS endtime FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) GROUP BY auction, window_start, window_end) AS CountBids GROUP BY CountBids.starttime, CountBids.endtime) AS MaxBids ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime AND AuctionBids.num >= MaxBids.maxn
//   npx weir run examples/nexmark/q5.ts --param events=100000 --param out=/tmp/q5
// Params: events (required), seed, rate, eventsPerSecond, out — see nexmark-params.ts; docs/guides/nexmark.md.
//
// Two steps: a sliding event-time window per auction counts its bids; then, keyed by window, a
// KeyedProcessFunction keeps the highest count and its auctions and emits them when the watermark
// passes the window's end. A window's counts carry its last millisecond as their timestamp, and
// every count of a window reaches the second step before the watermark that fired the window.
// Rows `{auction, count, windowStart, windowEnd}`.
import {
  defineJob,
  DiscardingSink,
  eventDateTime,
  FileSink,
  KeyedProcessFunction,
  NexmarkSource,
  ProcessWindowFunction,
  SlidingEventTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
  type Collector,
  type KeyedContext,
  type NexmarkEvent,
  type OnTimerContext,
  type ProcessWindowContext,
  type RuntimeContext,
  type TimeWindow,
  type ValueState,
} from 'weir';
import { nexmarkParams } from './nexmark-params.ts';

interface Q5Row {
  auction: number;
  count: number;
  windowStart: number;
  windowEnd: number;
}

/** Counts a window's records. */
const countBids: AggregateFunction<unknown, number, number> = {
  createAccumulator: () => 0,
  add: (_bid, count) => count + 1,
  getResult: (count) => count,
};

/** Labels an auction's count with its window. */
class AuctionCount extends ProcessWindowFunction<number, Q5Row, number, TimeWindow> {
  process(auction: number, ctx: ProcessWindowContext<TimeWindow>, counts: Iterable<number>, out: Collector<Q5Row>): void {
    for (const count of counts) out.collect({ auction, count, windowStart: ctx.window.start, windowEnd: ctx.window.end });
  }
}

/** Keyed by window end: the auctions with the highest count of that window, emitted at its end. */
class HottestAuctions extends KeyedProcessFunction<number, Q5Row, Q5Row> {
  #hottest!: ValueState<Q5Row[]>;

  override open(ctx: RuntimeContext): void {
    this.#hottest = ctx.getValueState('hottest');
  }

  processElement(row: Q5Row, ctx: KeyedContext<number>, _out: Collector<Q5Row>): void {
    const hottest = this.#hottest.value();
    if (hottest === undefined) {
      this.#hottest.update([row]);
      ctx.timerService().registerEventTimeTimer(row.windowEnd - 1);
    } else if (row.count > hottest[0]!.count) {
      this.#hottest.update([row]);
    } else if (row.count === hottest[0]!.count) {
      this.#hottest.update([...hottest, row]);
    }
  }

  override onTimer(_timestamp: number, _ctx: OnTimerContext<number>, out: Collector<Q5Row>): void {
    for (const row of this.#hottest.value() ?? []) out.collect(row);
    this.#hottest.clear();
  }
}

export default defineJob((env) => {
  const { source, out } = nexmarkParams(env);
  env
    .fromSource(
      new NexmarkSource(source),
      WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(4000).withTimestampAssigner((event) => eventDateTime(event)),
      'nexmark',
    )
    .uid('nexmark')
    .flatMap((event) => (event.type === 'bid' ? [event.bid] : []))
    .name('bids')
    .uid('bids')
    .keyBy((bid) => bid.auction)
    .window(SlidingEventTimeWindows.of(10_000, 2_000))
    .aggregate(countBids, new AuctionCount())
    .name('count-per-auction')
    .uid('count-per-auction')
    .keyBy((row) => row.windowEnd)
    .process(new HottestAuctions())
    .name('hottest-per-window')
    .uid('hottest-per-window')
    .sinkTo(out === undefined ? new DiscardingSink<Q5Row>() : new FileSink<Q5Row>({ directory: out }), 'sink')
    .uid('sink');
});
