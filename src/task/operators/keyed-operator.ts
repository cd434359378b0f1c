/**
 * The base of operators on a keyed stream: extracts each record's key, maps it to its key
 * group and scopes the operator's state backend to it before the record is processed. Owns
 * one keyed state backend (heap or LSM) holding this subtask's key-group range. Runs on the
 * subtask's worker thread.
 */
import { WeirError } from '../../errors.ts';
import { canonicalKey, keyGroupOf, keyGroupRangeFor, type KeyGroupRange } from '../../state/key-groups.ts';
import { openKeyedStateBackend, type OpenedBackend, type SstRestore } from '../../state/state-backend-factory.ts';
import type { KeyedStateBackend } from '../../state/keyed-state-backend.ts';
import type { KeySelector, RuntimeContext } from '../functions.ts';
import type { CanonicalKey } from '../../state/key-groups.ts';
import { KeyedTimerService, type CurrentKey, type InternalTimer, type Triggerable } from '../time/keyed-timer-service.ts';
import type { StreamNode } from '../../graph/job-graph.ts';
import {
  StreamOperator,
  type OperatorContext,
  type OperatorSnapshotData,
  type Output,
  type RestoredOperatorState,
} from './stream-operator.ts';

export abstract class KeyedOperator<I, O> extends StreamOperator<I, O> implements Triggerable {
  /** Set by initializeState(), before anything else touches state. */
  protected backend!: KeyedStateBackend;
  #opened: OpenedBackend | undefined;
  readonly #keySelector: KeySelector<unknown, unknown>;
  /** The current record's key as the selector returned it. */
  protected currentKey: unknown = undefined;
  #currentCanonical: CanonicalKey | undefined;
  #currentKeyGroup = -1;
  #timers: KeyedTimerService | undefined;

  constructor(node: StreamNode, context: OperatorContext, output: Output<O>, keySelector?: KeySelector<unknown, unknown>) {
    super(node, context, output);
    this.#keySelector = keySelector ?? (node.transformation as { keySelector: KeySelector<unknown, unknown> }).keySelector;
  }

  override async initializeState(): Promise<void> {
    this.#opened = await this.#open(undefined);
    this.backend = this.#opened.backend;
    this.#timers = this.#createTimers();
  }

  /** This operator's keyed timers (stored in its backend; fired into onEventTime/onProcessingTime). */
  protected get timers(): KeyedTimerService {
    return this.#timers!;
  }

