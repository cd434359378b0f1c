// Nexmark q1, currency conversion: every bid with its price converted from dollars to euros.
//   SQL: SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid   (all 7 bid fields kept)
//   npx weir run examples/nexmark/q1.ts --param events=100000 --param out=/tmp/q1
// Params: events (required), seed, rate, out — see nexmark-params.ts; docs/guides/nexmark.md.
import { defineJob, DiscardingSink, FileSink, NexmarkSource, type Bid } from 'weir';
import { nexmarkParams } from './nexmark-params.ts';

export default defineJob((env) => {
  const { source, out } = nexmarkParams(env);
  env
    .fromSource(new NexmarkSource(source), 'nexmark')
    .uid('nexmark')
    .flatMap((event) => (event.type === 'bid' ? [event.bid] : []))
    .name('bids')
    .uid('bids')
    // Exactly `price * 0.908`, a double: `price * 908 / 1000` differs in the last bit for about
    // a fifth of the prices, and the reference check compares the doubles exactly.
    .map((bid): Bid => ({ ...bid, price: bid.price * 0.908 }))
    .name('to-euros')
    .uid('to-euros')
    .sinkTo(out === undefined ? new DiscardingSink<Bid>() : new FileSink<Bid>({ directory: out }), 'sink')
    .uid('sink');
});
