/**
 * The windows records are grouped into (Flink's Window, TimeWindow, GlobalWindow), and the
 * namespace string each window's keyed state and timers are stored under. Values built by
 * assigners on the subtask's worker thread; also handed to user functions and triggers.
 */
import { WeirError } from '../../errors.ts';

/** A group of records that is evaluated together; `maxTimestamp()` is the last event time it covers. */
export abstract class Window {
  /** The largest timestamp that still belongs to this window (the timestamp of its results). */
  abstract maxTimestamp(): number;
  /**
   * @internal The string this window's state and timers are stored under (unique per window of
   * one assigner, stable across restarts).
   */
  abstract get namespace(): string;
}

/** A window of time [start, end): start inclusive, end exclusive, milliseconds. */
export class TimeWindow extends Window {
  readonly start: number;
  readonly end: number;
  #namespace: string | undefined;

  constructor(start: number, end: number) {
    super();
    this.start = start;
    this.end = end;
  }

  /** `end − 1`: the last millisecond in the window. */
  maxTimestamp(): number {
    return this.end - 1;
  }

  /** @internal `start:end`, computed once per window object. */
  get namespace(): string {
    return (this.#namespace ??= `${this.start}:${this.end}`);
  }

  /** True when the windows overlap or touch (Flink: `start <= other.end && end >= other.start`). */
  intersects(other: TimeWindow): boolean {
    return this.start <= other.end && this.end >= other.start;
  }

  /** The smallest window containing both. */
  cover(other: TimeWindow): TimeWindow {
    return new TimeWindow(Math.min(this.start, other.start), Math.max(this.end, other.end));
  }

  equals(other: unknown): boolean {
    return other instanceof TimeWindow && other.start === this.start && other.end === this.end;
  }

  override toString(): string {
    return `TimeWindow{start=${this.start}, end=${this.end}}`;
  }

  /**
   * The start of the window of `windowSize` ms (aligned to the epoch plus `offset`) that holds
   * `timestamp`; negative timestamps included (Flink's getWindowStartWithOffset).
   */
  static getWindowStartWithOffset(timestamp: number, offset: number, windowSize: number): number {
    const remainder = (timestamp - offset) % windowSize;
    // % keeps the dividend's sign: a negative remainder belongs to the window one size earlier.
    return remainder < 0 ? timestamp - (remainder + windowSize) : timestamp - remainder;
  }

  /**
   * Merges overlapping (or touching) windows: sorted by start, each run of intersecting windows
   * becomes their cover; `callback(merged, result)` is called for every run of two or more.
   */
  static mergeWindows(windows: readonly TimeWindow[], callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void): void {
    const sorted = [...windows].sort((a, b) => a.start - b.start || a.end - b.end);
    let cover: TimeWindow | undefined;
    let run: TimeWindow[] = [];
    for (const candidate of sorted) {
      if (cover !== undefined && cover.intersects(candidate)) {
        cover = cover.end >= candidate.end && cover.start <= candidate.start ? cover : cover.cover(candidate);
        run.push(candidate);
        continue;
      }
      if (cover !== undefined && run.length > 1) callback(run, cover);
      cover = candidate;
      run = [candidate];
    }
    if (cover !== undefined && run.length > 1) callback(run, cover);
  }
}

/** The single window of GlobalWindows: every record of a key, for count windows and custom triggers. */
export class GlobalWindow extends Window {
  static readonly #instance = new GlobalWindow();

  private constructor() {
    super();
  }

  static get(): GlobalWindow {
    return GlobalWindow.#instance;
  }

  /** The end of time (Flink: Long.MAX_VALUE): Number.MAX_SAFE_INTEGER, so results keep a finite timestamp. */
  maxTimestamp(): number {
    return Number.MAX_SAFE_INTEGER;
  }

  /** @internal */
  get namespace(): string {
    return GLOBAL_NAMESPACE;
  }

  override toString(): string {
    return 'GlobalWindow';
  }
}

const GLOBAL_NAMESPACE = 'global';

/** @internal The window a stored namespace stands for (timers carry only the namespace). */
export function windowFromNamespace(namespace: string): TimeWindow | GlobalWindow {
  if (namespace === GLOBAL_NAMESPACE) return GlobalWindow.get();
  const colon = namespace.indexOf(':', 1); // a negative start begins with '-', never with ':'
  const start = Number(namespace.slice(0, colon));
  const end = Number(namespace.slice(colon + 1));
  if (colon < 0 || Number.isNaN(start) || Number.isNaN(end)) {
    throw new WeirError('WEIR_INTERNAL', `'${namespace}' is not a window namespace`);
  }
  return new TimeWindow(start, end);
}
