/**
 * The keyed window operator (Flink's WindowOperator, and EvictingWindowOperator for count
 * eviction): assigns each record to windows, keeps their contents as keyed state, asks the
 * trigger when to evaluate, runs the window function, and purges a window at its cleanup time
 * (end + allowed lateness in event time). Contents, trigger state, per-window function state,
 * session merging sets and timers all live in the keyed state backend, so checkpoints, restores
 * and rescaling need nothing of their own. Subtask worker thread.
 */
import { WeirError } from '../../errors.ts';
import type { WindowTransformation } from '../../graph/transformation.ts';
import type { StreamNode } from '../../graph/job-graph.ts';
import type { Collector } from '../functions.ts';
import type { InternalTimer } from '../time/keyed-timer-service.ts';
import { KeyedOperator } from '../operators/keyed-operator.ts';
import { rejectPromise, type OperatorContext, type Output } from '../operators/stream-operator.ts';
import { isMergingAssigner, type MergingWindowAssigner, type WindowAssigner, type WindowAssignerContext } from './window-assigners.ts';
import { AggregateContents, CONTENTS_STATE, ListContents, ReduceContents } from './window-contents.ts';
import { WindowProcessContext, WindowTriggerContext } from './window-contexts.ts';
import { MERGING_STATE, MergingWindowSet, type MergeFunction } from './merging-window-set.ts';
import { EventTimeTrigger, isFire, isPurge, ProcessingTimeTrigger, type Trigger, type TriggerResult } from './triggers.ts';
import { windowFromNamespace, type TimeWindow, type Window } from './window.ts';
import type { AnyProcessWindowFunction, WindowSpec } from './window-spec.ts';
import { WindowStateStore } from './window-state-store.ts';

/** Backend state names (MapStates of `name U+0000 window` entries) for trigger and function window state. */
const TRIGGER_STATE = '__weir.window.trigger';
const FUNCTION_STATE = '__weir.window.function';

type Contents = ReduceContents | AggregateContents | ListContents;

export class WindowOperator extends KeyedOperator<unknown, unknown> implements Collector<unknown> {
  /** Late records dropped (too late for all their windows, and no late-data side output). */
  numLateRecordsDropped = 0;
  readonly #spec: WindowSpec;
  readonly #assigner: WindowAssigner<unknown, Window>;
  readonly #merging: MergingWindowAssigner<unknown, TimeWindow> | undefined;
  readonly #trigger: Trigger<unknown, Window>;
  readonly #isEventTime: boolean;
  readonly #lateness: number;
  readonly #processFn: AnyProcessWindowFunction | undefined;
  /**
   * Set when windows do not merge and the trigger is exactly EventTimeTrigger (a window not yet
   * due), or ProcessingTimeTrigger on processing-time windows (whose firing timer is also their
   * cleanup timer): then a record added to a window that already held contents changes nothing
   * but the contents — its timers are registered and pending — so the trigger call and the
   * cleanup registration are skipped (two timer look-ups per record and window saved).
   */
  readonly #repeatFree: 'event' | 'processing' | undefined;
  readonly #addPhase: string;
  readonly #assignerContext: WindowAssignerContext;
  readonly #mergeFunction: MergeFunction;
  #contents!: Contents;
  #mergingSet: MergingWindowSet | undefined;
  #triggerContext!: WindowTriggerContext;
  #processContext: WindowProcessContext | undefined;
  /** Timestamp of the results being emitted: the window's maxTimestamp (re-applied on each collect). */
  #emitTimestamp = Number.NaN;

  constructor(node: StreamNode, context: OperatorContext, output: Output<unknown>) {
    super(node, context, output);
    const spec = (node.transformation as WindowTransformation).spec;
    this.#spec = spec;
    this.#assigner = spec.assigner;
    this.#merging = isMergingAssigner(spec.assigner) ? (spec.assigner as MergingWindowAssigner<unknown, TimeWindow>) : undefined;
    this.#trigger = spec.trigger;
    this.#isEventTime = spec.assigner.isEventTime();
    this.#lateness = spec.allowedLatenessMs;
    this.#processFn = spec.fn.process;
    const triggerClass = (spec.trigger as object).constructor;
    this.#repeatFree =
      this.#merging !== undefined
        ? undefined
        : triggerClass === EventTimeTrigger
          ? 'event'
          : triggerClass === ProcessingTimeTrigger && !this.#isEventTime
            ? 'processing'
            : undefined;
    this.#addPhase = spec.evictToCount !== undefined ? 'window' : spec.fn.kind;
    this.#assignerContext = { getCurrentProcessingTime: () => this.timers.currentProcessingTime() };
    this.#mergeFunction = (result, merged, stateResult, mergedState) => this.#merge(result, merged, stateResult, mergedState);
  }

