/**
 * Window assigners (Flink's names and static factories, sizes in milliseconds): which windows a
 * record belongs to — tumbling, sliding and session windows in event or processing time, and
 * the one global window. Built by the job module on every thread; called by the WindowOperator
 * for every record on the subtask's worker thread, so the common cases allocate nothing per
 * record (the windows of the last start are kept and handed out again; they are immutable).
 */
import { WeirError } from '../../errors.ts';
import { EventTimeTrigger, NeverTrigger, ProcessingTimeTrigger, type Trigger } from './triggers.ts';
import { GlobalWindow, TimeWindow, type Window } from './window.ts';

/** What an assigner may ask the operator. */
export interface WindowAssignerContext {
  /** The subtask's wall clock (ms since the epoch). */
  getCurrentProcessingTime(): number;
}

/** Assigns each record to zero or more windows. Windows are TimeWindow or GlobalWindow. */
export abstract class WindowAssigner<T, W extends Window> {
  /**
   * The windows of `element` (`timestamp`: its event time; NaN when it has none). The returned
   * array must not be changed by the caller; assigners may return the same one again.
   */
  abstract assignWindows(element: T, timestamp: number, context: WindowAssignerContext): readonly W[];
  /** The trigger used unless `WindowedStream.trigger()` sets another. */
  abstract getDefaultTrigger(): Trigger<T, W>;
  /** True when windows are in event time (records need timestamps; watermarks fire windows). */
  abstract isEventTime(): boolean;
}

/** An assigner whose windows merge when they overlap (session windows). */
export abstract class MergingWindowAssigner<T, W extends Window> extends WindowAssigner<T, W> {
  /** Calls `callback(merged, result)` for every group of `windows` that merges into one. */
  abstract mergeWindows(windows: readonly W[], callback: (toBeMerged: W[], mergeResult: W) => void): void;
}

function requireDuration(method: string, what: string, value: number, min: 0 | 1): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new WeirError(
      'WEIR_INVALID_ARGUMENT',
      `${method} expects ${what} as ${min === 1 ? 'a positive' : 'a non-negative'} integer number of milliseconds, got ${String(value)}`,
    );
  }
}

function requireOffset(method: string, offset: number, period: number, periodName: string): void {
  if (!Number.isSafeInteger(offset) || Math.abs(offset) >= period) {
    throw new WeirError(
      'WEIR_INVALID_ARGUMENT',
      `${method} expects the offset as an integer number of milliseconds with abs(offset) < ${periodName} (${period}), got ${String(offset)}`,
    );
  }
}

/** Tumbling windows of one fixed size, shared by the event- and processing-time variants. */
abstract class TumblingWindows extends WindowAssigner<unknown, TimeWindow> {
  readonly size: number;
  readonly offset: number;
  #lastStart = Number.NaN;
  #last: readonly TimeWindow[] = [];

  protected constructor(method: string, size: number, offset: number) {
    super();
    requireDuration(method, 'the size', size, 1);
    requireOffset(method, offset, size, 'size');
    this.size = size;
    this.offset = offset;
  }

  protected windowOf(timestamp: number): readonly TimeWindow[] {
    const start = TimeWindow.getWindowStartWithOffset(timestamp, this.offset, this.size);
    if (start !== this.#lastStart) {
      this.#lastStart = start;
      this.#last = [new TimeWindow(start, start + this.size)];
    }
    return this.#last;
  }

  override toString(): string {
    return `${this.constructor.name}(${this.size}${this.offset === 0 ? '' : `, ${this.offset}`})`;
  }
}

/** Fixed-size, non-overlapping event-time windows: [start, start + size) with start ≡ offset (mod size). */
export class TumblingEventTimeWindows extends TumblingWindows {
  private constructor(size: number, offset: number) {
    super('TumblingEventTimeWindows.of()', size, offset);
  }

  /** Windows of `sizeMs`, aligned to the epoch shifted by `offsetMs` (|offset| < size; e.g. a time zone). */
  static of(sizeMs: number, offsetMs = 0): TumblingEventTimeWindows {
    return new TumblingEventTimeWindows(sizeMs, offsetMs);
  }

  assignWindows(_element: unknown, timestamp: number, _context?: WindowAssignerContext): readonly TimeWindow[] {
    return this.windowOf(timestamp);
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create();
  }

  isEventTime(): boolean {
    return true;
  }
}

/** Fixed-size, non-overlapping windows of wall-clock time at the moment each record arrives. */
export class TumblingProcessingTimeWindows extends TumblingWindows {
  private constructor(size: number, offset: number) {
    super('TumblingProcessingTimeWindows.of()', size, offset);
  }

  static of(sizeMs: number, offsetMs = 0): TumblingProcessingTimeWindows {
    return new TumblingProcessingTimeWindows(sizeMs, offsetMs);
  }

