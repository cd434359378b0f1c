// Fraud detection with keyed state and event-time timers (Flink's fraud-detection walkthrough,
// in event time). A card that gets a small charge (under 1.00) and then, as its very next
// charge, a large one (over 500.00) at most one minute later (event time) raises an alert: a
// thief testing a stolen card with a tiny purchase before a big one. Per card, a ValueState
// remembers the last small charge; an event-time timer one minute after it clears that state.
//   npx weir run examples/fraud-detection.ts --parallelism 2
//   npx weir run examples/fraud-detection.ts --param count=100000 --param rate=5000 \
//     --checkpoint-dir /tmp/fraud-chk --checkpoint-interval 500ms --param out=/tmp/fraud-alerts
// Params: count (transactions, default 10000), rate (transactions per second of wall time,
// default: as fast as possible), out (alert directory, default .weir-out/fraud-alerts).
// Guide: docs/guides/fraud-detection.md.
import {
  defineJob,
  FileSink,
  GeneratorSource,
  KeyedProcessFunction,
  WatermarkStrategy,
  type Collector,
  type KeyedContext,
  type OnTimerContext,
  type RuntimeContext,
  type ValueState,
} from 'weir';

export interface Transaction {
  card: string;
  /** Event time: when the card was charged (ms since the epoch). */
  ts: number;
  amount: number;
}

export interface Alert {
  card: string;
  smallAmount: number;
  smallTime: string;
  largeAmount: number;
  largeTime: string;
  secondsApart: number;
}

export const SMALL_AMOUNT = 1.0;
export const LARGE_AMOUNT = 500.0;
export const ONE_MINUTE = 60_000;

/** 2024-05-01T00:00:00Z: the first transaction's event time. */
const START = Date.UTC(2024, 4, 1);
const CARDS = 30;

/** A deterministic number in [0, 1) for (i, salt): a few rounds of integer mixing. */
function unit(i: number, salt: number): number {
  let h = Math.imul(i ^ Math.imul(salt, 0x27d4eb2d), 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae3d);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

/**
 * Transaction i: one per second of event time, on one of 30 cards at random (so a card's
 * charges are seconds to minutes apart); 8 % of them small (0.01–0.99), 8 % large
 * (500.01–2000.00), the rest 1.00–300.99. Deterministic, as replay after a failure requires.
 */
export function transaction(i: number): Transaction {
  const kind = unit(i, 2);
  const pick = unit(i, 3);
  const cents =
    kind < 0.08 ? 1 + Math.floor(pick * 99) : kind >= 0.92 ? 50_001 + Math.floor(pick * 150_000) : 100 + Math.floor(pick * 30_000);
  return { card: `card-${String(Math.floor(unit(i, 1) * CARDS)).padStart(2, '0')}`, ts: START + i * 1000, amount: cents / 100 };
}

/** The last charge of a card, if it was small: what the walkthrough's boolean flag becomes in event time. */
interface SmallCharge {
  ts: number;
  amount: number;
}

class FraudDetector extends KeyedProcessFunction<string, Transaction, Alert> {
  #lastSmall!: ValueState<SmallCharge>;

  override open(ctx: RuntimeContext): void {
    this.#lastSmall = ctx.getValueState('last-small-charge');
  }

  processElement(tx: Transaction, ctx: KeyedContext<string>, out: Collector<Alert>): void {
    const now = ctx.timestamp()!; // the event time the source's WatermarkStrategy assigned: tx.ts
    const small = this.#lastSmall.value();
    if (small !== undefined) {
      // The timer clears the state only once the watermark passes small.ts + 1 min, and the
      // watermark trails the records: decide on the timestamps, not on whether the timer fired.
      if (tx.amount > LARGE_AMOUNT && now - small.ts <= ONE_MINUTE) {
        out.collect({
          card: ctx.getCurrentKey(),
          smallAmount: small.amount,
          smallTime: new Date(small.ts).toISOString(),
          largeAmount: tx.amount,
          largeTime: new Date(now).toISOString(),
          secondsApart: (now - small.ts) / 1000,
        });
      }
      // Any charge ends the pattern: only the very next one after a small charge counts.
      ctx.timerService().deleteEventTimeTimer(small.ts + ONE_MINUTE);
      this.#lastSmall.clear();
    }
    if (tx.amount < SMALL_AMOUNT) {
      this.#lastSmall.update({ ts: now, amount: tx.amount });
      ctx.timerService().registerEventTimeTimer(now + ONE_MINUTE);
    }
  }

  /** A minute of event time passed since the small charge without another one: forget it. */
  override onTimer(_timestamp: number, _ctx: OnTimerContext<string>, _out: Collector<Alert>): void {
    this.#lastSmall.clear();
  }
}

export default defineJob((env) => {
  const count = Number(env.params.count ?? '10000');
  const rate = env.params.rate === undefined ? {} : { ratePerSecond: Number(env.params.rate) };
  env
    .fromSource(
      new GeneratorSource<Transaction>({ count, ...rate, generate: transaction }),
      WatermarkStrategy.forBoundedOutOfOrderness<Transaction>(5_000).withTimestampAssigner((tx) => tx.ts),
      'transactions',
    )
    // One source subtask: each card's charges reach the detector in event-time order, as they
    // would from a queue partitioned by card. "The next charge" depends on that order.
    .setParallelism(1)
    .uid('transactions')
    .keyBy((tx) => tx.card)
    .process(new FraudDetector())
    .name('fraud-detector')
    .uid('fraud-detector')
    .sinkTo(new FileSink<Alert>({ directory: env.params.out ?? '.weir-out/fraud-alerts' }), 'alerts')
    .uid('alerts');
});