  override async open(): Promise<void> {
    // The backend and timer service are final here (restoreState, which replaces them, runs before open).
    const backend = this.backend;
    const contents = backend.getMapState<string, unknown>(CONTENTS_STATE);
    const fn = this.#spec.fn;
    if (this.#spec.evictToCount !== undefined || fn.kind === 'process') this.#contents = new ListContents(contents);
    else if (fn.kind === 'reduce') this.#contents = new ReduceContents(contents, fn.reduce);
    else this.#contents = new AggregateContents(contents, fn.aggregate);
    if (this.#merging !== undefined) this.#mergingSet = new MergingWindowSet(backend.getValueState<number[]>(MERGING_STATE), this.#merging);
    this.#triggerContext = new WindowTriggerContext(this.timers, new WindowStateStore(backend, TRIGGER_STATE));
    const processFn = this.#processFn;
    if (processFn === undefined) return;
    const runtime = this.runtimeContext();
    const emitSide = (tag: string, value: unknown): void => {
      this.context.time.value = this.#emitTimestamp;
      this.output.collectSide(tag, value);
    };
    const windowStore = new WindowStateStore(backend, FUNCTION_STATE);
    this.#processContext = new WindowProcessContext(this.timers, windowStore, runtime, emitSide, this.#merging !== undefined);
    try {
      await processFn.open?.(runtime);
    } catch (error) {
      throw this.userError(error, 'open');
    }
  }

  processKeyedElement(record: unknown, keyGroup: number): void {
    this.recordsIn++;
    this.setKeyOf(record, keyGroup);
    const timestamp = this.context.time.value;
    if (this.#isEventTime && timestamp !== timestamp) throw this.#missingTimestamp();
    let windows: readonly Window[];
    try {
      windows = this.#assigner.assignWindows(record, timestamp, this.#assignerContext);
    } catch (error) {
      throw this.userError(error, 'assignWindows');
    }
    const handled =
      this.#merging === undefined ? this.#addToWindows(record, timestamp, windows) : this.#addToMergingWindows(record, timestamp, windows as readonly TimeWindow[]);
    // Firing set the results' timestamp; a chained operator upstream may emit more records after this one.
    this.context.time.value = timestamp;
    // Flink's rule: late is a record no window took whose own timestamp is past the lateness.
    if (!handled && this.#isEventTime && timestamp + this.#lateness <= this.timers.currentWatermark) {
      const tag = this.#spec.lateDataTag;
      if (tag === undefined) this.numLateRecordsDropped++;
      else this.output.collectSide(tag, record);
    }
  }

  /** The hot path (tumbling, sliding, global windows). Returns true when some window took the record. */
  #addToWindows(record: unknown, timestamp: number, windows: readonly Window[]): boolean {
    const watermark = this.timers.currentWatermark;
    let handled = false;
    for (let i = 0; i < windows.length; i++) {
      const window = windows[i]!;
      if (this.#isEventTime && this.#cleanupTime(window) <= watermark) continue; // purged already
      handled = true;
      const namespace = window.namespace;
      const existed = this.#add(namespace, record);
      if (existed && this.#repeatFree !== undefined && (this.#repeatFree === 'processing' || window.maxTimestamp() > watermark)) continue;
      const result = this.#onElement(record, timestamp, window);
      if (isFire(result)) this.#fire(window, namespace);
      if (isPurge(result)) this.#contents.clear(namespace);
      this.#registerCleanupTimer(window);
    }
    return handled;
  }

  /** Session windows: the record's window merges with the key's in-flight windows first. */
  #addToMergingWindows(record: unknown, timestamp: number, windows: readonly TimeWindow[]): boolean {
    const set = this.#mergingSet!.load();
    let handled = false;
    for (const window of windows) {
      const actual = set.addWindow(window, this.#mergeFunction);
      if (this.#isEventTime && this.#cleanupTime(actual) <= this.timers.currentWatermark) {
        set.retireWindow(actual); // late on its own: it never held anything
        continue;
      }
      handled = true;
      const stateWindow = set.getStateWindow(actual);
      if (stateWindow === undefined) throw new WeirError('WEIR_INTERNAL', `window ${actual.toString()} is not in the in-flight window set`);
      const namespace = stateWindow.namespace;
      this.#add(namespace, record);
      const result = this.#onElement(record, timestamp, actual);
      if (isFire(result)) this.#fire(actual, namespace);
      if (isPurge(result)) this.#contents.clear(namespace);
      this.#registerCleanupTimer(actual);
    }
    set.persist();
    return handled;
  }

  /** In-flight windows `merged` became `result`: move timers, trigger state and contents (Flink's order). */
  #merge(result: TimeWindow, merged: readonly TimeWindow[], stateResult: TimeWindow, mergedState: readonly TimeWindow[]): void {
    if (this.#isEventTime ? result.maxTimestamp() + this.#lateness <= this.timers.currentWatermark : result.maxTimestamp() <= this.timers.currentProcessingTime()) {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `operator '${this.node.uid}': merging made window ${result.toString()} end before the current ${this.#isEventTime ? 'watermark' : 'processing time'}; a merging window assigner must not do that`,
      );
    }
    const ctx = this.#triggerContext;
    ctx.setWindow(result);
    ctx.mergedWindows = merged;
    try {
      this.#trigger.onMerge(result, ctx);
    } catch (error) {
      throw this.userError(error, 'trigger.onMerge');
    } finally {
      ctx.mergedWindows = [];
    }
    for (const window of merged) {
      this.#clearTrigger(window);
      this.#deleteCleanupTimer(window);
    }
    try {
      this.#contents.merge(
        stateResult.namespace,
        mergedState.map((window) => window.namespace),
      );
    } catch (error) {
      throw this.userError(error, this.#addPhase);
    }
  }

  override onEventTime(timer: InternalTimer): void {
    this.#onTimer(timer, true);
  }

  override onProcessingTime(timer: InternalTimer): void {
    this.#onTimer(timer, false);
  }

  #onTimer(timer: InternalTimer, eventTime: boolean): void {
    const window = windowFromNamespace(timer.namespace);
    let namespace = timer.namespace;
    let set: MergingWindowSet | undefined;
    if (this.#merging !== undefined) {
      set = this.#mergingSet!.load();
      const stateWindow = set.getStateWindow(window as TimeWindow);
      // A timer of a window merged away or purged (a trigger that left a timer behind): nothing to do.
      if (stateWindow === undefined) return;
      namespace = stateWindow.namespace;
    }
    const ctx = this.#triggerContext;
    ctx.setWindow(window);
    let result: unknown;
    try {
      result = eventTime ? this.#trigger.onEventTime(timer.time, window, ctx) : this.#trigger.onProcessingTime(timer.time, window, ctx);
    } catch (error) {
      throw this.userError(error, eventTime ? 'trigger.onEventTime' : 'trigger.onProcessingTime');
    }
    const checked = this.#checkResult(result, eventTime ? 'onEventTime' : 'onProcessingTime');
    if (isFire(checked)) this.#fire(window, namespace);
    if (isPurge(checked)) this.#contents.clear(namespace);
    if (eventTime === this.#isEventTime && timer.time === this.#cleanupTime(window)) {
      this.#contents.clear(namespace);
      this.#clearTrigger(window);
      this.#clearFunctionState(window);
      set?.retireWindow(window as TimeWindow);
    }
    set?.persist();
  }

  /** Evaluates `window` (contents under `namespace`); an empty window emits nothing (as Flink). */
  #fire(window: Window, namespace: string): void {
    this.#emitTimestamp = window.maxTimestamp();
    const contents = this.#contents;
    if (contents instanceof ListContents) {
      this.#fireRecords(window, namespace, contents);
      return;
    }
    const accumulated = contents.get(namespace);
    if (accumulated === undefined) return;
    const fn = this.#spec.fn;
    let value: unknown = accumulated;
    if (fn.kind === 'aggregate') {
      try {
        value = fn.aggregate.getResult(accumulated);
      } catch (error) {
        throw this.userError(error, 'aggregate');
      }
    }
    if (this.#processFn === undefined) this.collect(value);
    else this.#process(window, [value]);
  }

  /** Windows that keep their records: evict down to the count, then reduce, aggregate or process them. */
  #fireRecords(window: Window, namespace: string, contents: ListContents): void {
    let records = contents.get(namespace);
    if (records.length === 0) return;
    const keep = this.#spec.evictToCount;
    if (keep !== undefined && records.length > keep) {
      records = records.slice(records.length - keep);
      contents.update(namespace, records);
    }
    const fn = this.#spec.fn;
    if (fn.kind === 'process') {
      this.#process(window, records);
      return;
    }
    let value: unknown;
    try {
      if (fn.kind === 'reduce') {
        value = records[0];
        for (let i = 1; i < records.length; i++) value = fn.reduce(value, records[i]);
      } else {
        let accumulator = fn.aggregate.createAccumulator();
        for (const record of records) accumulator = fn.aggregate.add(record, accumulator);
        value = fn.aggregate.getResult(accumulator);
      }
    } catch (error) {
      throw this.userError(error, fn.kind);
    }
    if (fn.process === undefined) this.collect(value);
    else this.#process(window, [value]);
  }

