/**
 * Triggers decide when a window is evaluated and when its contents are dropped (Flink's Trigger,
 * TriggerResult and the built-in EventTimeTrigger, ProcessingTimeTrigger, CountTrigger,
 * PurgingTrigger, NeverTrigger). Built by the job module; called by the WindowOperator on the
 * subtask's worker thread, with timers and state scoped to the current key and window.
 */
import { WeirError } from '../../errors.ts';
import type { AggregateFunction, ReduceFunction } from '../../state/state.ts';
import type { KeyedStateStore } from './process-window-function.ts';
import type { Window } from './window.ts';

/**
 * What a trigger decides: CONTINUE (nothing), FIRE (evaluate the window, keep its contents),
 * PURGE (drop the contents), FIRE_AND_PURGE (evaluate, then drop).
 */
export const TriggerResult = {
  CONTINUE: 'CONTINUE',
  FIRE: 'FIRE',
  PURGE: 'PURGE',
  FIRE_AND_PURGE: 'FIRE_AND_PURGE',
} as const;
export type TriggerResult = (typeof TriggerResult)[keyof typeof TriggerResult];

/** @internal */
export function isFire(result: TriggerResult): boolean {
  return result === 'FIRE' || result === 'FIRE_AND_PURGE';
}

/** @internal */
export function isPurge(result: TriggerResult): boolean {
  return result === 'PURGE' || result === 'FIRE_AND_PURGE';
}

/**
 * What a trigger may do: read time, register and delete timers for its window (a timer calls
 * back `onEventTime`/`onProcessingTime` with that window), and keep state scoped to the current
 * key and window (`getValueState(name)` and the other KeyedStateStore getters). A trigger's state
 * is not removed with the window: remove it in `clear`.
 */
export interface TriggerContext extends KeyedStateStore {
  getCurrentProcessingTime(): number;
  /** −∞ before the first watermark. */
  getCurrentWatermark(): number;
  registerEventTimeTimer(time: number): void;
  registerProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
}

/** The context of `onMerge`: the merged windows' state can be folded into the merge result's. */
export interface OnMergeContext extends TriggerContext {
  /** Folds ReducingState `name` of the merged windows into the result window's. */
  mergeReducingState<T>(name: string, reduce: ReduceFunction<T>): void;
  /** Folds AggregatingState `name` of the merged windows into the result window's (needs `aggregate.merge`). */
  mergeAggregatingState<IN, ACC, OUT>(name: string, aggregate: AggregateFunction<IN, ACC, OUT>): void;
  /** Concatenates ListState `name` of the merged windows into the result window's. */
  mergeListState(name: string): void;
}

/**
 * Decides when a window fires. Every method must be synchronous. `timestamp` in `onElement` is
 * the record's event time (NaN when it has none, possible with processing-time windows).
 */
export abstract class Trigger<T, W extends Window> {
  abstract onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult;
  /** A processing-time timer this trigger registered for `window` fired. */
  abstract onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult;
  /** An event-time timer this trigger registered for `window` fired. */
  abstract onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult;
  /** True when the trigger supports merging windows (session windows need it), via `onMerge`. */
  canMerge(): boolean {
    return false;
  }
  /** Windows merged into `window`: re-register timers for it, merge state (`ctx.merge…State`). */
  onMerge(window: W, _ctx: OnMergeContext): void {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `${this.toString()} does not support merging windows (it was asked to merge into ${String(window)})`);
  }
  /** The window is purged for good: delete its timers and state. */
  abstract clear(window: W, ctx: TriggerContext): void;
  toString(): string {
    return `${this.constructor.name}()`;
  }
}

/**
 * Fires once the watermark passes the window's end (the default of event-time assigners); an
 * element arriving after that, within the allowed lateness, fires the window again at once.
 */
export class EventTimeTrigger extends Trigger<unknown, Window> {
  static create(): EventTimeTrigger {
    return new EventTimeTrigger();
  }

  onElement(_element: unknown, _timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return 'FIRE'; // a late firing
    ctx.registerEventTimeTimer(window.maxTimestamp());
    return 'CONTINUE';
  }

  onEventTime(time: number, window: Window, _ctx?: TriggerContext): TriggerResult {
    return time === window.maxTimestamp() ? 'FIRE' : 'CONTINUE';
  }

  onProcessingTime(_time?: number, _window?: Window, _ctx?: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }

  override canMerge(): boolean {
    return true;
  }

  override onMerge(window: Window, ctx: OnMergeContext): void {
    // Only when the merged window is not already due: a due one fires on its cleanup timer.
    if (window.maxTimestamp() > ctx.getCurrentWatermark()) ctx.registerEventTimeTimer(window.maxTimestamp());
  }

  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(window.maxTimestamp());
  }
}

/** Fires when the wall clock passes the window's end (the default of processing-time assigners). */
export class ProcessingTimeTrigger extends Trigger<unknown, Window> {
  static create(): ProcessingTimeTrigger {
    return new ProcessingTimeTrigger();
  }

