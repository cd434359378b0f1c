/**
 * A subtask's part in checkpoints: receives triggers and notifications from the coordinator
 * (MessagePort), takes the synchronous snapshot of its whole chain at a barrier and forwards
 * the barrier, then persists the snapshot asynchronously (compression on the libuv pool, file
 * writes with async I/O, so the subtask keeps processing) and acknowledges with state handles.
 * Also restores a chain's state before it opens. Subtask worker thread.
 */
import type { MessagePort } from 'node:worker_threads';
import { serialize, deserialize } from 'node:v8';
import { toErrorRecord, WeirError } from '../errors.ts';
import { armFaultPoint } from '../fault-points.ts';
import type { Barrier } from '../channels/frame-codec.ts';
import type { Doorbell } from '../channels/doorbell.ts';
import type { CapturedChannelState } from '../channels/channel-state-capture.ts';
import type { AlignmentStats } from '../channels/input-gate.ts';
import type { StateStore } from '../storage/state-store.ts';
import { encodeKeyedStateFile, readKeyGroups } from '../storage/state-file.ts';
import type { KeyGroupRange } from '../state/key-groups.ts';
import type { FromSubtask, OperatorAck, SubtaskRestore, ToSubtask } from './checkpoint-messages.ts';
import type { OperatorChain } from './operator-chain.ts';
import type { OperatorSnapshotData, RestoredOperatorState } from './operators/stream-operator.ts';
import { KeyedOperator } from './operators/keyed-operator.ts';

export class TaskCheckpointer {
  /** Barriers the coordinator asked this source subtask to inject, oldest first. */
  readonly triggers: Barrier[] = [];
  /** A failure from an asynchronous step that must fail the subtask (a commit that threw). */
  failure: unknown = undefined;
  readonly #chain: OperatorChain;
  readonly #store: StateStore;
  readonly #port: MessagePort;
  readonly #doorbell: Doorbell;
  readonly #subtaskIndex: number;
  /** Notifications are handled one at a time, in order. */
  #notifications: Promise<void> = Promise.resolve();
  readonly #persisting = new Set<Promise<void>>();
  /** Unaligned checkpoints waiting for their input channel state, by checkpoint id. */
  readonly #channelStates = new Map<number, (state: CapturedChannelState | undefined) => void>();

  constructor(chain: OperatorChain, store: StateStore, port: MessagePort, doorbell: Doorbell, subtaskIndex: number) {
    this.#chain = chain;
    this.#store = store;
    this.#port = port;
    this.#doorbell = doorbell;
    this.#subtaskIndex = subtaskIndex;
  }

  /** Starts listening to the coordinator and tells it this subtask is running. */
  start(): void {
    this.#port.on('message', (message: ToSubtask) => this.#onMessage(message));
    this.#send({ type: 'running' });
  }

