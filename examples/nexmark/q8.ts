// Nexmark q8, monitor new users: the people who opened an auction in the same tumbling 10 s
// window in which they registered (once per person, name and window, however many auctions).
//   SQL: SELECT P.id, P.name, P.starttime FROM (SELECT id, name, window_start AS starttime, window_end AS endtime FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY id, name, window_start, window_end) P JOIN (SELECT seller, window_start AS starttime, window_end AS endtime FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY seller, window_start, window_end) A ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime
//   npx weir run examples/nexmark/q8.ts --param events=100000 --param out=/tmp/q8
// Params: events (required), seed, rate, eventsPerSecond, out — see nexmark-params.ts; docs/guides/nexmark.md.
//
// A window join written as a union of tagged records: one flatMap turns persons and auctions into
// one stream keyed by person id (an auction by its seller) — a union of the two sides, without
// splitting the source stream and merging it again — grouped into tumbling event-time windows;
// each window folds into the person's distinct names and whether they sold anything (an
// AggregateFunction), and emits `{id, name, windowStart}` for each name when they did.
import {
  defineJob,
  DiscardingSink,
  eventDateTime,
  FileSink,
  NexmarkSource,
  ProcessWindowFunction,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
  type Collector,
  type NexmarkEvent,
  type ProcessWindowContext,
  type TimeWindow,
} from 'weir';
import { nexmarkParams } from './nexmark-params.ts';

interface Q8Row {
  id: number;
  name: string;
  windowStart: number;
}

/** One side of the join, keyed by person id: a new person, or an auction of seller `id`. */
type PersonOrSale = { kind: 'person'; id: number; name: string } | { kind: 'sale'; id: number };

/** What a window knows about one person id. */
interface Activity {
  names: string[];
  sold: boolean;
}

/** Folds a window's records; never mutates the accumulator. */
const activity: AggregateFunction<PersonOrSale, Activity, Activity> = {
  createAccumulator: () => ({ names: [], sold: false }),
  add: (record, acc) => {
    if (record.kind === 'sale') return acc.sold ? acc : { names: acc.names, sold: true };
    return acc.names.includes(record.name) ? acc : { names: [...acc.names, record.name], sold: acc.sold };
  },
  getResult: (acc) => acc,
};

/** The join's result for one person id and window: its names, if it also sold in the window. */
class NewUsers extends ProcessWindowFunction<Activity, Q8Row, number, TimeWindow> {
  process(id: number, ctx: ProcessWindowContext<TimeWindow>, results: Iterable<Activity>, out: Collector<Q8Row>): void {
    for (const { names, sold } of results) {
      if (sold) for (const name of names) out.collect({ id, name, windowStart: ctx.window.start });
    }
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
    .flatMap((event): PersonOrSale[] => {
      if (event.type === 'person') return [{ kind: 'person', id: event.person.id, name: event.person.name }];
      if (event.type === 'auction') return [{ kind: 'sale', id: event.auction.seller }];
      return [];
    })
    .name('persons-and-sellers')
    .uid('persons-and-sellers')
    .keyBy((record) => record.id)
    .window(TumblingEventTimeWindows.of(10_000))
    .aggregate(activity, new NewUsers())
    .name('join-in-window')
    .uid('join-in-window')
    .sinkTo(out === undefined ? new DiscardingSink<Q8Row>() : new FileSink<Q8Row>({ directory: out }), 'sink')
    .uid('sink');
});
