/**
 * The subtask's processing-time service (Flink's ProcessingTimeService): callbacks registered
 * for a wall-clock time (ms since the epoch) run from the subtask's own loop, between records,
 * once that time has passed — never concurrently with record processing. The run loops call
 * `fireDue()` every turn and sleep no longer than `msUntilNext()`. Subtask worker thread.
 */
import { TimerQueue } from './timer-queue.ts';

export type ProcessingTimeCallback = (time: number) => void;

interface Scheduled {
  readonly time: number;
  readonly callback: ProcessingTimeCallback;
  canceled: boolean;
}

/** Cancels a registered callback (no effect once it ran). */
export interface ScheduledTimer {
  cancel(): void;
}

export class ProcessingTimeService {
  readonly #queue = new TimerQueue<Scheduled>();
  readonly #clock: () => number;

  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  /** Current processing time, ms since the epoch. */
  now(): number {
    return this.#clock();
  }

  register(time: number, callback: ProcessingTimeCallback): ScheduledTimer {
    const entry: Scheduled = { time, callback, canceled: false };
    this.#queue.push(entry);
    return {
      cancel: () => {
        entry.canceled = true;
      },
    };
  }

  /** Milliseconds until the earliest callback is due (0: due now; +∞: none). */
  msUntilNext(): number {
    const next = this.#queue.peekTime();
    return next === Infinity ? Infinity : Math.max(0, next - this.#clock());
  }

  /**
   * Runs every callback due by now, earliest first; callbacks registered meanwhile for a time
   * already past run in the same call. Returns how many ran.
   */
  fireDue(): number {
    if (this.#queue.size === 0) return 0;
    const now = this.#clock();
    let fired = 0;
    while (this.#queue.size > 0 && this.#queue.peekTime() <= now) {
      const entry = this.#queue.pop()!;
      if (entry.canceled) continue;
      fired++;
      entry.callback(entry.time);
    }
    return fired;
  }

  /** Drops every pending callback (the subtask ends). */
  clear(): void {
    this.#queue.clear();
  }
}
