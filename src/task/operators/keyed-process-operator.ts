/**
 * Runs a user's KeyedProcessFunction (one input) or KeyedCoProcessFunction (two inputs): open
 * with a RuntimeContext for state, then per record with its key in scope, and `onTimer` when
 * one of the key's timers fires. The operator itself is the function's context, timer service
 * and collector (no per-record allocation). Subtask worker thread.
 */
import { WeirError } from '../../errors.ts';
import type { StreamNode } from '../../graph/job-graph.ts';
import type {
  Collector,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  KeySelector,
  OnTimerContext,
  OutputTag,
  RuntimeContext,
  TimeDomain,
  TimerService,
} from '../functions.ts';
import type { InternalTimer } from '../time/keyed-timer-service.ts';
import { isWeirError, rejectPromise, type OperatorContext, type Output } from './stream-operator.ts';
import { KeyedOperator } from './keyed-operator.ts';

/** The user-function calls both operators make, and their shared context implementation. */
abstract class KeyedFunctionOperator extends KeyedOperator<unknown, unknown> implements Collector<unknown> {
  /** The context handed to every user call (one object: nothing allocated per record). */
  protected readonly ctx = new FunctionContext(this);

  protected abstract get fn(): {
    open?(context: RuntimeContext): void | Promise<void>;
    onTimer?(timestamp: number, context: OnTimerContext<unknown>, out: Collector<unknown>): void;
    onWatermark?(watermark: number, out: Collector<unknown>): void;
    close?(): void | Promise<void>;
  };

  /** The function's onWatermark, after the timers up to the watermark fired. */
  protected override afterTimers(watermark: number): void {
    const onWatermark = this.fn.onWatermark;
    if (onWatermark === undefined) return;
    // Output takes the watermark as its timestamp (none for the final +∞).
    this.context.time.value = Number.isFinite(watermark) ? watermark : Number.NaN;
    this.call('onWatermark', () => onWatermark.call(this.fn, watermark, this));
  }

  override async open(): Promise<void> {
    try {
      await this.fn.open?.(this.runtimeContext());
    } catch (error) {
      throw this.userError(error, 'open');
    }
  }

  /** Runs a user call, attributing its errors (errors from further down are attributed already). */
  protected call(phase: string, invoke: () => unknown): void {
    let returned: unknown;
    try {
      returned = invoke();
    } catch (error) {
      throw isWeirError(error) ? error : this.userError(error, phase);
    }
    if (returned !== undefined) rejectPromise(returned, (error) => this.userError(error, phase));
  }

  override onEventTime(timer: InternalTimer): void {
    this.#fire(timer, 'event-time');
  }

  override onProcessingTime(timer: InternalTimer): void {
    this.#fire(timer, 'processing-time');
  }

  #fire(timer: InternalTimer, domain: TimeDomain): void {
    const onTimer = this.fn.onTimer;
    if (onTimer === undefined) return;
    // Output of an event-time timer carries the timer's time; of a processing-time one, none.
    this.context.time.value = domain === 'event-time' ? timer.time : Number.NaN;
    this.ctx.domain = domain;
    try {
      this.call('onTimer', () => onTimer.call(this.fn, timer.time, this.ctx, this));
    } finally {
      this.ctx.domain = undefined;
    }
  }

  /** Collector: the function's output. */
  collect(record: unknown): void {
    this.recordsOut++;
    this.output.collect(record);
  }

  /** For FunctionContext. */
  get key(): unknown {
    return this.currentKey;
  }

  get timerServiceImpl(): KeyedOperator<unknown, unknown>['timers'] {
    return this.timers;
  }

  emitSide(tag: string, value: unknown): void {
    this.output.collectSide(tag, value);
  }

  override async close(): Promise<void> {
    try {
      await this.fn?.close?.();
    } catch (error) {
      throw this.userError(error, 'close');
    } finally {
      await super.close();
    }
  }
}

export class KeyedProcessOperator extends KeyedFunctionOperator {
  readonly #fn: KeyedProcessFunction<unknown, unknown, unknown>;

  constructor(node: StreamNode, context: OperatorContext, output: Output<unknown>) {
    super(node, context, output);
    this.#fn = (node.transformation as { fn: KeyedProcessFunction<unknown, unknown, unknown> }).fn;
  }

