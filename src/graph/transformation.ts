/**
 * The logical plan: the transformations a job module declares through the DataStream API, in
 * declaration order. Plain objects holding the user's functions; built on every thread by the
 * same job module, so equal plans come out everywhere. Consumed by job-graph.ts.
 */
import type { Sink } from '../task/sink.ts';
import type { Source } from '../task/source.ts';
import type {
  FilterFunction,
  FlatMapFunction,
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  KeySelector,
  MapFunction,
  ProcessFunction,
} from '../task/functions.ts';
import type { WatermarkStrategy } from '../task/time/watermark-strategy.ts';
import type { WindowSpec } from '../task/windowing/window-spec.ts';
import type { ReduceFunction } from '../state/state.ts';

export type PartitionerKind = 'forward' | 'rebalance' | 'broadcast' | 'hash';

interface OperatorBase {
  readonly id: number;
  name: string;
  uid: string | undefined;
  parallelism: number | undefined;
}

export interface SourceTransformation extends OperatorBase {
  readonly kind: 'source';
  readonly source: Source<unknown>;
  /** Timestamps and watermarks generated in the source subtask (Flink's fromSource(source, strategy, name)). */
  readonly watermarkStrategy: WatermarkStrategy<unknown> | undefined;
}

/** assignTimestampsAndWatermarks: (re)assigns event timestamps and generates watermarks. */
export interface TimestampsTransformation extends OperatorBase {
  readonly kind: 'timestamps';
  readonly input: Transformation;
  readonly strategy: WatermarkStrategy<unknown>;
}

/** Two keyed inputs into one KeyedCoProcessFunction (connect(...).keyBy(...).process(...)). */
export interface CoProcessTransformation extends OperatorBase {
  readonly kind: 'coProcess';
  readonly input1: Transformation;
  readonly input2: Transformation;
  readonly keySelector1: KeySelector<unknown, unknown>;
  readonly keySelector2: KeySelector<unknown, unknown>;
  readonly fn: KeyedCoProcessFunction<unknown, unknown, unknown, unknown>;
}

/** A keyed window operator: assigner, trigger, lateness and the window function. */
export interface WindowTransformation extends OperatorBase {
  readonly kind: 'window';
  readonly input: Transformation;
  readonly keySelector: KeySelector<unknown, unknown>;
  readonly spec: WindowSpec;
}

export interface MapTransformation extends OperatorBase {
  readonly kind: 'map';
  readonly input: Transformation;
  readonly fn: MapFunction<unknown, unknown>;
}

export interface FilterTransformation extends OperatorBase {
  readonly kind: 'filter';
  readonly input: Transformation;
  readonly fn: FilterFunction<unknown>;
}

export interface FlatMapTransformation extends OperatorBase {
  readonly kind: 'flatMap';
  readonly input: Transformation;
  readonly fn: FlatMapFunction<unknown, unknown>;
}

export interface ProcessTransformation extends OperatorBase {
  readonly kind: 'process';
  readonly input: Transformation;
  readonly keySelector: KeySelector<unknown, unknown>;
  readonly fn: KeyedProcessFunction<unknown, unknown, unknown>;
}

/** A ProcessFunction on a stream that is not keyed. */
export interface ProcessFunctionTransformation extends OperatorBase {
  readonly kind: 'processFunction';
  readonly input: Transformation;
  readonly fn: ProcessFunction<unknown, unknown>;
}

export interface ReduceTransformation extends OperatorBase {
  readonly kind: 'reduce';
  readonly input: Transformation;
  readonly keySelector: KeySelector<unknown, unknown>;
  readonly fn: ReduceFunction<unknown>;
}

export interface SinkTransformation extends OperatorBase {
  readonly kind: 'sink';
  readonly input: Transformation;
  readonly sink: Sink<unknown>;
}

/** Virtual: changes how records are distributed to the next operator. */
export interface PartitionTransformation {
  readonly kind: 'partition';
  readonly id: number;
  readonly input: Transformation;
  readonly partitioner: PartitionerKind;
  readonly keySelector: KeySelector<unknown, unknown> | undefined;
}

/** Virtual: the records an operator emitted to side output `tag` (getSideOutput). */
export interface SideOutputTransformation {
  readonly kind: 'sideOutput';
  readonly id: number;
  readonly input: Transformation;
  readonly tag: string;
}

/** Virtual: merges streams of one type. */
export interface UnionTransformation {
  readonly kind: 'union';
  readonly id: number;
  readonly inputs: readonly Transformation[];
}

export type OperatorTransformation =
  | SourceTransformation
  | MapTransformation
  | FilterTransformation
  | FlatMapTransformation
  | ProcessTransformation
  | ReduceTransformation
  | ProcessFunctionTransformation
  | SinkTransformation
  | TimestampsTransformation
  | CoProcessTransformation
  | WindowTransformation;

export type Transformation = OperatorTransformation | PartitionTransformation | UnionTransformation | SideOutputTransformation;

export function isOperator(t: Transformation): t is OperatorTransformation {
  return t.kind !== 'partition' && t.kind !== 'union' && t.kind !== 'sideOutput';
}

/** The inputs of an operator, in input order (input 0, then input 1 of a two-input operator). */
export function operatorInputs(t: OperatorTransformation): readonly Transformation[] {
  switch (t.kind) {
    case 'source':
      return [];
    case 'coProcess':
      return [t.input1, t.input2];
    default:
      return [t.input];
  }
}

/** What a job module's builder produces. */
export interface LogicalPlan {
  readonly transformations: readonly Transformation[];
  /** Parallelism of operators that set none. */
  readonly parallelism: number;
  /** Explicit max parallelism, or undefined for Flink's default derived from the parallelism. */
  readonly maxParallelism: number | undefined;
  /** False after `env.disableOperatorChaining()`: every operator runs in its own subtask thread. */
  readonly chaining: boolean;
  readonly params: Readonly<Record<string, string>>;
  /** Milliseconds between periodic watermarks (env.setAutoWatermarkInterval; Flink's default 200). */
  readonly autoWatermarkIntervalMs: number;
}
