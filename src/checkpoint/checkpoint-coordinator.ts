/**
 * The CheckpointCoordinator (main thread): triggers checkpoints at the sources on Flink's
 * schedule, collects every subtask's acknowledgement into a PendingCheckpoint, writes the
 * completed checkpoint's `_metadata`, subsumes old checkpoints, notifies every subtask, and
 * aborts checkpoints that expire or are declined — failing the job after too many consecutive
 * failures. It outlives job attempts: each attempt attaches its subtasks' ports.
 */
import { WeirError } from '../errors.ts';
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import type { SharedStateRegistry } from './shared-state-registry.ts';
import type { FromSubtask, OperatorAck, ToSubtask } from '../task/checkpoint-messages.ts';
import type { CheckpointConfig } from './checkpoint-config.ts';
import type { CheckpointMetadata, OperatorSnapshot, SubtaskSnapshot } from './metadata.ts';
import type { CheckpointStats } from './checkpoint-stats.ts';

export type { CheckpointStats, SubtaskCheckpointStats } from './checkpoint-stats.ts';

/** Why a checkpoint was aborted (Flink's CheckpointFailureReason, the ones that apply). */
export type CheckpointFailureReason =
  | 'EXPIRED'
  | 'DECLINED'
  | 'IO_EXCEPTION'
  | 'TASK_FINISHED'
  | 'JOB_FAILOVER'
  | 'CHECKPOINT_SUBSUMED'
  | 'COORDINATOR_SHUTDOWN'
  /** A subtask reused files of a checkpoint subsumed meanwhile (not counted: the next one succeeds). */
  | 'SHARED_FILES_RELEASED';

/** Reasons that count towards `tolerableFailures` (Flink counts these, not failover or shutdown). */
const COUNTED: ReadonlySet<CheckpointFailureReason> = new Set(['EXPIRED', 'DECLINED', 'IO_EXCEPTION']);

/** A subtask of the current attempt, as the coordinator sees it. */
export interface AttachedSubtask {
  /** `${vertexIndex}/${subtaskIndex}`. */
  readonly key: string;
  readonly subtaskIndex: number;
  readonly isSource: boolean;
  /** The job vertex's name (for statistics). */
  readonly name?: string;
  send(message: ToSubtask): void;
}

export interface CheckpointCoordinatorDeps {
  readonly storage: CheckpointStorage;
  readonly jobName: string;
  readonly maxParallelism: number;
  /** Parallelism of each operator uid in the job graph. */
  readonly parallelismOf: (uid: string) => number;
  /** Epoch clock (ms). */
  readonly now?: () => number;
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  readonly clearTimer?: (timer: unknown) => void;
  readonly random?: () => number;
  /** The first checkpoint id to use (after a restore: the restored id + 1). */
  readonly firstCheckpointId?: number;
  /** Tracks files in `shared/` (incremental state); absent for storages without one. */
  readonly sharedState?: SharedStateRegistry;
  /** Called when checkpointing must fail the job (too many consecutive failures). */
  readonly onFatal: (error: WeirError) => void;
  /** Called after each completed checkpoint (for live status). */
  readonly onCompleted?: (stats: CheckpointStats) => void;
  /** @internal Fault injection: a checkpoint was just triggered at the sources. */
  readonly onTriggered?: (checkpointId: number) => void;
  /** @internal Fault injection: `_metadata` is durable, no subtask has been notified yet. */
  readonly beforeNotify?: (checkpointId: number) => void;
}

class PendingCheckpoint {
  readonly acks = new Map<string, Extract<FromSubtask, { type: 'ack' }>>();
  latestAckTimestamp = 0;
  readonly ackTimestamps = new Map<string, number>();
  timer: unknown;
  /** Its `_metadata` is being written: it can no longer be aborted. */
  completing = false;
  constructor(
    readonly checkpointId: number,
    readonly triggerTimestamp: number,
    readonly awaiting: ReadonlySet<string>,
    readonly unaligned: boolean,
  ) {}
  get complete(): boolean {
    return this.acks.size === this.awaiting.size;
  }
}

