// Nexmark q2, selection: the auction and price of every bid on one of a fixed set of auctions
// (the auction ids divisible by 123).
//   SQL: SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0
//   npx weir run examples/nexmark/q2.ts --param events=100000 --param out=/tmp/q2
// Params: events (required), seed, rate, out — see nexmark-params.ts; docs/guides/nexmark.md.
import { defineJob, DiscardingSink, FileSink, NexmarkSource } from 'weir';
import { nexmarkParams } from './nexmark-params.ts';

interface AuctionPrice {
  auction: number;
  price: number;
}

export default defineJob((env) => {
  const { source, out } = nexmarkParams(env);
  env
    .fromSource(new NexmarkSource(source), 'nexmark')
    .uid('nexmark')
    .flatMap((event) => (event.type === 'bid' ? [event.bid] : []))
    .name('bids')
    .uid('bids')
    .filter((bid) => bid.auction % 123 === 0)
    .name('where')
    .uid('where')
    .map((bid): AuctionPrice => ({ auction: bid.auction, price: bid.price }))
    .name('project')
    .uid('project')
    .sinkTo(out === undefined ? new DiscardingSink<AuctionPrice>() : new FileSink<AuctionPrice>({ directory: out }), 'sink')
    .uid('sink');
});
