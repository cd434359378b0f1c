/**
 * The interval join (Flink's KeyedStream.intervalJoin): a left record at time t joins every right
 * record of the same key at a time in [t + lower, t + upper]. Runs as the KeyedCoProcessFunction
 * of a two-input operator: each side is buffered in keyed MapState by timestamp until the
 * watermark makes further matches impossible, when an event-time timer drops it. Records behind
 * the watermark are late and dropped, as in Flink. Subtask worker thread.
 */
import { WeirError } from '../../errors.ts';
import type { MapState } from '../../state/state.ts';
import {
  KeyedCoProcessFunction,
  type Collector,
  type KeyedContext,
  type OnTimerContext,
  type OutputTag,
  type RuntimeContext,
} from '../functions.ts';

/** What a ProcessJoinFunction learns about a joined pair. */
export interface ProcessJoinContext {
  readonly leftTimestamp: number;
  readonly rightTimestamp: number;
  /** The output's timestamp: the later of the two. */
  readonly timestamp: number;
  output<X>(tag: OutputTag<X>, value: X): void;
}

/** Receives each joined pair (Flink's ProcessJoinFunction). */
export abstract class ProcessJoinFunction<L, R, O> {
  open?(context: RuntimeContext): void | Promise<void>;
  abstract processElement(left: L, right: R, context: ProcessJoinContext, out: Collector<O>): void;
  close?(): void | Promise<void>;
}

type Buffer<T> = MapState<number, T[]>;

/**
 * Implemented by the runtime's keyed context (not part of the public KeyedContext): sets the event
 * timestamp of what is collected next. The join's output takes the later of the pair's times.
 */
export interface OutputTimestampControl {
  setOutputTimestamp(timestamp: number): void;
}

/** Timer namespaces are not exposed to functions; the timer's parity tells the side: see #cleanupTime. */
export class IntervalJoinFunction<K, L, R, O> extends KeyedCoProcessFunction<K, L, R, O> {
  readonly #lower: number;
  readonly #upper: number;
  readonly #fn: ProcessJoinFunction<L, R, O>;
  #left!: Buffer<L>;
  #right!: Buffer<R>;
  /** Per key, the cleanup times registered per side (a timer does not say which side set it). */
  #leftCleanup!: MapState<number, true>;
  #rightCleanup!: MapState<number, true>;
  readonly #context = new JoinContext();

  constructor(lower: number, upper: number, fn: ProcessJoinFunction<L, R, O>) {
    super();
    this.#lower = lower;
    this.#upper = upper;
    this.#fn = fn;
  }

  override async open(context: RuntimeContext): Promise<void> {
    this.#left = context.getMapState('__weir.join.left');
    this.#right = context.getMapState('__weir.join.right');
    this.#leftCleanup = context.getMapState('__weir.join.left-cleanup');
    this.#rightCleanup = context.getMapState('__weir.join.right-cleanup');
    await this.#fn.open?.(context);
  }

  processElement1(left: L, ctx: KeyedContext<K>, out: Collector<O>): void {
    const ts = timestampOf(ctx, 'left');
    if (ts <= ctx.timerService().currentWatermark()) return; // late
    add(this.#left, ts, left);
    for (const [rightTs, rights] of this.#right.entries()) {
      if (rightTs < ts + this.#lower || rightTs > ts + this.#upper) continue;
      for (const right of rights) this.#emit(left, right, ts, rightTs, ctx, out);
    }
    // No right record can match once the watermark passes ts + upper.
    const cleanup = ts + this.#upper;
    this.#leftCleanup.put(cleanup, true);
    ctx.timerService().registerEventTimeTimer(cleanup);
  }

  processElement2(right: R, ctx: KeyedContext<K>, out: Collector<O>): void {
    const ts = timestampOf(ctx, 'right');
    if (ts <= ctx.timerService().currentWatermark()) return; // late
    add(this.#right, ts, right);
    for (const [leftTs, lefts] of this.#left.entries()) {
      if (ts < leftTs + this.#lower || ts > leftTs + this.#upper) continue;
      for (const left of lefts) this.#emit(left, right, leftTs, ts, ctx, out);
    }
    // No left record can match once the watermark passes ts − lower.
    const cleanup = ts - this.#lower;
    this.#rightCleanup.put(cleanup, true);
    ctx.timerService().registerEventTimeTimer(cleanup);
  }

  override onTimer(time: number, _ctx: OnTimerContext<K>, _out: Collector<O>): void {
    if (this.#leftCleanup.contains(time)) {
      this.#leftCleanup.remove(time);
      this.#left.remove(time - this.#upper);
    }
    if (this.#rightCleanup.contains(time)) {
      this.#rightCleanup.remove(time);
      this.#right.remove(time + this.#lower);
    }
  }

  override async close(): Promise<void> {
    await this.#fn.close?.();
  }

  #emit(left: L, right: R, leftTs: number, rightTs: number, ctx: KeyedContext<K>, out: Collector<O>): void {
    const context = this.#context;
    context.leftTimestamp = leftTs;
    context.rightTimestamp = rightTs;
    context.timestamp = Math.max(leftTs, rightTs);
    context.outer = ctx;
    const control = ctx as unknown as Partial<OutputTimestampControl>;
    const own = ctx.timestamp()!;
    control.setOutputTimestamp?.(context.timestamp);
    try {
      this.#fn.processElement(left, right, context, out);
    } finally {
      control.setOutputTimestamp?.(own);
    }
  }
}

class JoinContext implements ProcessJoinContext {
  leftTimestamp = 0;
  rightTimestamp = 0;
  timestamp = 0;
  outer: KeyedContext<unknown> | undefined;

  output<X>(tag: OutputTag<X>, value: X): void {
    this.outer!.output(tag, value);
  }
}

function add<T>(buffer: Buffer<T>, ts: number, value: T): void {
  const list = buffer.get(ts);
  if (list === undefined) buffer.put(ts, [value]);
  else {
    list.push(value);
    buffer.put(ts, list); // write back: the LSM backend stores a copy
  }
}

function timestampOf(ctx: KeyedContext<unknown>, side: string): number {
  const ts = ctx.timestamp();
  if (ts === undefined) {
    throw new WeirError('WEIR_INVALID_TIMESTAMP', `an interval join's ${side} record has no event timestamp: assign timestamps with a WatermarkStrategy before the join`);
  }
  return ts;
}
