/**
 * What a keyed window operator is built from (assigner, trigger, lateness, late-data tag,
 * eviction, window function): declared by WindowedStream in the API layer, validated there, and
 * run by the WindowOperator on the subtask's worker thread.
 */
import type { AggregateFunction, ReduceFunction } from '../../state/state.ts';
import type { ProcessWindowFunction } from './process-window-function.ts';
import type { Trigger } from './triggers.ts';
import type { WindowAssigner } from './window-assigners.ts';
import type { Window } from './window.ts';

export type AnyProcessWindowFunction = ProcessWindowFunction<unknown, unknown, unknown, Window>;

/** The function applied to a window: incremental (reduce, aggregate), optionally followed by a ProcessWindowFunction, or process alone. */
export type WindowFunctionSpec =
  | { readonly kind: 'reduce'; readonly reduce: ReduceFunction<unknown>; readonly process: AnyProcessWindowFunction | undefined }
  | {
      readonly kind: 'aggregate';
      readonly aggregate: AggregateFunction<unknown, unknown, unknown>;
      readonly process: AnyProcessWindowFunction | undefined;
    }
  | { readonly kind: 'process'; readonly process: AnyProcessWindowFunction };

export interface WindowSpec {
  readonly assigner: WindowAssigner<unknown, Window>;
  /** The assigner's default trigger unless WindowedStream.trigger() set another. */
  readonly trigger: Trigger<unknown, Window>;
  /** Event time only: how long after its end a window still accepts records (and fires again). */
  readonly allowedLatenessMs: number;
  /** Side output for records too late for every window they belong to (undefined: dropped). */
  readonly lateDataTag: string | undefined;
  /**
   * Keep at most this many records of a window, dropping the oldest before each evaluation
   * (Flink's CountEvictor, used by countWindow(size, slide)); the window then keeps its records
   * and reduce/aggregate run over them at firing time. Undefined: no eviction.
   */
  readonly evictToCount: number | undefined;
  readonly fn: WindowFunctionSpec;
}
