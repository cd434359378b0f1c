/**
 * Keyed timers (Flink's InternalTimerService): event-time and processing-time timers per key
 * and namespace, at most one per (key, namespace, time, domain). Every timer is keyed state —
 * one MapState entry under its key, so it is checkpointed, restored and rescaled with the key
 * group by either backend — and also sits in an in-memory queue per domain that decides what
 * fires next. Event-time timers fire when the watermark reaches them; processing-time timers
 * through the subtask's ProcessingTimeService. A keyed operator owns one; worker thread.
 */
import { WeirError } from '../../errors.ts';
import type { CanonicalKey } from '../../state/key-groups.ts';
import type { KeyedStateBackend } from '../../state/keyed-state-backend.ts';
import type { MapState } from '../../state/state.ts';
import type { ProcessingTimeService, ScheduledTimer } from './processing-time-service.ts';
import { TimerQueue } from './timer-queue.ts';

export type TimeDomain = 'event-time' | 'processing-time';

export interface InternalTimer {
  readonly time: number;
  /** The key as the key selector returned it, its canonical form and key group. */
  readonly key: unknown;
  readonly canonical: CanonicalKey;
  readonly keyGroup: number;
  /** '' for process functions; the window for window operators. */
  readonly namespace: string;
  readonly domain: TimeDomain;
}

/** The key a timer is registered under: the operator's current key. */
export interface CurrentKey {
  readonly key: unknown;
  readonly canonical: CanonicalKey;
  readonly keyGroup: number;
}

/** What fires: the owning operator, called with the timer's key set as the current key. */
export interface Triggerable {
  onEventTime(timer: InternalTimer): void;
  onProcessingTime(timer: InternalTimer): void;
}

/** The reserved keyed-state name timers are stored under. */
export const TIMER_STATE_NAME = '__weir.timers';

/** Stored per timer: [domain 0 event / 1 processing, namespace, time, user key]. */
type StoredTimer = [domain: 0 | 1, namespace: string, time: number, key: unknown];

export class KeyedTimerService {
  readonly #backend: KeyedStateBackend;
  readonly #processingTime: ProcessingTimeService;
  readonly #currentKey: () => CurrentKey;
  readonly #setKey: (timer: InternalTimer) => void;
  #target: Triggerable | undefined;
  #state: MapState<string, StoredTimer> | undefined;
  /** Live timers by id; a queued timer no longer here (deleted, or re-registered) is skipped. */
  readonly #live = new Map<string, InternalTimer>();
  readonly #eventQueue = new TimerQueue<InternalTimer>();
  readonly #processingQueue = new TimerQueue<InternalTimer>();
  #scheduled: { time: number; timer: ScheduledTimer } | undefined;
  #watermark = -Infinity;

  constructor(
    backend: KeyedStateBackend,
    processingTime: ProcessingTimeService,
    currentKey: () => CurrentKey,
    setKey: (timer: InternalTimer) => void,
  ) {
    this.#backend = backend;
    this.#processingTime = processingTime;
    this.#currentKey = currentKey;
    this.#setKey = setKey;
  }

  /** Who is called when timers fire (the operator, once open). */
  setTarget(target: Triggerable): void {
    this.#target = target;
    this.#schedule();
  }

  get currentWatermark(): number {
    return this.#watermark;
  }

  currentProcessingTime(): number {
    return this.#processingTime.now();
  }

  /** Timers pending, both domains (for tests and metrics). */
  get size(): number {
    return this.#live.size;
  }

  registerEventTimeTimer(namespace: string, time: number): void {
    this.#register('event-time', namespace, time);
  }

  registerProcessingTimeTimer(namespace: string, time: number): void {
    this.#register('processing-time', namespace, time);
    this.#schedule();
  }

  deleteEventTimeTimer(namespace: string, time: number): void {
    this.#delete('event-time', namespace, time);
  }

  deleteProcessingTimeTimer(namespace: string, time: number): void {
    this.#delete('processing-time', namespace, time);
  }

