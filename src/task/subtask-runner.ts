/**
 * Runs one subtask to its end on a worker thread: loads the job module, rebuilds the job graph,
 * builds this vertex's operator chain and drives it — from its source, or from its input gate —
 * until end of input, failure or cancellation. Called by worker-entry.ts (the piscina task).
 */
import { toErrorRecord, WeirError } from '../errors.ts';
import { buildJobGraph } from '../graph/job-graph.ts';
import { loadKeyHasher } from '../state/key-groups.ts';
import { loadJobDefinition } from '../graph/job-definition.ts';
import { InputGate, type InputHandler } from '../channels/input-gate.ts';
import { recordCodecByName, type RecordCodec } from '../channels/record-codec.ts';
import { replayChannelState } from '../channels/channel-state-capture.ts';
import { deserialize } from 'node:v8';
import { Doorbell } from '../channels/doorbell.ts';
import { createOperatorChain, type OperatorChain } from './operator-chain.ts';
import { isWeirError } from './operators/stream-operator.ts';
import { KeyedOperator } from './operators/keyed-operator.ts';
import { SinkOperator } from './operators/sink-operator.ts';
import { TaskControl } from './task-control.ts';
import { restoreChain, TaskCheckpointer } from './task-checkpointer.ts';
import { openStateStore, type StateStore } from '../storage/state-store.ts';
import type { OperatorMetrics, TaskResult, TaskSpec } from './task-spec.ts';
import { ProcessingTimeService } from './time/processing-time-service.ts';
import { KeyedCoProcessOperator } from './operators/keyed-process-operator.ts';

/** Frames processed per gate poll; after each poll outputs are flushed. */
const FRAMES_PER_POLL = 1024;
/** One wait for output room, between checks for cancellation, failures and barrier announcements. */
const ROOM_WAIT_SLICE_MS = 5;
/** Give the worker's event loop a turn (stdout, timers) at least this often while busy. */
const YIELD_EVERY_MS = 20;
/** ... and this often while a checkpoint's asynchronous phase (file I/O) is in flight. */
const PERSIST_YIELD_EVERY_MS = 2;
/** Upper bound of one idle sleep; the doorbell wakes the subtask earlier. */
const IDLE_SLEEP_MS = 200;
/** How long an idle subtask polls its inputs before it sleeps on its doorbell. */
const SPIN_MS = 0.05;

