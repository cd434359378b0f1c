/**
 * Builds a job vertex's operator chain on its worker thread: the operators wired head to tail
 * by direct calls, and at the tail one OutputWriter per output edge. A source vertex's head is
 * a SourceDriver; any other vertex is fed by its InputGate.
 */
import { WeirError } from '../errors.ts';
import type { JobGraph, JobVertex, StreamNode } from '../graph/job-graph.ts';
import { createPartitioner } from '../graph/partitioner.ts';
import { OutputWriter, type RecordTime } from '../channels/output-writer.ts';
import type { ProcessingTimeService } from './time/processing-time-service.ts';
import type { RecordCodec } from '../channels/record-codec.ts';
import type { Source } from './source.ts';
import type { TaskSpec } from './task-spec.ts';
import { KeyedCoProcessOperator, KeyedProcessOperator } from './operators/keyed-process-operator.ts';
import { TimestampsOperator } from './operators/timestamps-operator.ts';
import { ProcessOperator } from './operators/process-operator.ts';
import { WindowOperator } from './windowing/window-operator.ts';
import { ReduceOperator } from './operators/reduce-operator.ts';
import { SinkOperator } from './operators/sink-operator.ts';
import { FilterOperator, FlatMapOperator, MapOperator } from './operators/stateless-operators.ts';
import type { OperatorContext, Output, StreamOperator } from './operators/stream-operator.ts';
import { SourceDriver } from './source-driver.ts';

export interface OperatorChain {
  /** Present when the vertex starts with a source. */
  readonly source: SourceDriver | undefined;
  /** Where records from the input gate enter (the first operator). */
  readonly head: Output<unknown>;
  /** Non-source operators, head first. */
  readonly operators: readonly StreamOperator<unknown, unknown>[];
  readonly writers: readonly OutputWriter[];
  /** The event timestamp of the record in flight, shared by the chain's operators and writers. */
  readonly time: RecordTime;
}

/** The tail's output: records to the main-output edges, side outputs to their edges, event time to all. */
class WritersOutput implements Output<unknown> {
  readonly #main: readonly OutputWriter[];
  readonly #all: readonly OutputWriter[];
  readonly #single: OutputWriter | undefined;

  constructor(writers: readonly OutputWriter[]) {
    this.#all = writers;
    this.#main = writers.filter((w) => w.tag === undefined);
    this.#single = this.#main.length === 1 ? this.#main[0] : undefined;
  }

  collect(record: unknown): void {
    if (this.#single !== undefined) {
      this.#single.emit(record);
      return;
    }
    for (const writer of this.#main) writer.emit(record);
  }

  emitWatermark(timestamp: number): void {
    for (const writer of this.#all) writer.emitWatermark(timestamp);
  }

  emitWatermarkStatus(idle: boolean): void {
    for (const writer of this.#all) writer.emitWatermarkStatus(idle);
  }

  collectSide(tag: string, record: unknown): void {
    for (const writer of this.#all) if (writer.tag === tag) writer.emit(record);
  }
}

/** Hands everything to the next operator of the chain (side outputs have no chained reader). */
class ChainedOutput implements Output<unknown> {
  constructor(readonly target: StreamOperator<unknown, unknown>) {}
  collect(record: unknown): void {
    this.target.processElement(record);
  }
  emitWatermark(timestamp: number): void {
    this.target.processWatermark(timestamp);
  }
  emitWatermarkStatus(idle: boolean): void {
    this.target.processWatermarkStatus(idle);
  }
  collectSide(): void {}
}

export function createOperatorChain(
  graph: JobGraph,
  vertex: JobVertex,
  spec: TaskSpec,
  codec: RecordCodec,
  isCanceled: () => boolean,
  processingTime: ProcessingTimeService,
): OperatorChain {
  const time: RecordTime = { value: Number.NaN };
  const writers: OutputWriter[] = [];
  const flushAll = () => {
    for (const writer of writers) writer.flush();
  };
  vertex.outputs.forEach((edge, i) => {
    const channels = spec.outputs[i];
    if (channels === undefined) throw new WeirError('WEIR_INTERNAL', `no channels for output edge ${edge.index}`);
    const partitioner = createPartitioner(edge.partitioner, {
      numberOfChannels: channels.length,
      producerSubtaskIndex: spec.subtaskIndex,
      maxParallelism: graph.maxParallelism,
      keySelector: edge.keySelector,
      owner: { operatorId: edge.target.chain[0]!.uid, operatorName: edge.target.chain[0]!.name, subtaskIndex: spec.subtaskIndex },
    });
    writers.push(new OutputWriter(channels, partitioner, codec, isCanceled, flushAll, partitioner.kind === 'hash', time, edge.outputTag));
  });

  let output: Output<unknown> = new WritersOutput(writers);
  const context: OperatorContext = {
    checkpointing: spec.checkpointing !== undefined,
    stateBackend: spec.stateBackend,
    subtaskIndex: spec.subtaskIndex,
    parallelism: vertex.parallelism,
    maxParallelism: graph.maxParallelism,
    params: spec.planConfig.params,
    time,
    processingTime,
    autoWatermarkIntervalMs: graph.autoWatermarkIntervalMs,
  };
  const operators: StreamOperator<unknown, unknown>[] = [];
  let source: SourceDriver | undefined;
  for (let i = vertex.chain.length - 1; i >= 0; i--) {
    const node = vertex.chain[i]!;
    if (node.transformation.kind === 'source') {
      const outputsHaveRoom = () => {
        for (const writer of writers) if (!writer.hasRoom()) return false;
        return true;
      };
      source = new SourceDriver(node, context, node.transformation.source as Source<unknown>, output, outputsHaveRoom);
      break;
    }
    const operator = createOperator(node, context, output);
    operators.unshift(operator);
    const target = operator;
    output = new ChainedOutput(target);
  }
  return { source, head: output, operators, writers, time };
}

function createOperator(node: StreamNode, context: OperatorContext, output: Output<unknown>): StreamOperator<unknown, unknown> {
  switch (node.transformation.kind) {
    case 'map':
      return new MapOperator(node, context, output);
    case 'filter':
      return new FilterOperator(node, context, output);
    case 'flatMap':
      return new FlatMapOperator(node, context, output);
    case 'process':
      return new KeyedProcessOperator(node, context, output);
    case 'reduce':
      return new ReduceOperator(node, context, output);
    case 'sink':
      return new SinkOperator(node, context, output);
    case 'timestamps':
      return new TimestampsOperator(node, context, output);
    case 'processFunction':
      return new ProcessOperator(node, context, output);
    case 'coProcess':
      return new KeyedCoProcessOperator(node, context, output);
    case 'window':
      return new WindowOperator(node, context, output);
    case 'source':
      throw new WeirError('WEIR_INTERNAL', `source '${node.uid}' is not at the head of its chain`);
  }
}