  protected get fn(): KeyedProcessFunction<unknown, unknown, unknown> {
    return this.#fn;
  }

  processKeyedElement(record: unknown, keyGroup: number): void {
    this.recordsIn++;
    this.setKeyOf(record, keyGroup);
    this.call('processElement', () => this.#fn.processElement(record, this.ctx, this));
  }
}

/**
 * Two inputs: records of input 0 go to processElement1 (keyed by keySelector1), of input 1 to
 * processElement2 (keySelector2). Both key selectors must give equal keys for records that
 * belong together: both inputs are hash-partitioned by them onto the same key groups.
 */
export class KeyedCoProcessOperator extends KeyedFunctionOperator {
  readonly #fn: KeyedCoProcessFunction<unknown, unknown, unknown, unknown>;
  readonly #keySelector2: KeySelector<unknown, unknown>;

  constructor(node: StreamNode, context: OperatorContext, output: Output<unknown>) {
    const t = node.transformation as { keySelector1: KeySelector<unknown, unknown>; keySelector2: KeySelector<unknown, unknown> };
    super(node, context, output, t.keySelector1);
    this.#keySelector2 = t.keySelector2;
    this.#fn = (node.transformation as { fn: KeyedCoProcessFunction<unknown, unknown, unknown, unknown> }).fn;
  }

  protected get fn(): KeyedCoProcessFunction<unknown, unknown, unknown, unknown> {
    return this.#fn;
  }

  /** Input 0 (a chained caller or a single-input path never happens: two inputs are never chained). */
  processKeyedElement(record: unknown, keyGroup: number): void {
    this.processKeyedElementOf(0, record, keyGroup);
  }

  processKeyedElementOf(input: number, record: unknown, keyGroup: number): void {
    this.recordsIn++;
    if (input === 0) {
      this.setKeyOf(record, keyGroup);
      this.call('processElement1', () => this.#fn.processElement1(record, this.ctx, this));
    } else {
      this.setKeyOf(record, keyGroup, this.#keySelector2);
      this.call('processElement2', () => this.#fn.processElement2(record, this.ctx, this));
    }
  }
}

/** KeyedContext, OnTimerContext and TimerService of a keyed function, over its operator. */
class FunctionContext implements OnTimerContext<unknown>, TimerService {
  readonly #operator: KeyedFunctionOperator;
  /** Set while onTimer runs. */
  domain: TimeDomain | undefined;

  constructor(operator: KeyedFunctionOperator) {
    this.#operator = operator;
  }

  getCurrentKey(): unknown {
    return this.#operator.key;
  }

  timestamp(): number | undefined {
    const value = this.#operator.context.time.value;
    return value === value ? value : undefined;
  }

  timerService(): TimerService {
    return this;
  }

  /** OutputTimestampControl (interval-join.ts): the timestamp of what is collected next. */
  setOutputTimestamp(timestamp: number): void {
    this.#operator.context.time.value = timestamp;
  }

  output<X>(tag: OutputTag<X>, value: X): void {
    this.#operator.emitSide(tag.id, value);
  }

  timeDomain(): TimeDomain {
    if (this.domain === undefined) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `timeDomain() is only available in onTimer (operator '${this.#operator.node.uid}')`);
    }
    return this.domain;
  }

  // TimerService: namespace '' — one timer space per key.
  currentProcessingTime(): number {
    return this.#operator.timerServiceImpl.currentProcessingTime();
  }

  currentWatermark(): number {
    return this.#operator.timerServiceImpl.currentWatermark;
  }

  registerEventTimeTimer(time: number): void {
    this.#operator.timerServiceImpl.registerEventTimeTimer('', time);
  }

  registerProcessingTimeTimer(time: number): void {
    this.#operator.timerServiceImpl.registerProcessingTimeTimer('', time);
  }

  deleteEventTimeTimer(time: number): void {
    this.#operator.timerServiceImpl.deleteEventTimeTimer('', time);
  }

  deleteProcessingTimeTimer(time: number): void {
    this.#operator.timerServiceImpl.deleteProcessingTimeTimer('', time);
  }
}
