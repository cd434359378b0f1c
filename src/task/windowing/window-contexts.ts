/**
 * The contexts the WindowOperator hands to triggers (TriggerContext, OnMergeContext) and to
 * ProcessWindowFunctions (ProcessWindowContext): one object each per operator, re-pointed at the
 * current window before every call, so nothing is allocated per record. Timers and state they
 * give out are scoped to the current key (set by the operator) and window. Subtask worker thread.
 */
import { WeirError } from '../../errors.ts';
import type { OutputTag } from '../functions.ts';
import type { AggregateFunction, ReduceFunction } from '../../state/state.ts';
import type { KeyedTimerService } from '../time/keyed-timer-service.ts';
import type { KeyedStateStore, ProcessWindowContext } from './process-window-function.ts';
import type { OnMergeContext } from './triggers.ts';
import { GlobalWindow, type Window } from './window.ts';
import type { WindowStateStore } from './window-state-store.ts';

export class WindowTriggerContext implements OnMergeContext {
  readonly #timers: KeyedTimerService;
  readonly #store: WindowStateStore;
  #window: Window = GlobalWindow.get();
  /** The windows being merged into the current one; set only around `onMerge`. */
  mergedWindows: readonly Window[] = [];

  constructor(timers: KeyedTimerService, store: WindowStateStore) {
    this.#timers = timers;
    this.#store = store;
  }

  /** Points timers and state at `window` (the key is already current). */
  setWindow(window: Window): void {
    this.#window = window;
    this.#store.namespace = window.namespace;
  }

  getCurrentProcessingTime(): number {
    return this.#timers.currentProcessingTime();
  }

  getCurrentWatermark(): number {
    return this.#timers.currentWatermark;
  }

  registerEventTimeTimer(time: number): void {
    this.#timers.registerEventTimeTimer(this.#window.namespace, time);
  }

  registerProcessingTimeTimer(time: number): void {
    this.#timers.registerProcessingTimeTimer(this.#window.namespace, time);
  }

  deleteEventTimeTimer(time: number): void {
    this.#timers.deleteEventTimeTimer(this.#window.namespace, time);
  }

  deleteProcessingTimeTimer(time: number): void {
    this.#timers.deleteProcessingTimeTimer(this.#window.namespace, time);
  }

  getValueState<T>(name: string) {
    return this.#store.getValueState<T>(name);
  }

  getListState<T>(name: string) {
    return this.#store.getListState<T>(name);
  }

  getMapState<K, V>(name: string) {
    return this.#store.getMapState<K, V>(name);
  }

  getReducingState<T>(name: string, reduce: ReduceFunction<T>) {
    return this.#store.getReducingState<T>(name, reduce);
  }

  getAggregatingState<IN, ACC, OUT>(name: string, aggregate: AggregateFunction<IN, ACC, OUT>) {
    return this.#store.getAggregatingState<IN, ACC, OUT>(name, aggregate);
  }

  mergeReducingState<T>(name: string, reduce: ReduceFunction<T>): void {
    this.#merge(name, (a, b) => reduce(a as T, b as T));
  }

  mergeAggregatingState<IN, ACC, OUT>(name: string, aggregate: AggregateFunction<IN, ACC, OUT>): void {
    if (typeof aggregate?.merge !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `mergeAggregatingState('${name}') needs an AggregateFunction with merge(a, b)`);
    }
    this.#merge(name, (a, b) => aggregate.merge!(a as ACC, b as ACC));
  }

  mergeListState(name: string): void {
    this.#merge(name, (a, b) => (a as unknown[]).concat(b as unknown[]));
  }

  #merge(name: string, combine: (a: unknown, b: unknown) => unknown): void {
    this.#store.merge(
      name,
      this.#window.namespace,
      this.mergedWindows.map((window) => window.namespace),
      combine,
    );
  }
}

export class WindowProcessContext implements ProcessWindowContext<Window> {
  readonly #timers: KeyedTimerService;
  readonly #windowStore: WindowStateStore;
  readonly #globalStore: KeyedStateStore;
  readonly #emitSide: (tag: string, value: unknown) => void;
  /** Merging windows change as they merge: no state can be scoped to one (Flink forbids it too). */
  readonly #merging: boolean;
  #window: Window = GlobalWindow.get();

  constructor(
    timers: KeyedTimerService,
    windowStore: WindowStateStore,
    globalStore: KeyedStateStore,
    emitSide: (tag: string, value: unknown) => void,
    merging: boolean,
  ) {
    this.#timers = timers;
    this.#windowStore = windowStore;
    this.#globalStore = globalStore;
    this.#emitSide = emitSide;
    this.#merging = merging;
  }

  setWindow(window: Window): void {
    this.#window = window;
    this.#windowStore.namespace = window.namespace;
  }

  get window(): Window {
    return this.#window;
  }

  currentProcessingTime(): number {
    return this.#timers.currentProcessingTime();
  }

  currentWatermark(): number {
    return this.#timers.currentWatermark;
  }

  windowState(): KeyedStateStore {
    if (this.#merging) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'windowState() is not available with merging (session) windows, whose windows change as they merge: use globalState()');
    }
    return this.#windowStore;
  }

  globalState(): KeyedStateStore {
    return this.#globalStore;
  }

  output<X>(tag: OutputTag<X>, value: X): void {
    if (typeof (tag as { id?: unknown } | null)?.id !== 'string') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'output() expects an OutputTag as its first argument');
    }
    this.#emitSide(tag.id, value);
  }
}