  /**
   * The synchronous phase: snapshot every operator of the chain, then forward the barrier
   * downstream (behind every record emitted before it). Persisting runs in the background.
   */
  checkpoint(barrier: Barrier, alignment?: AlignmentStats): void {
    const started = performance.now();
    // Flink's start_delay: from the trigger to the first barrier's arrival here — before this
    // alignment (which began with that barrier) and before the synchronous phase below.
    const startDelayMs = Math.max(0, Date.now() - (alignment?.durationMs ?? 0) - barrier.timestamp);
    const snapshots: OperatorSnapshotData[] = [];
    const source = this.#chain.source?.snapshotState(barrier.checkpointId);
    if (source !== undefined) snapshots.push(source);
    for (const operator of this.#chain.operators) {
      const snapshot = operator.snapshotState(barrier.checkpointId);
      if (snapshot !== undefined) snapshots.push(snapshot);
    }
    for (const writer of this.#chain.writers) {
      writer.emitBarrier(barrier);
      writer.flush();
    }
    const syncMs = performance.now() - started;
    let channelState: Promise<CapturedChannelState | undefined> | undefined;
    if (barrier.unaligned && this.#chain.source === undefined) {
      // A newer checkpoint drops the capture of an unfinished older one.
      for (const [id, resolve] of this.#channelStates) if (id < barrier.checkpointId) resolve(undefined);
      channelState = new Promise((resolve) => this.#channelStates.set(barrier.checkpointId, resolve));
    }
    const persisting = this.#persist(barrier.checkpointId, snapshots, syncMs, startDelayMs, channelState, barrier.unaligned, alignment);
    this.#persisting.add(persisting);
    void persisting.finally(() => this.#persisting.delete(persisting));
  }

  /** Unaligned checkpoints: the input gate placed every channel's barrier; this is the in-flight data. */
  channelStateComplete(state: CapturedChannelState): void {
    const resolve = this.#channelStates.get(state.checkpointId);
    this.#channelStates.delete(state.checkpointId);
    resolve?.(state);
  }

  /** True while a snapshot is being written: the run loop then gives the event loop more turns. */
  get persisting(): boolean {
    return this.#persisting.size > 0;
  }

  /** Waits for snapshots still being written (so their acknowledgements are sent) and notifications. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#persisting, this.#notifications]);
  }

  close(): void {
    this.#port.removeAllListeners('message');
    this.#port.close();
  }

  #onMessage(message: ToSubtask): void {
    switch (message.type) {
      case 'trigger':
        this.triggers.push(message.barrier);
        this.#doorbell.wake();
        return;
      case 'complete':
        this.#notifications = this.#notifications.then(() => this.#notifyComplete(message.checkpointId));
        return;
      case 'abort':
        return;
      case 'fault':
        armFaultPoint(message.point, message.occurrence);
        return;
    }
  }

  async #notifyComplete(checkpointId: number): Promise<void> {
    if (this.failure !== undefined) return;
    try {
      for (const operator of this.#chain.operators) await operator.notifyCheckpointComplete(checkpointId);
    } catch (error) {
      this.failure = error;
      this.#doorbell.wake();
    }
  }

  async #persist(
    checkpointId: number,
    snapshots: OperatorSnapshotData[],
    syncMs: number,
    startDelayMs: number,
    channelState: Promise<CapturedChannelState | undefined> | undefined,
    unaligned: boolean,
    alignment: AlignmentStats | undefined,
  ): Promise<void> {
    const started = performance.now();
    try {
      const operators: OperatorAck[] = [];
      let stateBytes = 0;
      let persistedBytes = 0;
      let inFlightBytes = 0;
      for (const snapshot of snapshots) {
        const base = `${snapshot.uid}-${this.#subtaskIndex}`;
        const ack: {
          uid: string;
          keyGroupRange?: KeyGroupRange;
          keyed?: OperatorAck['keyed'];
          sstFiles?: OperatorAck['sstFiles'];
          operatorState?: OperatorAck['operatorState'];
        } = {
          uid: snapshot.uid,
        };
        if (snapshot.keyGroupRange !== undefined) ack.keyGroupRange = snapshot.keyGroupRange;
        if (snapshot.sstFiles !== undefined) {
          const shared = this.#store.shared;
          if (shared === undefined) throw new WeirError('WEIR_INTERNAL', `'${snapshot.uid}' checkpoints SST files, but the checkpoint storage has no shared dir`);
          const persisted = await snapshot.sstFiles(shared);
          if (persisted.files.length > 0) ack.sstFiles = persisted.files;
          stateBytes += persisted.stateBytes;
          persistedBytes += persisted.uploadedBytes;
        }
        if (snapshot.keyedBlocks !== undefined && snapshot.keyedBlocks.length > 0) {
          const file = await encodeKeyedStateFile(snapshot.keyedBlocks);
          const keyed = await this.#store.writeState(checkpointId, `${base}.keyed`, file);
          ack.keyed = keyed;
          stateBytes += keyed.bytes;
          persistedBytes += keyed.bytes;
        }
        if (snapshot.operatorState !== undefined && snapshot.operatorState.length > 0) {
          const list = await this.#store.writeState(checkpointId, `${base}.list`, serialize(snapshot.operatorState));
          ack.operatorState = list;
          stateBytes += list.bytes;
          persistedBytes += list.bytes;
        }
        operators.push(ack);
      }
      if (channelState !== undefined) {
        const state = await channelState;
        if (state === undefined) throw new WeirError('WEIR_CHECKPOINT_FAILED', `checkpoint ${checkpointId} was subsumed before its channel state was complete`);
        const bytes = state.channels.reduce((sum, c) => sum + c.length, 0);
        if (bytes > 0) {
          const uid = this.#chain.operators[0]!.node.uid;
          const handle = await this.#store.writeState(checkpointId, `${uid}-${this.#subtaskIndex}.channels`, serialize(state.channels));
          const existing = operators.findIndex((a) => a.uid === uid);
          const base = existing >= 0 ? operators[existing]! : { uid };
          const ack: OperatorAck = { ...base, inputChannelState: handle };
          if (existing >= 0) operators[existing] = ack;
          else operators.push(ack);
          stateBytes += handle.bytes;
          persistedBytes += handle.bytes;
          inFlightBytes = bytes;
        }
      }
      this.#send({ type: 'ack', checkpointId, operators, syncMs, asyncMs: performance.now() - started, startDelayMs, stateBytes, persistedBytes, inFlightBytes, unaligned,
        alignmentMs: alignment?.durationMs ?? 0,
        processedBytes: alignment?.processedBytes ?? 0,
      });
    } catch (error) {
      const record = toErrorRecord(error);
      this.#send({ type: 'decline', checkpointId, reason: `${record.code ?? record.name}: ${record.message}` });
    }
  }

  #send(message: FromSubtask): void {
    try {
      this.#port.postMessage(message);
    } catch {
      // The coordinator closed the port (the attempt is over): nothing to tell.
    }
  }
}

/** Reads a chain's restored state and hands each operator its part; before the chain opens. */
export async function restoreChain(
  chain: OperatorChain,
  restore: SubtaskRestore,
  store: StateStore,
): Promise<void> {
  const targets = [...(chain.source === undefined ? [] : [chain.source]), ...chain.operators];
  for (const target of targets) {
    const entry = restore.operators[target.node.uid];
    if (entry === undefined) continue;
    const keyedBlocks = [];
    // A file of another parallelism may hold key groups this subtask does not own: decompress
    // only the owned ones (the operator filters again, so this is an optimisation).
    const range = target instanceof KeyedOperator ? target.keyGroupRange : undefined;
    const owned = range === undefined ? () => true : (keyGroup: number) => keyGroup >= range.start && keyGroup <= range.end;
    for (const handle of entry.keyed) {
      const file = await store.readState(handle);
      try {
        keyedBlocks.push(...readKeyGroups(file, owned));
      } catch (error) {
        throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `keyed state file ${handle.path || '(inline)'} of '${target.node.uid}' is corrupt: ${(error as Error).message}`, {
          cause: error,
          context: { checkpointId: restore.checkpointId, operatorId: target.node.uid },
        });
      }
    }
    const state: RestoredOperatorState = { keyedBlocks, sstSnapshots: entry.sstSnapshots ?? [], shared: store.shared, operatorState: entry.operatorState };
    await target.restoreState(state);
  }
}

/** Decodes a persisted operator list state (v8 serialization of an array). */
export function decodeListState(bytes: Uint8Array): unknown[] {
  const value = deserialize(bytes) as unknown;
  if (!Array.isArray(value)) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', 'operator list state is not a list');
  return value;
}
