/**
 * The in-flight windows of one key under a merging assigner (Flink's MergingWindowSet): each
 * actual window (what triggers and timers see) maps to the window its contents are stored
 * under. A merge keeps the state window of one merged window, so its contents never move and
 * only the others' are folded in (for `process` windows, a session growing by one record must
 * not copy all its records). Kept in keyed state so it survives failures; loaded per record by
 * the WindowOperator on the subtask's worker thread.
 *
 * Stored as ValueState<number[]>: [start, end, stateStart, stateEnd] per in-flight window.
 */
import { WeirError } from '../../errors.ts';
import type { ValueState } from '../../state/state.ts';
import type { MergingWindowAssigner } from './window-assigners.ts';
import { TimeWindow } from './window.ts';

export const MERGING_STATE = '__weir.window.merging';

/**
 * Called for each merge: `mergeResult` replaces the actual windows `mergedWindows`; contents of
 * `mergedStateWindows` are to be folded into `stateWindowResult`.
 */
export type MergeFunction = (
  mergeResult: TimeWindow,
  mergedWindows: readonly TimeWindow[],
  stateWindowResult: TimeWindow,
  mergedStateWindows: readonly TimeWindow[],
) => void;

interface InFlight {
  readonly window: TimeWindow;
  readonly stateWindow: TimeWindow;
}

export class MergingWindowSet {
  readonly #state: ValueState<number[]>;
  readonly #assigner: MergingWindowAssigner<unknown, TimeWindow>;
  /** By the actual window's namespace. */
  #mapping = new Map<string, InFlight>();
  #changed = false;

  constructor(state: ValueState<number[]>, assigner: MergingWindowAssigner<unknown, TimeWindow>) {
    this.#state = state;
    this.#assigner = assigner;
  }

  /** Reads the current key's set from state (call after the key is set, before anything else). */
  load(): this {
    const mapping = new Map<string, InFlight>();
    const stored = this.#state.value();
    if (stored !== undefined) {
      for (let i = 0; i + 3 < stored.length; i += 4) {
        const window = new TimeWindow(stored[i]!, stored[i + 1]!);
        mapping.set(window.namespace, { window, stateWindow: new TimeWindow(stored[i + 2]!, stored[i + 3]!) });
      }
    }
    this.#mapping = mapping;
    this.#changed = false;
    return this;
  }

  /** Writes the set back when it changed (an empty set clears the state). */
  persist(): void {
    if (!this.#changed) return;
    this.#changed = false;
    if (this.#mapping.size === 0) {
      this.#state.clear();
      return;
    }
    const flat: number[] = [];
    for (const { window, stateWindow } of this.#mapping.values()) flat.push(window.start, window.end, stateWindow.start, stateWindow.end);
    this.#state.update(flat);
  }

  /** The window `window`'s contents are stored under; undefined when it is not in flight. */
  getStateWindow(window: TimeWindow): TimeWindow | undefined {
    return this.#mapping.get(window.namespace)?.stateWindow;
  }

  /** The in-flight windows (for tests and diagnostics). */
  windows(): TimeWindow[] {
    return [...this.#mapping.values()].map((entry) => entry.window);
  }

  /** Forgets `window` (it was purged, or it is late and never got contents). */
  retireWindow(window: TimeWindow): void {
    if (!this.#mapping.delete(window.namespace)) {
      throw new WeirError('WEIR_INTERNAL', `window ${window.toString()} is not in the in-flight window set`);
    }
    this.#changed = true;
  }

  /**
   * Adds `newWindow`, merging it with the in-flight windows it overlaps; `merge` runs for every
   * merge that involves existing windows. Returns the actual window `newWindow` ended up in.
   */
  addWindow(newWindow: TimeWindow, merge: MergeFunction): TimeWindow {
    const existing = this.#mapping.get(newWindow.namespace);
    if (existing !== undefined) return existing.window; // already in flight: nothing to merge
    const all = [...this.#mapping.values()].map((entry) => entry.window);
    all.push(newWindow);
    const merges: Array<{ result: TimeWindow; merged: TimeWindow[] }> = [];
    this.#assigner.mergeWindows(all, (merged, result) => merges.push({ result, merged: [...merged] }));

    let resultWindow = newWindow;
    let mergedNewWindow = false;
    for (const { result, merged } of merges) {
      const index = merged.indexOf(newWindow);
      if (index >= 0) {
        merged.splice(index, 1);
        mergedNewWindow = true;
        resultWindow = result;
      }
      // The first merged window keeps its state window for the result (Flink takes any one).
      const stateWindowResult = this.#mapping.get(merged[0]!.namespace)!.stateWindow;
      const mergedStateWindows: TimeWindow[] = [];
      for (const window of merged) {
        const entry = this.#mapping.get(window.namespace);
        if (entry === undefined) continue;
        this.#mapping.delete(window.namespace);
        if (!entry.stateWindow.equals(stateWindowResult)) mergedStateWindows.push(entry.stateWindow);
      }
      this.#mapping.set(result.namespace, { window: result, stateWindow: stateWindowResult });
      this.#changed = true;
      // A new window inside one existing window changes nothing: no merge to report.
      if (!(merged.length === 1 && merged[0]!.equals(result))) merge(result, merged, stateWindowResult, mergedStateWindows);
    }
    if (!mergedNewWindow) {
      // A session of its own.
      this.#mapping.set(newWindow.namespace, { window: newWindow, stateWindow: newWindow });
      this.#changed = true;
    }
    return resultWindow;
  }
}