  #process(window: Window, elements: readonly unknown[]): void {
    const ctx = this.#processContext!;
    ctx.setWindow(window);
    let returned: unknown;
    try {
      returned = this.#processFn!.process(this.currentKey, ctx, elements, this);
    } catch (error) {
      throw this.userError(error, 'process');
    }
    if (returned !== undefined) rejectPromise(returned, (error) => this.userError(error, 'process'));
  }

  /** Collector of the window function: results carry the window's timestamp. */
  collect(record: unknown): void {
    this.recordsOut++;
    // Re-applied every time: a chained operator downstream may have changed it.
    this.context.time.value = this.#emitTimestamp;
    this.output.collect(record);
  }

  /** Adds `record` to the contents under `namespace`; true when they held something before. */
  #add(namespace: string, record: unknown): boolean {
    try {
      return this.#contents.add(namespace, record);
    } catch (error) {
      throw this.userError(error, this.#addPhase);
    }
  }

  #onElement(record: unknown, timestamp: number, window: Window): TriggerResult {
    const ctx = this.#triggerContext;
    ctx.setWindow(window);
    let result: unknown;
    try {
      result = this.#trigger.onElement(record, timestamp, window, ctx);
    } catch (error) {
      throw this.userError(error, 'trigger.onElement');
    }
    return this.#checkResult(result, 'onElement');
  }

  #checkResult(result: unknown, method: string): TriggerResult {
    switch (result) {
      case 'CONTINUE':
      case 'FIRE':
      case 'PURGE':
      case 'FIRE_AND_PURGE':
        return result;
    }
    throw this.userError(
      new TypeError(`${this.#trigger.toString()}.${method} returned ${String(result)}, expected a TriggerResult (CONTINUE, FIRE, PURGE or FIRE_AND_PURGE)`),
      `trigger.${method}`,
    );
  }

  #clearTrigger(window: Window): void {
    const ctx = this.#triggerContext;
    ctx.setWindow(window);
    try {
      this.#trigger.clear(window, ctx);
    } catch (error) {
      throw this.userError(error, 'trigger.clear');
    }
  }

  #clearFunctionState(window: Window): void {
    const clear = this.#processFn?.clear;
    if (clear === undefined) return;
    const ctx = this.#processContext!;
    ctx.setWindow(window);
    let returned: unknown;
    try {
      returned = clear.call(this.#processFn, ctx);
    } catch (error) {
      throw this.userError(error, 'clear');
    }
    if (returned !== undefined) rejectPromise(returned, (error) => this.userError(error, 'clear'));
  }

  /**
   * When a window is purged for good: event time, its end + allowed lateness; processing time,
   * its end. +∞ (never) for the global window.
   */
  #cleanupTime(window: Window): number {
    const max = window.maxTimestamp();
    if (max >= Number.MAX_SAFE_INTEGER) return Infinity;
    return this.#isEventTime ? max + this.#lateness : max;
  }

  #registerCleanupTimer(window: Window): void {
    const time = this.#cleanupTime(window);
    if (time === Infinity) return;
    if (this.#isEventTime) this.timers.registerEventTimeTimer(window.namespace, time);
    else this.timers.registerProcessingTimeTimer(window.namespace, time);
  }

  #deleteCleanupTimer(window: Window): void {
    const time = this.#cleanupTime(window);
    if (time === Infinity) return;
    if (this.#isEventTime) this.timers.deleteEventTimeTimer(window.namespace, time);
    else this.timers.deleteProcessingTimeTimer(window.namespace, time);
  }

  #missingTimestamp(): WeirError {
    return new WeirError(
      'WEIR_INVALID_TIMESTAMP',
      `operator '${this.node.uid}' (${this.node.name}) subtask ${this.context.subtaskIndex}: a record has no event timestamp, which event-time windows need: assign timestamps with a WatermarkStrategy (env.fromSource(source, strategy, name) or assignTimestampsAndWatermarks), or use a processing-time window assigner`,
      { context: { operatorId: this.node.uid, operatorName: this.node.name, subtaskIndex: this.context.subtaskIndex } },
    );
  }

  override async close(): Promise<void> {
    try {
      await this.#processFn?.close?.();
    } catch (error) {
      throw this.userError(error, 'close');
    } finally {
      await super.close();
    }
  }
}