  /** The watermark advanced: fire every event-time timer at or before it, earliest first. */
  advanceWatermark(watermark: number): void {
    if (watermark <= this.#watermark) return;
    this.#watermark = watermark;
    const queue = this.#eventQueue;
    while (queue.size > 0 && queue.peekTime() <= watermark) {
      const timer = queue.pop()!;
      if (!this.#take(timer)) continue;
      this.#target?.onEventTime(timer);
    }
  }

  /**
   * After the backend restored its key groups: reload every stored timer into the queues (the
   * timers of key groups this subtask now owns, whatever subtask registered them).
   */
  restore(): void {
    const stored = this.#backend.keys(TIMER_STATE_NAME);
    if (stored.length === 0) return;
    const state = this.#mapState();
    for (const { key: canonical, keyGroup } of stored) {
      this.#backend.setCurrentKey(canonical, keyGroup);
      for (const [, [domain, namespace, time, key]] of state.entries()) {
        const timer: InternalTimer = { time, key, canonical, keyGroup, namespace, domain: domain === 0 ? 'event-time' : 'processing-time' };
        this.#live.set(timerId(canonical, keyGroup, stateKey(timer.domain, namespace, time)), timer);
        (domain === 0 ? this.#eventQueue : this.#processingQueue).push(timer);
      }
    }
    this.#schedule();
  }

  /** The subtask ends: no processing-time callback may run after it. */
  dispose(): void {
    this.#scheduled?.timer.cancel();
    this.#scheduled = undefined;
  }

  #register(domain: TimeDomain, namespace: string, time: number): void {
    if (typeof time !== 'number' || Number.isNaN(time)) {
      throw new WeirError('WEIR_INVALID_TIMESTAMP', `a ${domain} timer needs a time in milliseconds, got ${String(time)}`);
    }
    const { key, canonical, keyGroup } = this.#currentKey();
    const entry = stateKey(domain, namespace, time);
    const id = timerId(canonical, keyGroup, entry);
    if (this.#live.has(id)) return; // one timer per key, namespace, time and domain
    const timer: InternalTimer = { time, key, canonical, keyGroup, namespace, domain };
    this.#live.set(id, timer);
    this.#mapState().put(entry, [domain === 'event-time' ? 0 : 1, namespace, time, key]);
    (domain === 'event-time' ? this.#eventQueue : this.#processingQueue).push(timer);
  }

  #delete(domain: TimeDomain, namespace: string, time: number): void {
    const { canonical, keyGroup } = this.#currentKey();
    const entry = stateKey(domain, namespace, time);
    if (!this.#live.delete(timerId(canonical, keyGroup, entry))) return;
    this.#mapState().remove(entry);
    // The queued entry stays and is skipped when it comes up (it is no longer live).
  }

  /** True when `timer` is still live: then it is removed (from memory and state) and its key set. */
  #take(timer: InternalTimer): boolean {
    const entry = stateKey(timer.domain, timer.namespace, timer.time);
    const id = timerId(timer.canonical, timer.keyGroup, entry);
    if (this.#live.get(id) !== timer) return false;
    this.#live.delete(id);
    this.#setKey(timer);
    this.#mapState().remove(entry);
    return true;
  }

  /** Keeps one processing-time callback at the earliest live processing-time timer. */
  #schedule(): void {
    if (this.#target === undefined) return;
    const next = this.#processingQueue.peekTime();
    if (next === Infinity || (this.#scheduled !== undefined && this.#scheduled.time <= next)) return;
    this.#scheduled?.timer.cancel();
    this.#scheduled = { time: next, timer: this.#processingTime.register(next, () => this.#fireProcessingTime()) };
  }

  #fireProcessingTime(): void {
    this.#scheduled = undefined;
    const now = this.#processingTime.now();
    const queue = this.#processingQueue;
    while (queue.size > 0 && queue.peekTime() <= now) {
      const timer = queue.pop()!;
      if (!this.#take(timer)) continue;
      this.#target?.onProcessingTime(timer);
    }
    this.#schedule();
  }

  #mapState(): MapState<string, StoredTimer> {
    this.#state ??= this.#backend.getMapState<string, StoredTimer>(TIMER_STATE_NAME);
    return this.#state;
  }
}

function stateKey(domain: TimeDomain, namespace: string, time: number): string {
  return `${domain === 'event-time' ? 'e' : 'p'}${time}\u0000${namespace}`;
}

/** A timer's identity: its key (type-tagged, so 1 and '1' differ) and its state entry. */
function timerId(canonical: CanonicalKey, keyGroup: number, entry: string): string {
  return `${keyGroup}\u0000${typeof canonical}\u0000${String(canonical)}\u0000${entry}`;
}
