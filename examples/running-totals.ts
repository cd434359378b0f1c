// Exactly-once running totals per account, written by a two-phase-commit FileSink.
//   npx weir run examples/running-totals.ts --checkpoint-dir /tmp/weir-chk --checkpoint-interval 500ms
//   (kill it with kill -9 while it runs, then add --resume: the committed output is exactly
//    what an uninterrupted run writes; see docs/guides/exactly-once.md)
// Params: count (default 200000), rate (records/s, default 20000), out (default .weir-out/totals).
import {
  defineJob,
  FileSink,
  GeneratorSource,
  KeyedProcessFunction,
  type Collector,
  type KeyedContext,
  type RuntimeContext,
  type ValueState,
} from 'weir';

interface Payment {
  account: string;
  seq: number;
  cents: number;
}

interface Total {
  account: string;
  seq: number;
  payments: number;
  cents: number;
}

class RunningTotal extends KeyedProcessFunction<string, Payment, Total> {
  #total!: ValueState<{ payments: number; cents: number }>;

  override open(ctx: RuntimeContext): void {
    this.#total = ctx.getValueState('total');
  }

  processElement(payment: Payment, _ctx: KeyedContext<string>, out: Collector<Total>): void {
    const before = this.#total.value() ?? { payments: 0, cents: 0 };
    const after = { payments: before.payments + 1, cents: before.cents + payment.cents };
    this.#total.update(after);
    out.collect({ account: payment.account, seq: payment.seq, ...after });
  }
}

export default defineJob((env) => {
  const count = Number(env.params.count ?? '200000');
  const rate = Number(env.params.rate ?? '20000');
  env
    .fromSource(
      new GeneratorSource<Payment>({
        count,
        ratePerSecond: rate,
        generate: (seq) => ({ account: `acct-${(seq * 7919) % 1000}`, seq, cents: (seq % 97) * 100 + 1 }),
      }),
      'payments',
    )
    // One source subtask: each account's payments then arrive in sequence order, so the output
    // of any run is the same file set — which is what lets the guide compare runs byte for byte.
    .setParallelism(1)
    .uid('payments')
    .keyBy((p) => p.account)
    .process(new RunningTotal())
    .uid('running-total')
    .sinkTo(new FileSink({ directory: env.params.out ?? '.weir-out/totals' }), 'totals')
    .uid('totals');
});
