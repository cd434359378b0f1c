// Drives one WindowOperator directly, on the test's thread: the plan comes from the real API
// (so its validation runs), records and watermarks are fed by hand, processing time is an
// injected clock, and everything the operator emits is recorded with its timestamp.
// Checkpoint/restore is a snapshot of the keyed state handed to a fresh operator.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectSink, GeneratorSource, type KeyedStream } from '../../src/index.ts';
import type { StreamNode } from '../../src/graph/job-graph.ts';
import type { WindowTransformation } from '../../src/graph/transformation.ts';
import { keyGroupRangeFor, loadKeyHasher } from '../../src/state/key-groups.ts';
import type { KeyGroupBlock } from '../../src/state/keyed-state-backend.ts';
import type { StateBackendConfig } from '../../src/state/state-backend-factory.ts';
import type { OperatorContext, Output } from '../../src/task/operators/stream-operator.ts';
import { ProcessingTimeService } from '../../src/task/time/processing-time-service.ts';
import { WindowOperator } from '../../src/task/windowing/window-operator.ts';
import { planOf } from './plans.ts';

export interface Emitted {
  readonly value: unknown;
  /** The record's event timestamp as the operator set it (NaN: none). */
  readonly timestamp: number;
}

export type Backend = 'heap' | 'lsm';

/** A DataStream of any element type (DataStream<T> is invariant in T). */
type AnyStream = { sinkTo(sink: never, name: string): unknown };

/** The window transformation `declare` builds on a keyed stream of the test's records (keyed by `r.key`). */
export function windowTransformation<T extends { key: unknown }>(declare: (keyed: KeyedStream<T, unknown>) => AnyStream): WindowTransformation {
  let window: WindowTransformation | undefined;
  const plan = planOf((env) => {
    const keyed = env.fromSource(new GeneratorSource<T>({ count: 0, generate: () => ({}) as T }), 'in').keyBy((r) => r.key);
    declare(keyed).sinkTo(new CollectSink() as never, 'out');
  });
  for (const t of plan.transformations) if (t.kind === 'window') window = t;
  if (window === undefined) throw new Error('the declaration made no window operator');
  return window;
}

export class WindowHarness {
  readonly out: Emitted[] = [];
  readonly side = new Map<string, Emitted[]>();
  readonly watermarks: number[] = [];
  /** The injected processing-time clock (ms). */
  now = 0;
  readonly processingTime = new ProcessingTimeService(() => this.now);
  readonly operator: WindowOperator;
  readonly #time = { value: Number.NaN };
  readonly #dirs: string[];

  private constructor(transformation: WindowTransformation, backend: Backend, subtask: { index: number; parallelism: number }, dirs: string[]) {
    this.#dirs = dirs;
    const node: StreamNode = { id: 0, uid: 'window', name: transformation.name, parallelism: subtask.parallelism, transformation, inEdges: [], outEdges: [] };
    let stateBackend: StateBackendConfig = { kind: 'heap' };
    if (backend === 'lsm') {
      const directory = mkdtempSync(join(tmpdir(), 'weir-window-lsm-'));
      dirs.push(directory);
      stateBackend = { kind: 'lsm', directory, memoryBudget: 64 * 1024, sstFiles: false, incremental: false };
    }
    const context: OperatorContext = {
      checkpointing: false,
      stateBackend,
      subtaskIndex: subtask.index,
      parallelism: subtask.parallelism,
      maxParallelism: 128,
      params: {},
      time: this.#time,
      processingTime: this.processingTime,
      autoWatermarkIntervalMs: 200,
    };
    const time = this.#time;
    const output: Output<unknown> = {
      collect: (value) => void this.out.push({ value, timestamp: time.value }),
      collectSide: (tag, value) => {
        const list = this.side.get(tag) ?? [];
        list.push({ value, timestamp: time.value });
        this.side.set(tag, list);
      },
      emitWatermark: (ts) => void this.watermarks.push(ts),
      emitWatermarkStatus: () => {},
    };
    this.operator = new WindowOperator(node, context, output);
  }

  /** An open operator; `restore`: keyed state blocks of an earlier snapshot (those of this subtask's key groups are taken). */
  static async open(
    transformation: WindowTransformation,
    options: { backend?: Backend; restore?: readonly KeyGroupBlock[]; subtaskIndex?: number; parallelism?: number; now?: number } = {},
  ): Promise<WindowHarness> {
    await loadKeyHasher();
    const subtask = { index: options.subtaskIndex ?? 0, parallelism: options.parallelism ?? 1 };
    const harness = new WindowHarness(transformation, options.backend ?? 'heap', subtask, []);
    harness.now = options.now ?? 0;
    await harness.operator.initializeState();
    if (options.restore !== undefined) {
      const { start, end } = keyGroupRangeFor(subtask.index, subtask.parallelism, 128);
      const blocks = options.restore.filter((b) => b.keyGroup >= start && b.keyGroup <= end);
      await harness.operator.restoreState({ keyedBlocks: blocks, sstSnapshots: [], shared: undefined, operatorState: [] });
    }
    await harness.operator.open();
    return harness;
  }

  /** A record with event timestamp `timestamp` (omit for none). */
  element(value: unknown, timestamp = Number.NaN): this {
    this.#time.value = timestamp;
    this.operator.processElement(value);
    return this;
  }

  watermark(timestamp: number): this {
    this.operator.processWatermark(timestamp);
    return this;
  }

  /** Moves the injected clock to `time` and runs the processing-time callbacks now due. */
  advanceProcessingTime(time: number): this {
    this.now = time;
    this.processingTime.fireDue();
    return this;
  }

  values(): unknown[] {
    return this.out.map((e) => e.value);
  }

  sideValues(tag: string): unknown[] {
    return (this.side.get(tag) ?? []).map((e) => e.value);
  }

  /** The keyed state as a checkpoint would hold it. */
  snapshot(): readonly KeyGroupBlock[] {
    return this.operator.snapshotState(1).keyedBlocks ?? [];
  }

  /** Keyed state entries left (timers included): 0 once every window is cleaned up. */
  stateEntries(): number {
    return (this.operator as unknown as { backend: { entryCount(): number } }).backend.entryCount();
  }

  async close(): Promise<void> {
    try {
      await this.operator.close();
    } finally {
      for (const dir of this.#dirs) rmSync(dir, { recursive: true, force: true });
    }
  }
}