  assignWindows(_element: unknown, _timestamp: number, context: WindowAssignerContext): readonly TimeWindow[] {
    return this.windowOf(context.getCurrentProcessingTime());
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }

  isEventTime(): boolean {
    return false;
  }
}

/** Windows of `size` starting every `slide`: a record is in about size/slide of them. */
abstract class SlidingWindows extends WindowAssigner<unknown, TimeWindow> {
  readonly size: number;
  readonly slide: number;
  readonly offset: number;
  #lastStart = Number.NaN;
  #last: readonly TimeWindow[] = [];

  protected constructor(method: string, size: number, slide: number, offset: number) {
    super();
    requireDuration(method, 'the size', size, 1);
    requireDuration(method, 'the slide', slide, 1);
    requireOffset(method, offset, slide, 'slide');
    this.size = size;
    this.slide = slide;
    this.offset = offset;
  }

  protected windowsOf(timestamp: number): readonly TimeWindow[] {
    // The windows holding `timestamp` start at lastStart − k·slide while start > timestamp − size,
    // latest first (as Flink). They are determined by lastStart and their number, so the array is
    // built once per (lastStart, count) and handed out again; counting costs no allocation.
    const lastStart = TimeWindow.getWindowStartWithOffset(timestamp, this.offset, this.slide);
    const earliest = timestamp - this.size;
    let count = 0;
    for (let start = lastStart; start > earliest; start -= this.slide) count++;
    if (lastStart !== this.#lastStart || count !== this.#last.length) {
      const windows: TimeWindow[] = [];
      for (let k = 0, start = lastStart; k < count; k++, start -= this.slide) windows.push(new TimeWindow(start, start + this.size));
      this.#lastStart = lastStart;
      this.#last = windows;
    }
    return this.#last;
  }

  override toString(): string {
    return `${this.constructor.name}(${this.size}, ${this.slide}${this.offset === 0 ? '' : `, ${this.offset}`})`;
  }
}

/** Event-time windows of `size` every `slide` (HOP): [start, start + size) with start ≡ offset (mod slide). */
export class SlidingEventTimeWindows extends SlidingWindows {
  private constructor(size: number, slide: number, offset: number) {
    super('SlidingEventTimeWindows.of()', size, slide, offset);
  }

  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingEventTimeWindows {
    return new SlidingEventTimeWindows(sizeMs, slideMs, offsetMs);
  }

  assignWindows(_element: unknown, timestamp: number, _context?: WindowAssignerContext): readonly TimeWindow[] {
    return this.windowsOf(timestamp);
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create();
  }

  isEventTime(): boolean {
    return true;
  }
}

/** Processing-time windows of `size` every `slide`. */
export class SlidingProcessingTimeWindows extends SlidingWindows {
  private constructor(size: number, slide: number, offset: number) {
    super('SlidingProcessingTimeWindows.of()', size, slide, offset);
  }

  static of(sizeMs: number, slideMs: number, offsetMs = 0): SlidingProcessingTimeWindows {
    return new SlidingProcessingTimeWindows(sizeMs, slideMs, offsetMs);
  }

  assignWindows(_element: unknown, _timestamp: number, context: WindowAssignerContext): readonly TimeWindow[] {
    return this.windowsOf(context.getCurrentProcessingTime());
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }

  isEventTime(): boolean {
    return false;
  }
}

/** The gap of a session for one record (dynamic session windows); a positive number of ms. */
export type SessionWindowTimeGapExtractor<T> = (element: T) => number;

function sessionGap<T>(extractor: SessionWindowTimeGapExtractor<T>, element: T): number {
  const gap = extractor(element);
  if (typeof gap !== 'number' || !(gap > 0) || gap === Infinity) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `a dynamic session gap must be a positive finite number of milliseconds, got ${String(gap)}`);
  }
  return gap;
}

function requireExtractor(method: string, extractor: unknown): void {
  if (typeof extractor !== 'function') {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `${method} expects a function (element) => gap in ms, got ${extractor === null ? 'null' : typeof extractor}`);
  }
}

/** Session windows: [t, t + gap) per record, merged while they overlap; the merge code of all variants. */
abstract class SessionWindows<T> extends MergingWindowAssigner<T, TimeWindow> {
  mergeWindows(windows: readonly TimeWindow[], callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void): void {
    TimeWindow.mergeWindows(windows, callback);
  }
}

/** Event-time sessions: a key's records closer than `gap` to each other form one window. */
export class EventTimeSessionWindows extends SessionWindows<unknown> {
  readonly gap: number;

  private constructor(gap: number) {
    super();
    requireDuration('EventTimeSessionWindows.withGap()', 'the gap', gap, 1);
    this.gap = gap;
  }

  static withGap(gapMs: number): EventTimeSessionWindows {
    return new EventTimeSessionWindows(gapMs);
  }