export class CheckpointCoordinator {
  readonly config: CheckpointConfig;
  readonly #deps: CheckpointCoordinatorDeps;
  readonly #now: () => number;
  readonly #setTimer: (fn: () => void, ms: number) => unknown;
  readonly #clearTimer: (timer: unknown) => void;
  #nextId: number;
  #subtasks: AttachedSubtask[] = [];
  #running = new Set<string>();
  #finished = false;
  #attached = false;
  #triggerTimer: unknown;
  readonly #pending = new Map<number, PendingCheckpoint>();
  /** Completed checkpoints kept (oldest first), at most numRetained. */
  readonly #retained: CheckpointMetadata[] = [];
  readonly history: CheckpointStats[] = [];
  #lastCompletion = -Infinity;
  /** A periodic trigger came while maxConcurrent checkpoints were pending. */
  #queued = false;
  /** Completions whose `_metadata` is being written. */
  readonly #completing = new Set<Promise<void>>();
  #consecutiveFailures = 0;

  constructor(config: CheckpointConfig, deps: CheckpointCoordinatorDeps) {
    this.config = config;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimer = deps.clearTimer ?? ((t) => clearTimeout(t as NodeJS.Timeout));
    this.#nextId = deps.firstCheckpointId ?? 1;
  }

  /** The latest completed checkpoint, if any (what a failover restores). */
  get latest(): CheckpointMetadata | undefined {
    return this.#retained.at(-1);
  }

  /** Retained checkpoints, oldest first. */
  get retained(): readonly CheckpointMetadata[] {
    return this.#retained;
  }

  /** Registers a checkpoint restored from storage as the latest completed one. */
  adoptRestored(metadata: CheckpointMetadata): void {
    this.#retained.push(metadata);
    this.#nextId = Math.max(this.#nextId, metadata.checkpointId + 1);
  }

  /** New checkpoint ids go above `id` (a newer, unusable checkpoint may still be on disk). */
  skipIdsUpTo(id: number): void {
    this.#nextId = Math.max(this.#nextId, id + 1);
  }

  /** The id the next checkpoint will get. */
  get nextCheckpointId(): number {
    return this.#nextId;
  }

  /** An attempt starts: its subtasks; triggering begins once all report running. */
  attach(subtasks: readonly AttachedSubtask[]): void {
    this.#subtasks = [...subtasks];
    this.#running.clear();
    this.#finished = false;
    this.#queued = false;
    this.#attached = true;
  }

