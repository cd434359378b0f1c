// Nexmark q0, pass-through: every bid, unchanged. Measures the cost of reading, moving and
// writing the events, with no query logic at all.
//   SQL: SELECT auction, bidder, price, dateTime, extra FROM bid   (our rows keep all 7 bid fields)
//   npx weir run examples/nexmark/q0.ts --param events=100000 --param out=/tmp/q0
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
    .sinkTo(out === undefined ? new DiscardingSink<Bid>() : new FileSink<Bid>({ directory: out }), 'sink')
    .uid('sink');
});