  /** Sessions whose gap each record chooses (`extractor(record)`, ms). */
  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): DynamicEventTimeSessionWindows<T> {
    return new DynamicEventTimeSessionWindows(extractor);
  }

  assignWindows(_element: unknown, timestamp: number, _context?: WindowAssignerContext): readonly TimeWindow[] {
    return [new TimeWindow(timestamp, timestamp + this.gap)];
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return EventTimeTrigger.create();
  }

  isEventTime(): boolean {
    return true;
  }

  override toString(): string {
    return `EventTimeSessionWindows(${this.gap})`;
  }
}

export class DynamicEventTimeSessionWindows<T> extends SessionWindows<T> {
  readonly #extractor: SessionWindowTimeGapExtractor<T>;

  /** @internal Use EventTimeSessionWindows.withDynamicGap(). */
  constructor(extractor: SessionWindowTimeGapExtractor<T>) {
    super();
    requireExtractor('EventTimeSessionWindows.withDynamicGap()', extractor);
    this.#extractor = extractor;
  }

  assignWindows(element: T, timestamp: number, _context?: WindowAssignerContext): readonly TimeWindow[] {
    return [new TimeWindow(timestamp, timestamp + sessionGap(this.#extractor, element))];
  }

  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return EventTimeTrigger.create();
  }

  isEventTime(): boolean {
    return true;
  }

  override toString(): string {
    return 'DynamicEventTimeSessionWindows()';
  }
}

/** Processing-time sessions: records arriving closer than `gap` (wall clock) form one window. */
export class ProcessingTimeSessionWindows extends SessionWindows<unknown> {
  readonly gap: number;

  private constructor(gap: number) {
    super();
    requireDuration('ProcessingTimeSessionWindows.withGap()', 'the gap', gap, 1);
    this.gap = gap;
  }

  static withGap(gapMs: number): ProcessingTimeSessionWindows {
    return new ProcessingTimeSessionWindows(gapMs);
  }

  static withDynamicGap<T>(extractor: SessionWindowTimeGapExtractor<T>): DynamicProcessingTimeSessionWindows<T> {
    return new DynamicProcessingTimeSessionWindows(extractor);
  }

  assignWindows(_element: unknown, _timestamp: number, context: WindowAssignerContext): readonly TimeWindow[] {
    const now = context.getCurrentProcessingTime();
    return [new TimeWindow(now, now + this.gap)];
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }

  isEventTime(): boolean {
    return false;
  }

  override toString(): string {
    return `ProcessingTimeSessionWindows(${this.gap})`;
  }
}

export class DynamicProcessingTimeSessionWindows<T> extends SessionWindows<T> {
  readonly #extractor: SessionWindowTimeGapExtractor<T>;

  /** @internal Use ProcessingTimeSessionWindows.withDynamicGap(). */
  constructor(extractor: SessionWindowTimeGapExtractor<T>) {
    super();
    requireExtractor('ProcessingTimeSessionWindows.withDynamicGap()', extractor);
    this.#extractor = extractor;
  }

  assignWindows(element: T, _timestamp: number, context: WindowAssignerContext): readonly TimeWindow[] {
    const now = context.getCurrentProcessingTime();
    return [new TimeWindow(now, now + sessionGap(this.#extractor, element))];
  }

  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return ProcessingTimeTrigger.create();
  }

  isEventTime(): boolean {
    return false;
  }

  override toString(): string {
    return 'DynamicProcessingTimeSessionWindows()';
  }
}

const GLOBAL: readonly GlobalWindow[] = [GlobalWindow.get()];

/** One window per key holding all its records; it never fires unless a trigger says so (count windows). */
export class GlobalWindows extends WindowAssigner<unknown, GlobalWindow> {
  private constructor() {
    super();
  }

  static create(): GlobalWindows {
    return new GlobalWindows();
  }

  assignWindows(_element?: unknown, _timestamp?: number, _context?: WindowAssignerContext): readonly GlobalWindow[] {
    return GLOBAL;
  }

  getDefaultTrigger(): Trigger<unknown, GlobalWindow> {
    return NeverTrigger.create();
  }

  isEventTime(): boolean {
    return false;
  }

  override toString(): string {
    return 'GlobalWindows()';
  }
}

/** @internal True for WindowAssigner instances (or objects shaped like one, from another copy of weir). */
export function isWindowAssigner(value: unknown): value is WindowAssigner<unknown, Window> {
  if (value instanceof WindowAssigner) return true;
  const a = value as Partial<Record<'assignWindows' | 'getDefaultTrigger' | 'isEventTime', unknown>> | null;
  return typeof a === 'object' && a !== null && typeof a.assignWindows === 'function' && typeof a.getDefaultTrigger === 'function' && typeof a.isEventTime === 'function';
}

/** @internal */
export function isMergingAssigner(value: WindowAssigner<unknown, Window>): value is MergingWindowAssigner<unknown, Window> {
  return typeof (value as { mergeWindows?: unknown }).mergeWindows === 'function';
}
