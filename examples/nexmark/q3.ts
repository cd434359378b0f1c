// Nexmark q3, local item suggestion: who is selling in category 10 in Oregon, Idaho or
// California — the name, city and state of each such seller with the id of each such auction.
// An unbounded inner join of auctions and persons on seller = id: both sides are kept in keyed
// state forever and every match is emitted once, whichever side arrives first. The event stream
// is split into the two sides by a ProcessFunction with a side output (Flink's idiom: one pass,
// chained to the source), then `connect`ed and keyed into a KeyedCoProcessFunction.
//   SQL: SELECT P.name, P.city, P.state, A.id FROM auction AS A INNER JOIN person AS P ON A.seller = P.id WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
//   npx weir run examples/nexmark/q3.ts --param events=100000 --param out=/tmp/q3
// Params: events (required), seed, rate, eventsPerSecond, out — see nexmark-params.ts; docs/guides/nexmark.md.
import {
  defineJob,
  DiscardingSink,
  FileSink,
  KeyedCoProcessFunction,
  NexmarkSource,
  OutputTag,
  ProcessFunction,
  type Auction,
  type Collector,
  type KeyedContext,
  type ListState,
  type NexmarkEvent,
  type Person,
  type ProcessContext,
  type RuntimeContext,
} from 'weir';
import { nexmarkParams } from './nexmark-params.ts';

interface Q3Row {
  name: string;
  city: string;
  state: string;
  id: number;
}

/** What the join keeps of a person: the fields of the result. */
type Seller = Pick<Person, 'name' | 'city' | 'state'>;

const STATES = new Set(['OR', 'ID', 'CA']);

const PERSONS = new OutputTag<Person>('persons');

/** The join's two sides: auctions in category 10 (main output), persons in OR, ID or CA (side output). */
class SplitSides extends ProcessFunction<NexmarkEvent, Auction> {
  processElement(event: NexmarkEvent, ctx: ProcessContext, out: Collector<Auction>): void {
    if (event.type === 'auction' && event.auction.category === 10) out.collect(event.auction);
    else if (event.type === 'person' && STATES.has(event.person.state)) ctx.output(PERSONS, event.person);
  }
}

/**
 * Keyed by seller id: input 1 the seller's auctions in category 10, input 2 the person with that
 * id (when in OR, ID or CA). Each record is joined with everything the other side has seen for
 * the key, then kept for the other side's later records.
 */
class JoinSellers extends KeyedCoProcessFunction<number, Auction, Person, Q3Row> {
  #auctions!: ListState<number>;
  #sellers!: ListState<Seller>;

  override open(ctx: RuntimeContext): void {
    this.#auctions = ctx.getListState('auction-ids');
    this.#sellers = ctx.getListState('sellers');
  }

  processElement1(auction: Auction, _ctx: KeyedContext<number>, out: Collector<Q3Row>): void {
    for (const { name, city, state } of this.#sellers.get()) out.collect({ name, city, state, id: auction.id });
    this.#auctions.add(auction.id);
  }

  processElement2(person: Person, _ctx: KeyedContext<number>, out: Collector<Q3Row>): void {
    const { name, city, state } = person;
    for (const id of this.#auctions.get()) out.collect({ name, city, state, id });
    this.#sellers.add({ name, city, state });
  }
}

export default defineJob((env) => {
  const { source, out } = nexmarkParams(env);
  const auctions = env
    .fromSource(new NexmarkSource(source), 'nexmark')
    .uid('nexmark')
    .process(new SplitSides())
    .name('split-auctions-persons')
    .uid('split');
  const persons = auctions.getSideOutput(PERSONS);
  auctions
    .connect(persons)
    .keyBy((auction) => auction.seller, (person) => person.id)
    .process(new JoinSellers())
    .name('join')
    .uid('join')
    .sinkTo(out === undefined ? new DiscardingSink<Q3Row>() : new FileSink<Q3Row>({ directory: out }), 'sink')
    .uid('sink');
});