  /** The attempt ends (finished, failed or cancelled): abort what is pending, stop triggering. */
  detach(reason: CheckpointFailureReason): void {
    this.#attached = false;
    this.#clearTimer(this.#triggerTimer);
    this.#triggerTimer = undefined;
    for (const pending of [...this.#pending.values()]) this.#abort(pending, reason, `the job attempt ended (${reason})`);
  }

  /** A message from subtask `key`. */
  onMessage(key: string, message: FromSubtask): void {
    if (!this.#attached) return;
    switch (message.type) {
      case 'running':
        this.#running.add(key);
        if (this.#running.size === this.#subtasks.length && this.#triggerTimer === undefined) this.#scheduleFirst();
        return;
      case 'ack':
        this.#acknowledge(key, message);
        return;
      case 'decline': {
        const pending = this.#pending.get(message.checkpointId);
        if (pending !== undefined) this.#abort(pending, 'DECLINED', `subtask ${key} declined: ${message.reason}`);
        return;
      }
    }
  }

  /**
   * A subtask finished its input. Checkpoints need every subtask, so triggering stops and
   * pending ones are aborted (Flink before FLIP-147); what finished sinks prepared is
   * committed by the coordinator at the end of the job.
   */
  onSubtaskFinished(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#clearTimer(this.#triggerTimer);
    this.#triggerTimer = undefined;
    for (const pending of [...this.#pending.values()]) this.#abort(pending, 'TASK_FINISHED', 'a subtask finished before acknowledging');
  }

  /** First trigger: a random delay in [minPause, interval], as Flink does, so jobs do not align. */
  #scheduleFirst(): void {
    const { interval, minPause } = this.config;
    const random = this.#deps.random ?? Math.random;
    const delay = Math.max(minPause, Math.floor(minPause + random() * (interval - minPause)));
    this.#schedule(delay);
  }

  #schedule(delayMs: number): void {
    this.#clearTimer(this.#triggerTimer);
    this.#triggerTimer = this.#setTimer(() => this.#onTimer(), Math.max(0, delayMs));
  }

  #onTimer(): void {
    this.#triggerTimer = undefined;
    if (!this.#attached || this.#finished) return;
    const now = this.#now();
    const earliest = this.#lastCompletion + this.config.minPause;
    if (this.#pending.size >= this.config.maxConcurrent) {
      // Flink queues the request: #afterCheckpointEnded triggers as soon as one ends.
      this.#queued = true;
      return;
    }
    if (now < earliest) {
      this.#schedule(earliest - now);
      return;
    }
    this.#trigger(now);
    this.#schedule(this.config.interval);
  }

  /** A checkpoint completed or aborted: run a trigger that waited for it (maxConcurrent). */
  #afterCheckpointEnded(): void {
    if (!this.#queued || !this.#attached || this.#finished || this.#pending.size >= this.config.maxConcurrent) return;
    this.#queued = false;
    const wait = Math.max(0, this.#lastCompletion + this.config.minPause - this.#now());
    this.#schedule(wait);
  }

  #trigger(now: number): void {
    const checkpointId = this.#nextId++;
    const pending = new PendingCheckpoint(checkpointId, now, new Set(this.#subtasks.map((s) => s.key)), this.config.unaligned);
    pending.timer = this.#setTimer(
      () => this.#abort(pending, 'EXPIRED', `not completed within ${this.config.timeout} ms`),
      this.config.timeout,
    );
    this.#pending.set(checkpointId, pending);
    // With an aligned timeout, checkpoints start aligned and subtasks switch when it runs out.
    const barrier = { checkpointId, timestamp: now, kind: 0, unaligned: this.config.unaligned && this.config.alignedTimeout === undefined };
    for (const subtask of this.#subtasks) if (subtask.isSource) subtask.send({ type: 'trigger', barrier });
    this.#deps.onTriggered?.(checkpointId);
  }

  #acknowledge(key: string, ack: Extract<FromSubtask, { type: 'ack' }>): void {
    const pending = this.#pending.get(ack.checkpointId);
    // A duplicate or late ack must not complete a checkpoint twice.
    if (pending === undefined || pending.completing || !pending.awaiting.has(key) || pending.acks.has(key)) return;
    pending.acks.set(key, ack);
    pending.latestAckTimestamp = this.#now();
    pending.ackTimestamps.set(key, pending.latestAckTimestamp);
    if (pending.complete) {
      const completing = this.#complete(pending);
      this.#completing.add(completing);
      void completing.finally(() => this.#completing.delete(completing));
    }
  }

  /** Waits for checkpoints whose `_metadata` is being written (before a final commit or shutdown). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#completing]);
  }

  async #complete(pending: PendingCheckpoint): Promise<void> {
    pending.completing = true;
    this.#clearTimer(pending.timer);
    const completedTimestamp = this.#now();
    const metadata = this.#metadata(pending, completedTimestamp);
    const unknown = this.#deps.sharedState?.unknownFiles(metadata) ?? [];
    if (unknown.length > 0) {
      pending.completing = false;
      this.#abort(pending, 'SHARED_FILES_RELEASED', `it lists ${unknown.length} shared file(s) no retained checkpoint holds any more (e.g. ${unknown[0]}): a subtask reused a subsumed checkpoint's files`);
      return;
    }
    // The statistics are complete once every subtask acked: they go to storage with the
    // metadata (`_stats.json` before `_metadata`), so a completed checkpoint always has them.
    const recorded = this.#completedStats(pending, metadata, completedTimestamp);
    let externalPath: string;
    try {
      externalPath = await this.#deps.storage.commitCheckpoint(metadata, recorded);
    } catch (error) {
      pending.completing = false;
      this.#abort(pending, 'IO_EXCEPTION', `writing _stats.json and _metadata failed: ${(error as Error).message}`);
      return;
    }
    this.#pending.delete(pending.checkpointId);
    this.#consecutiveFailures = 0;
    this.#lastCompletion = completedTimestamp;
    this.#retained.push(metadata);
    await this.#deps.sharedState?.register(metadata);
    await this.#subsume();
    // Shared files of checkpoints no longer retained, and of aborted checkpoints older than this one.
    await this.#deps.sharedState?.release(this.#retained[0]?.checkpointId ?? pending.checkpointId, pending.checkpointId, this.#pending.size > 0);
    // Older pending checkpoints are subsumed by this one.
    for (const older of [...this.#pending.values()]) {
      if (older.checkpointId < pending.checkpointId) this.#abort(older, 'CHECKPOINT_SUBSUMED', `subsumed by checkpoint ${pending.checkpointId}`);
    }
    this.#deps.beforeNotify?.(pending.checkpointId);
    if (this.#attached) for (const subtask of this.#subtasks) subtask.send({ type: 'complete', checkpointId: pending.checkpointId });
    const stats: CheckpointStats = { ...recorded, externalPath };
    this.history.push(stats);
    this.#deps.onCompleted?.(stats);
    this.#afterCheckpointEnded();
  }

  /** A completed checkpoint's statistics, from its acknowledgements (externalPath is added after the commit). */
  #completedStats(pending: PendingCheckpoint, metadata: CheckpointMetadata, completedTimestamp: number): CheckpointStats {
    const acks = [...pending.acks.values()];
    const names = new Map(this.#subtasks.map((s) => [s.key, s.name]));
    return {
      id: pending.checkpointId,
      status: 'COMPLETED',
      triggerTimestamp: pending.triggerTimestamp,
      latestAckTimestamp: pending.latestAckTimestamp,
      endToEndDurationMs: completedTimestamp - pending.triggerTimestamp,
      stateSize: metadata.stats.stateBytes,
      checkpointedSize: acks.reduce((sum, a) => sum + (a.persistedBytes ?? a.stateBytes), 0),
      persistedData: acks.reduce((sum, a) => sum + (a.inFlightBytes ?? 0), 0),
      unaligned: pending.unaligned || acks.some((a) => a.unaligned === true),
      subtasks: [...pending.acks].map(([subtask, a]) => {
        const name = names.get(subtask);
        return {
          subtask,
          ...(name === undefined ? {} : { name }),
          ackTimestamp: pending.ackTimestamps.get(subtask) ?? completedTimestamp,
          startDelayMs: a.startDelayMs,
          alignmentMs: a.alignmentMs ?? 0,
          processedBytes: a.processedBytes ?? 0,
          persistedBytes: a.inFlightBytes ?? 0,
          syncMs: a.syncMs,
          asyncMs: a.asyncMs,
          checkpointedSize: a.persistedBytes ?? a.stateBytes,
          unaligned: a.unaligned === true,
        };
      }),
      numAcknowledgedSubtasks: acks.length,
      maxSyncMs: Math.max(0, ...acks.map((a) => a.syncMs)),
      maxAsyncMs: Math.max(0, ...acks.map((a) => a.asyncMs)),
      maxStartDelayMs: Math.max(0, ...acks.map((a) => a.startDelayMs)),
    };
  }

  /** Keeps numRetained completed checkpoints; deletes older ones from storage. */
  async #subsume(): Promise<void> {
    while (this.#retained.length > this.config.numRetained) {
      const oldest = this.#retained.shift()!;
      try {
        await this.#deps.storage.discardCheckpoint(oldest.checkpointId);
      } catch {
        // Leftover files of a subsumed checkpoint are garbage, not a failure; a later
        // listing ignores and reports them.
      }
    }
  }

  #metadata(pending: PendingCheckpoint, completedTimestamp: number): CheckpointMetadata {
    const byUid = new Map<string, Array<SubtaskSnapshot | undefined>>();
    let stateBytes = 0;
    for (const [key, ack] of pending.acks) {
      const subtaskIndex = this.#subtasks.find((s) => s.key === key)?.subtaskIndex ?? Number(key.split('/')[1]);
      stateBytes += ack.stateBytes;
      for (const op of ack.operators) {
        let list = byUid.get(op.uid);
        if (list === undefined) byUid.set(op.uid, (list = []));
        list[subtaskIndex] = subtaskSnapshot(op);
      }
    }
    const operators: OperatorSnapshot[] = [...byUid].map(([uid, list]) => {
      const parallelism = this.#deps.parallelismOf(uid);
      return { uid, parallelism, subtasks: Array.from({ length: parallelism }, (_, i) => list[i] ?? {}) };
    });
    return {
      version: 1,
      jobName: this.#deps.jobName,
      checkpointId: pending.checkpointId,
      kind: 'checkpoint',
      triggerTimestamp: pending.triggerTimestamp,
      completedTimestamp,
      maxParallelism: this.#deps.maxParallelism,
      operators,
      stats: { stateBytes, durationMs: completedTimestamp - pending.triggerTimestamp },
    };
  }

  #abort(pending: PendingCheckpoint, reason: CheckpointFailureReason, message: string): void {
    if (pending.completing || !this.#pending.delete(pending.checkpointId)) return;
    this.#clearTimer(pending.timer);
    if (this.#attached) for (const subtask of this.#subtasks) subtask.send({ type: 'abort', checkpointId: pending.checkpointId });
    void this.#deps.storage.discardIncomplete(pending.checkpointId).catch(() => {});
    const failureMessage = `checkpoint ${pending.checkpointId} aborted (${reason}): ${message}`;
    this.history.push({
      id: pending.checkpointId,
      status: 'FAILED',
      triggerTimestamp: pending.triggerTimestamp,
      latestAckTimestamp: pending.latestAckTimestamp,
      endToEndDurationMs: this.#now() - pending.triggerTimestamp,
      stateSize: 0,
      checkpointedSize: 0,
      persistedData: 0,
      unaligned: pending.unaligned,
      subtasks: [],
      numAcknowledgedSubtasks: pending.acks.size,
      failureMessage,
      maxSyncMs: 0,
      maxAsyncMs: 0,
      maxStartDelayMs: 0,
    });
    if (!COUNTED.has(reason)) {
      this.#afterCheckpointEnded();
      return;
    }
    this.#consecutiveFailures++;
    if (this.#consecutiveFailures > this.config.tolerableFailures) {
      this.#deps.onFatal(
        new WeirError(
          'WEIR_CHECKPOINT_FAILED',
          `${this.#consecutiveFailures} consecutive checkpoint failure(s), more than checkpointing.tolerableFailures (${this.config.tolerableFailures}); last: ${failureMessage}`,
          { context: { checkpointId: pending.checkpointId, reason } },
        ),
      );
      return;
    }
    this.#afterCheckpointEnded();
  }
}

function subtaskSnapshot(op: OperatorAck): SubtaskSnapshot {
  const snapshot: {
    keyGroupRange?: OperatorAck['keyGroupRange'];
    keyed?: OperatorAck['keyed'];
    sstFiles?: OperatorAck['sstFiles'];
    operatorState?: OperatorAck['operatorState'];
    inputChannelState?: OperatorAck['inputChannelState'];
  } = {};
  if (op.keyGroupRange !== undefined) snapshot.keyGroupRange = op.keyGroupRange;
  if (op.keyed !== undefined) snapshot.keyed = op.keyed;
  if (op.sstFiles !== undefined) snapshot.sstFiles = op.sstFiles;
  if (op.inputChannelState !== undefined) snapshot.inputChannelState = op.inputChannelState;
  if (op.operatorState !== undefined) snapshot.operatorState = op.operatorState;
  return snapshot;
}
