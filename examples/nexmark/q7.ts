// Nexmark q7, highest bid: the bids with the highest price of each tumbling 10 s window (ties:
// all of them), each bid in the half-open window [start, start + 10 s) it belongs to.
//   SQL: SELECT B.auction, B.bidder, B.price, B.dateTime, B.extra FROM bid B JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end) B1 ON B.price = B1.maxprice WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime
//   npx weir run examples/nexmark/q7.ts --param events=100000 --param out=/tmp/q7
// Params: events (required), seed, rate, eventsPerSecond, out — see nexmark-params.ts; docs/guides/nexmark.md.
//
// Two steps, so no subtask sees every bid: a tumbling event-time window per auction keeps that
// auction's highest bids of the window (an AggregateFunction); then, keyed by window, a
// KeyedProcessFunction keeps the highest of those and emits them when the watermark passes the
// window's end (every partial result of a window carries its last millisecond as timestamp and
// arrives before the watermark that fired the window). Rows `{auction, price, bidder, dateTime,
// windowEnd}` (without `extra`). Unlike Flink's BETWEEN, a bid exactly at a window's end belongs
// only to the next window.
import {
  defineJob,
  DiscardingSink,
  eventDateTime,
  FileSink,
  KeyedProcessFunction,
  NexmarkSource,
  ProcessWindowFunction,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
  type Bid,
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

interface Q7Row {
  auction: number;
  price: number;
  bidder: number;
  dateTime: number;
  windowEnd: number;
}

type HighBid = Pick<Bid, 'auction' | 'price' | 'bidder' | 'dateTime'>;

/** Keeps the bids with the highest price seen (all of equal price); never mutates the accumulator. */
const highestBids: AggregateFunction<Bid, HighBid[], HighBid[]> = {
  createAccumulator: () => [],
  add: (bid, highest) => {
    const top = highest[0]?.price ?? -Infinity;
    if (bid.price < top) return highest;
    const row = { auction: bid.auction, price: bid.price, bidder: bid.bidder, dateTime: bid.dateTime };
    return bid.price > top ? [row] : [...highest, row];
  },
  getResult: (highest) => highest,
};

/** Emits an auction's highest bids of the window, labelled with the window's end. */
class LabelWindow extends ProcessWindowFunction<HighBid[], Q7Row, number, TimeWindow> {
  process(_auction: number, ctx: ProcessWindowContext<TimeWindow>, results: Iterable<HighBid[]>, out: Collector<Q7Row>): void {
    for (const highest of results) for (const bid of highest) out.collect({ ...bid, windowEnd: ctx.window.end });
  }
}

/** Keyed by window end: the highest bids over all auctions, emitted when the window is complete. */
class HighestOfWindow extends KeyedProcessFunction<number, Q7Row, Q7Row> {
  #highest!: ValueState<Q7Row[]>;

  override open(ctx: RuntimeContext): void {
    this.#highest = ctx.getValueState('highest');
  }

  processElement(row: Q7Row, ctx: KeyedContext<number>, _out: Collector<Q7Row>): void {
    const highest = this.#highest.value();
    if (highest === undefined) {
      this.#highest.update([row]);
      ctx.timerService().registerEventTimeTimer(row.windowEnd - 1);
    } else if (row.price > highest[0]!.price) {
      this.#highest.update([row]);
    } else if (row.price === highest[0]!.price) {
      this.#highest.update([...highest, row]);
    }
  }

  override onTimer(_timestamp: number, _ctx: OnTimerContext<number>, out: Collector<Q7Row>): void {
    for (const row of this.#highest.value() ?? []) out.collect(row);
    this.#highest.clear();
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
    .window(TumblingEventTimeWindows.of(10_000))
    .aggregate(highestBids, new LabelWindow())
    .name('highest-per-auction')
    .uid('highest-per-auction')
    .keyBy((row) => row.windowEnd)
    .process(new HighestOfWindow())
    .name('highest-per-window')
    .uid('highest-per-window')
    .sinkTo(out === undefined ? new DiscardingSink<Q7Row>() : new FileSink<Q7Row>({ directory: out }), 'sink')
    .uid('sink');
});