  #createTimers(): KeyedTimerService {
    const service = new KeyedTimerService(
      this.backend,
      this.context.processingTime,
      () => this.#currentKeyOrThrow(),
      (timer) => {
        this.currentKey = timer.key;
        this.#currentCanonical = timer.canonical;
        this.#currentKeyGroup = timer.keyGroup;
        this.backend.setCurrentKey(timer.canonical, timer.keyGroup);
      },
    );
    service.setTarget(this);
    return service;
  }

  #currentKeyOrThrow(): CurrentKey {
    if (this.#currentCanonical === undefined) {
      throw new WeirError('WEIR_STATE_ACCESS_OUTSIDE_KEY', `operator '${this.node.uid}' used timers outside of a keyed context (no current key)`);
    }
    return { key: this.currentKey, canonical: this.#currentCanonical, keyGroup: this.#currentKeyGroup };
  }

  /** Fires event-time timers up to the watermark, then hands the watermark on (Flink's order). */
  override processWatermark(timestamp: number): void {
    this.#timers!.advanceWatermark(timestamp);
    this.afterTimers(timestamp);
    this.output.emitWatermark(timestamp);
  }

  /** Between firing the timers up to a watermark and handing it on (user onWatermark hooks). */
  protected afterTimers(_watermark: number): void {}

  /** An event-time timer of the current key fired; operators with timers override. */
  onEventTime(_timer: InternalTimer): void {}

  /** A processing-time timer of the current key fired; operators with timers override. */
  onProcessingTime(_timer: InternalTimer): void {}

  #open(restore: SstRestore | undefined): Promise<OpenedBackend> {
    const { subtaskIndex, parallelism, maxParallelism, stateBackend } = this.context;
    return openKeyedStateBackend(
      stateBackend,
      keyGroupRangeFor(subtaskIndex, parallelism, maxParallelism),
      maxParallelism,
      `${this.node.uid}-${subtaskIndex}`,
      restore,
    );
  }

  /** The key groups this subtask owns. */
  get keyGroupRange(): KeyGroupRange {
    return this.backend.keyGroupRange;
  }

  processElement(record: I): void {
    this.processKeyedElement(record, -1);
  }

  /**
   * Processes a record whose key group is already known (−1: compute it), as when it arrives in
   * a KEYED_RECORD frame from a hash edge. Subclasses start with `setKeyOf(record, keyGroup)`.
   */
  abstract processKeyedElement(record: I, keyGroup: number): void;

  /** Sets the current key (and key group, unless given) from `record`. */
  protected setKeyOf(record: unknown, knownKeyGroup: number, keySelector = this.#keySelector): void {
    let key: unknown;
    try {
      key = keySelector(record);
    } catch (error) {
      throw this.userError(error, 'keyBy');
    }
    let canonical;
    try {
      canonical = canonicalKey(key);
    } catch (error) {
      throw this.userError(error, 'keyBy');
    }
    const keyGroup = knownKeyGroup >= 0 ? knownKeyGroup : keyGroupOf(canonical, this.context.maxParallelism);
    const range = this.backend.keyGroupRange;
    if (keyGroup < range.start || keyGroup > range.end) {
      throw new WeirError(
        'WEIR_INTERNAL',
        `key group ${keyGroup} arrived at subtask ${this.context.subtaskIndex} of '${this.node.uid}', which owns [${range.start}, ${range.end}]`,
      );
    }
    this.currentKey = key;
    this.#currentCanonical = canonical;
    this.#currentKeyGroup = keyGroup;
    this.backend.setCurrentKey(canonical, keyGroup);
  }

  /** The RuntimeContext handed to user functions' open(). */
  protected runtimeContext(): RuntimeContext {
    const backend = this.backend;
    const { subtaskIndex, parallelism, maxParallelism, params } = this.context;
    return {
      operatorId: this.node.uid,
      operatorName: this.node.name,
      subtaskIndex,
      parallelism,
      maxParallelism,
      params,
      getValueState: (name) => backend.getValueState(name),
      getListState: (name) => backend.getListState(name),
      getMapState: (name) => backend.getMapState(name),
      getReducingState: (name, reduce) => backend.getReducingState(name, reduce),
      getAggregatingState: (name, aggregate) => backend.getAggregatingState(name, aggregate),
    };
  }

  override async restoreState(state: RestoredOperatorState): Promise<void> {
    const { start, end } = this.backend.keyGroupRange;
    if (state.sstSnapshots.length > 0) {
      // The backend opened empty; reopen it on the checkpoint's files.
      await this.#opened?.close();
      this.#opened = undefined;
      this.#opened = await this.#open({ snapshots: state.sstSnapshots, shared: state.shared });
      this.backend = this.#opened.backend;
    }
    this.backend.restore(state.keyedBlocks.filter((block) => block.keyGroup >= start && block.keyGroup <= end));
    // Timers are keyed state: rebuild the queues from what the backend now holds.
    this.#timers?.dispose();
    this.#timers = this.#createTimers();
    this.#timers.restore();
  }

  override snapshotState(checkpointId: number): OperatorSnapshotData {
    const sstSnapshots = this.#opened?.sstSnapshots;
    if (sstSnapshots !== undefined) {
      return { uid: this.node.uid, keyGroupRange: this.backend.keyGroupRange, sstFiles: sstSnapshots.snapshot(checkpointId) };
    }
    return { uid: this.node.uid, keyGroupRange: this.backend.keyGroupRange, keyedBlocks: this.backend.snapshot() };
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    this.#opened?.sstSnapshots?.confirm(checkpointId);
  }

  override async close(): Promise<void> {
    this.#timers?.dispose();
    await this.#opened?.close();
    this.#opened = undefined;
  }
}