  onElement(_element: unknown, _timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(window.maxTimestamp());
    return 'CONTINUE';
  }

  onEventTime(_time?: number, _window?: Window, _ctx?: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }

  onProcessingTime(_time?: number, _window?: Window, _ctx?: TriggerContext): TriggerResult {
    return 'FIRE';
  }

  override canMerge(): boolean {
    return true;
  }

  override onMerge(window: Window, ctx: OnMergeContext): void {
    if (window.maxTimestamp() > ctx.getCurrentProcessingTime()) ctx.registerProcessingTimeTimer(window.maxTimestamp());
  }

  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(window.maxTimestamp());
  }
}

const COUNT_STATE = 'count';
const sum = (a: number, b: number): number => a + b;

/** Fires every `maxCount` elements of a window (the count is per key and window, kept as state). */
export class CountTrigger extends Trigger<unknown, Window> {
  readonly maxCount: number;

  private constructor(maxCount: number) {
    super();
    this.maxCount = maxCount;
  }

  static of(maxCount: number): CountTrigger {
    if (!Number.isSafeInteger(maxCount) || maxCount < 1) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `CountTrigger.of() expects a positive integer count, got ${String(maxCount)}`);
    }
    return new CountTrigger(maxCount);
  }

  onElement(_element: unknown, _timestamp: number, _window: Window, ctx: TriggerContext): TriggerResult {
    const count = ctx.getReducingState<number>(COUNT_STATE, sum);
    count.add(1);
    if (count.get()! >= this.maxCount) {
      count.clear();
      return 'FIRE';
    }
    return 'CONTINUE';
  }

  onEventTime(_time?: number, _window?: Window, _ctx?: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }

  onProcessingTime(_time?: number, _window?: Window, _ctx?: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }

  override canMerge(): boolean {
    return true;
  }

  override onMerge(_window: Window, ctx: OnMergeContext): void {
    ctx.mergeReducingState<number>(COUNT_STATE, sum);
  }

  clear(_window: Window, ctx: TriggerContext): void {
    ctx.getReducingState<number>(COUNT_STATE, sum).clear();
  }

  override toString(): string {
    return `CountTrigger(${this.maxCount})`;
  }
}

/** Turns every FIRE of the nested trigger into FIRE_AND_PURGE: each firing sees only new elements. */
export class PurgingTrigger<T, W extends Window> extends Trigger<T, W> {
  readonly nested: Trigger<T, W>;

  private constructor(nested: Trigger<T, W>) {
    super();
    this.nested = nested;
  }

  static of<T, W extends Window>(nested: Trigger<T, W>): PurgingTrigger<T, W> {
    if (!isTrigger(nested)) throw new WeirError('WEIR_INVALID_ARGUMENT', 'PurgingTrigger.of() expects a Trigger');
    return new PurgingTrigger(nested);
  }

  onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult {
    return purging(this.nested.onElement(element, timestamp, window, ctx));
  }

  onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    return purging(this.nested.onEventTime(time, window, ctx));
  }

  onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    return purging(this.nested.onProcessingTime(time, window, ctx));
  }

  override canMerge(): boolean {
    return this.nested.canMerge();
  }

  override onMerge(window: W, ctx: OnMergeContext): void {
    this.nested.onMerge(window, ctx);
  }

  clear(window: W, ctx: TriggerContext): void {
    this.nested.clear(window, ctx);
  }

  override toString(): string {
    return `PurgingTrigger(${this.nested.toString()})`;
  }
}

function purging(result: TriggerResult): TriggerResult {
  return result === 'FIRE' ? 'FIRE_AND_PURGE' : result;
}

/** Never fires (the default of GlobalWindows: give count windows and the like their own trigger). */
export class NeverTrigger extends Trigger<unknown, Window> {
  static create(): NeverTrigger {
    return new NeverTrigger();
  }

  onElement(_element?: unknown, _timestamp?: number, _window?: Window, _ctx?: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }

  onEventTime(_time?: number, _window?: Window, _ctx?: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }

  onProcessingTime(_time?: number, _window?: Window, _ctx?: TriggerContext): TriggerResult {
    return 'CONTINUE';
  }

  override canMerge(): boolean {
    return true;
  }

  override onMerge(_window?: Window, _ctx?: OnMergeContext): void {}

  clear(_window?: Window, _ctx?: TriggerContext): void {}
}

/** @internal A Trigger, or an object shaped like one (a trigger from another copy of weir). */
export function isTrigger(value: unknown): value is Trigger<unknown, Window> {
  if (value instanceof Trigger) return true;
  const t = value as Partial<Record<keyof Trigger<unknown, Window>, unknown>> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.onElement === 'function' &&
    typeof t.onEventTime === 'function' &&
    typeof t.onProcessingTime === 'function' &&
    typeof t.clear === 'function' &&
    typeof t.canMerge === 'function'
  );
}