function spinForData(gate: InputGate, ms: number): boolean {
  if (ms <= 0) return false;
  const until = performance.now() + ms;
  do {
    if (gate.hasData()) return true;
  } while (performance.now() < until);
  return false;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What the run loops need besides the chain. */
interface Loop {
  readonly control: TaskControl;
  readonly chain: OperatorChain;
  readonly doorbell: Doorbell;
  readonly isCanceled: () => boolean;
  readonly checkpointer: TaskCheckpointer | undefined;
  readonly processingTime: ProcessingTimeService;
}

export async function runSubtask(spec: TaskSpec): Promise<TaskResult> {
  const control = new TaskControl(spec.control);
  const doorbell = new Doorbell(spec.doorbell);
  const isCanceled = () => control.cancelRequested;
  const processingTime = new ProcessingTimeService();
  let chain: OperatorChain | undefined;
  let checkpointer: TaskCheckpointer | undefined;
  let store: StateStore | undefined;
  let status: TaskResult['status'] = 'finished';
  let error: unknown;
  const sinkResults: Array<{ uid: string; value: unknown }> = [];
  try {
    await loadKeyHasher();
    const definition = await loadJobDefinition(spec.jobUrl);
    const graph = buildJobGraph(definition.buildPlan(spec.planConfig));
    const vertex = graph.vertices[spec.vertexIndex];
    if (vertex === undefined || vertex.name !== spec.vertexName) {
      throw new WeirError(
        'WEIR_INVALID_JOB',
        `the job module built a different graph on a worker thread (vertex ${spec.vertexIndex} is '${vertex?.name}', expected '${spec.vertexName}'): defineJob must declare the same plan every time`,
      );
    }
    const codec = recordCodecByName(spec.recordCodec);
    chain = createOperatorChain(graph, vertex, spec, codec, isCanceled, processingTime);
    for (const operator of chain.operators) await operator.initializeState();
    if (spec.checkpointing !== undefined) {
      store = await openStateStore(spec.checkpointing.store);
      if (spec.restore !== undefined) await restoreChain(chain, spec.restore, store);
    }
    // Open tail first, as Flink does, so a head never emits into an unopened operator.
    for (let i = chain.operators.length - 1; i >= 0; i--) await chain.operators[i]!.open();
    await chain.source?.open();
    if (spec.checkpointing !== undefined && spec.port !== undefined && store !== undefined) {
      checkpointer = new TaskCheckpointer(chain, store, spec.port, doorbell, spec.subtaskIndex);
      checkpointer.start();
    }
    const loop: Loop = { control, chain, doorbell, isCanceled, checkpointer, processingTime };
    if (chain.source !== undefined) {
      await runSource(loop);
    } else {
      const alignment = spec.checkpointing?.mode === 'at-least-once' ? 'at-least-once' : 'aligned';
      const inflight = await restoredChannelState(spec, chain, store);
      const gate = new InputGate(spec.inputs, codec, alignment, spec.debloat, spec.checkpointing?.alignedTimeout, spec.inputOf);
      await runInputs(loop, gate, inflight === undefined ? undefined : { channels: inflight, codec, inputOf: spec.inputOf });
    }
    for (const operator of chain.operators) await operator.finish();
    for (const writer of chain.writers) {
      writer.endOfPartition();
      writer.flush();
    }
    for (const operator of chain.operators) {
      if (!(operator instanceof SinkOperator)) continue;
      const value = operator.result();
      if (value !== undefined) sinkResults.push({ uid: operator.node.uid, value });
    }
    // Let acknowledgements of snapshots still being written go out before the subtask ends.
    await checkpointer?.drain();
    throwIfFailed(checkpointer);
  } catch (caught) {
    if (isWeirError(caught) && caught.code === 'WEIR_JOB_CANCELED' && isCanceled()) {
      status = 'canceled';
    } else {
      status = 'failed';
      error = caught;
    }
  }
  checkpointer?.close();
  processingTime.clear();
  await closeChain(chain, (closeError) => {
    if (status === 'finished') {
      status = 'failed';
      error = closeError;
    }
  });
  await store?.close();
  return buildResult(spec, chain, status, error, status === 'finished' ? sinkResults : []);
}

function throwIfFailed(checkpointer: TaskCheckpointer | undefined): void {
  if (checkpointer?.failure !== undefined) throw checkpointer.failure;
}

/** Injects the barriers the coordinator asked for (between polls, so no record is split). */
function injectBarriers(checkpointer: TaskCheckpointer | undefined): void {
  if (checkpointer === undefined) return;
  throwIfFailed(checkpointer);
  const triggers = checkpointer.triggers;
  while (triggers.length > 0) checkpointer.checkpoint(triggers.shift()!);
}

async function runSource({ control, chain, doorbell, isCanceled, checkpointer, processingTime }: Loop): Promise<void> {
  const source = chain.source!;
  let lastYield = performance.now();
  for (;;) {
    if (isCanceled()) throw canceled();
    injectBarriers(checkpointer);
    if (processingTime.fireDue() > 0) flush(chain); // periodic watermarks, processing-time timers
    if (!outputsHaveRoom(chain)) {
      flush(chain);
      await waitForRoom(chain);
      continue;
    }
    const status = source.poll();
    control.reportProgress(source.recordsOut);
    if (status === 'end') {
      source.endOfInput();
      flush(chain);
      return;
    }
    flush(chain);
    if (status === 'more' || status === 0) {
      const now = performance.now();
      if (now - lastYield >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
    } else if (status > 0) {
      // The doorbell doubles as an interruptible timer: cancellation and triggers ring it.
      const token = doorbell.prepareToSleep();
      const wait = Math.min(status, processingTime.msUntilNext());
      if (isCanceled() || (checkpointer?.triggers.length ?? 0) > 0 || wait <= 0) doorbell.cancelSleep();
      else await doorbell.sleepAsync(token, wait);
      lastYield = performance.now();
    }
  }
}

/** The in-flight input an unaligned checkpoint stored for this subtask, if restoring from one. */
async function restoredChannelState(spec: TaskSpec, chain: OperatorChain, store: StateStore | undefined): Promise<Uint8Array[] | undefined> {
  const head = chain.operators[0];
  const handle = head === undefined ? undefined : spec.restore?.operators[head.node.uid]?.inputChannelState;
  if (handle === undefined || store === undefined) return undefined;
  const channels = deserialize(await store.readState(handle)) as unknown;
  if (!Array.isArray(channels) || !channels.every((c) => c instanceof Uint8Array)) {
    throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `the channel state file ${handle.path || '(inline)'} of '${head!.node.uid}' is not a list of byte arrays`);
  }
  if (channels.length !== spec.inputs.length) {
    throw new WeirError(
      'WEIR_CHECKPOINT_INCOMPATIBLE',
      `'${head!.node.uid}' subtask ${spec.subtaskIndex} stored in-flight data of ${channels.length} input channels, it now has ${spec.inputs.length}`,
    );
  }
  return channels as Uint8Array[];
}

async function runInputs(
  { control, chain, doorbell, isCanceled, checkpointer, processingTime }: Loop,
  gate: InputGate,
  inflight: { channels: Uint8Array[]; codec: RecordCodec; inputOf: readonly number[] } | undefined,
): Promise<void> {
  const head = chain.head;
  const time = chain.time;
  gate.debloat?.publishTo(control); // debloat metrics, once per period, for progress and results
  const first = chain.operators[0];
  const keyedHead = first instanceof KeyedOperator ? first : undefined;
  const twoInputHead = first instanceof KeyedCoProcessOperator ? first : undefined;
  const handler: InputHandler = {
    processRecord:
      twoInputHead === undefined
        ? (record, timestamp) => {
            time.value = timestamp;
            head.collect(record);
          }
        : (record, timestamp, input) => {
            time.value = timestamp;
            twoInputHead.processKeyedElementOf(input, record, -1);
          },
    processKeyedRecord:
      twoInputHead !== undefined
        ? (record, keyGroup, timestamp, input) => {
            time.value = timestamp;
            twoInputHead.processKeyedElementOf(input, record, keyGroup);
          }
        : keyedHead === undefined
          ? (record, _keyGroup, timestamp) => {
              time.value = timestamp;
              head.collect(record);
            }
          : (record, keyGroup, timestamp) => {
              time.value = timestamp;
              keyedHead.processKeyedElement(record, keyGroup);
            },
    processWatermark: (timestamp) => head.emitWatermark(timestamp),
    processWatermarkStatus: (idle) => head.emitWatermarkStatus(idle),
    processBarrier: (barrier, alignment) => {
      if (checkpointer === undefined) {
        throw new WeirError('WEIR_INTERNAL', `a barrier of checkpoint ${barrier.checkpointId} reached a job without checkpointing`);
      }
      checkpointer.checkpoint(barrier, alignment);
    },
    channelStateComplete: (state) => checkpointer?.channelStateComplete(state),
  };
  const outputsAvailable = () => outputsHaveRoom(chain);
  // Restored from an unaligned checkpoint: the in-flight records go first, before any new input.
  if (inflight !== undefined) {
    replayChannelState(inflight.channels, inflight.codec, handler, inflight.inputOf);
    flush(chain);
  }
  let lastYield = performance.now();
  while (!gate.finished) {
    if (isCanceled()) throw canceled();
    throwIfFailed(checkpointer);
    if (processingTime.fireDue() > 0) flush(chain); // processing-time timers
    // Outputs full (backpressure): wait for room between records, still taking part in checkpoints.
    if (!outputsAvailable()) {
      gate.checkAnnouncements(handler);
      gate.debloat?.maybeUpdate(); // debloating goes on while backpressured (Flink's runs on a timer)
      flush(chain);
      await waitForRoom(chain);
      continue;
    }
    // While a snapshot is being written, its I/O steps each need an event-loop turn: yield often.
    const slice = checkpointer?.persisting === true ? PERSIST_YIELD_EVERY_MS : YIELD_EVERY_MS;
    const processed = gate.poll(handler, FRAMES_PER_POLL, outputsAvailable, lastYield + slice);
    flush(chain);
    if (gate.stalledOnOutput) continue;
    if (processed > 0) {
      const now = performance.now();
      if (now - lastYield >= slice) {
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      continue;
    }
    // Nothing to read. A producer that keeps up publishes again within microseconds, while a
    // wake-up through the doorbell and the event loop costs tens of them: poll briefly first.
    gate.debloat?.pauseMeasurement(); // idle: throughput is measured over busy time only
    if (spinForData(gate, SPIN_MS)) continue;
    // Still nothing: announce that we sleep, check once more, then wait for a producer or the
    // coordinator to ring (see Doorbell for why no wake-up is lost).
    const token = doorbell.prepareToSleep();
    if (gate.hasData() || isCanceled() || checkpointer?.failure !== undefined) {
      doorbell.cancelSleep();
      continue;
    }
    await doorbell.sleepAsync(token, Math.max(1, Math.min(IDLE_SLEEP_MS, processingTime.msUntilNext())));
    lastYield = performance.now();
  }
}

function flush(chain: OperatorChain): void {
  for (const writer of chain.writers) writer.flush();
}

function outputsHaveRoom(chain: OperatorChain): boolean {
  for (const writer of chain.writers) if (!writer.hasRoom()) return false;
  return true;
}

/** Waits a short while for room in the first full output; the event loop runs meanwhile. */
async function waitForRoom(chain: OperatorChain): Promise<void> {
  for (const writer of chain.writers) {
    if (!writer.hasRoom()) {
      await writer.waitForRoomAsync(ROOM_WAIT_SLICE_MS);
      return;
    }
  }
}

function canceled(): WeirError {
  return new WeirError('WEIR_JOB_CANCELED', 'the subtask was canceled');
}

async function closeChain(chain: OperatorChain | undefined, onError: (error: unknown) => void): Promise<void> {
  if (chain === undefined) return;
  const closers: Array<() => void | Promise<void>> = [];
  if (chain.source !== undefined) closers.push(() => chain.source!.close());
  for (const operator of chain.operators) closers.push(() => operator.close());
  for (const close of closers) {
    try {
      await close();
    } catch (closeError) {
      onError(closeError);
    }
  }
}

function buildResult(
  spec: TaskSpec,
  chain: OperatorChain | undefined,
  status: TaskResult['status'],
  error: unknown,
  sinkResults: TaskResult['sinkResults'],
): TaskResult {
  const operators: OperatorMetrics[] = [];
  if (chain !== undefined) {
    if (chain.source !== undefined) {
      operators.push({ uid: chain.source.node.uid, recordsIn: 0, recordsOut: chain.source.recordsOut });
    }
    for (const operator of chain.operators) {
      operators.push({ uid: operator.node.uid, recordsIn: operator.recordsIn, recordsOut: operator.recordsOut });
    }
  }
  const result: TaskResult = {
    status,
    operators,
    sinkResults,
    backpressuredMs: chain?.writers.reduce((sum, w) => sum + w.backpressuredMs, 0) ?? 0,
    finalCommittables:
      status === 'finished' && chain !== undefined
        ? chain.operators.flatMap((op) =>
            op instanceof SinkOperator && op.finalCommittables !== undefined
              ? [{ uid: op.node.uid, committables: op.finalCommittables }]
              : [],
          )
        : [],
  };
  if (status === 'failed') {
    const record = toErrorRecord(error);
    record.context = { ...record.context, subtaskIndex: record.context?.subtaskIndex ?? spec.subtaskIndex };
    return { ...result, error: record };
  }
  return result;
}
