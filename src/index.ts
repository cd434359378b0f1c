/**
 * Weir's public API: the only entry users import. Everything not exported here is internal.
 */
export { defineJob, type JobBuilder } from './api/define-job.ts';
export { StreamExecutionEnvironment } from './api/environment.ts';
export { ConnectedStreams, DataStream, DataStreamSink, KeyedStream } from './api/data-stream.ts';
export { WatermarkStrategy, type TimestampAssigner } from './task/time/watermark-strategy.ts';
export { IntervalJoin, IntervalJoined } from './api/interval-join.ts';
export { ProcessJoinFunction, type ProcessJoinContext } from './task/operators/interval-join.ts';
export { run } from './api/run.ts';
export { RUN_OPTION_DEFAULTS, type RunOptions } from './api/options.ts';
export {
  CHECKPOINT_DEFAULTS,
  type CheckpointingOptions,
  type CheckpointingMode,
  type CheckpointRetention,
} from './checkpoint/checkpoint-config.ts';
export type { CheckpointStats, CheckpointFailureReason, SubtaskCheckpointStats } from './checkpoint/checkpoint-coordinator.ts';
export type { RestartStrategyOptions } from './coordinator/restart-strategy.ts';
export type { JobProgress } from './coordinator/job-coordinator.ts';
export type { JobResult, OperatorStats, CheckpointSummary, SubtaskDebloatMetrics } from './coordinator/job-result.ts';
export type { DebloatMetrics } from './channels/debloat-driver.ts';
export type { JobDefinition } from './graph/job-definition.ts';

export {
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  OutputTag,
  ProcessFunction,
  type ProcessContext,
  type OnTimerContext,
  type TimeDomain,
  type TimerService,
  type Collector,
  type FilterFunction,
  type FlatMapFunction,
  type KeyedContext,
  type KeySelector,
  type MapFunction,
  type RuntimeContext,
} from './task/functions.ts';
export type {
  AggregateFunction,
  AggregatingState,
  ListState,
  MapState,
  ReduceFunction,
  ReducingState,
  ValueState,
} from './state/state.ts';
export { WindowedStream } from './api/windowed-stream.ts';
export { GlobalWindow, TimeWindow, Window } from './task/windowing/window.ts';
export {
  DynamicEventTimeSessionWindows,
  DynamicProcessingTimeSessionWindows,
  EventTimeSessionWindows,
  GlobalWindows,
  MergingWindowAssigner,
  ProcessingTimeSessionWindows,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  WindowAssigner,
  type SessionWindowTimeGapExtractor,
  type WindowAssignerContext,
} from './task/windowing/window-assigners.ts';
export {
  CountTrigger,
  EventTimeTrigger,
  NeverTrigger,
  ProcessingTimeTrigger,
  PurgingTrigger,
  Trigger,
  TriggerResult,
  type OnMergeContext,
  type TriggerContext,
} from './task/windowing/triggers.ts';
export { ProcessWindowFunction, type KeyedStateStore, type ProcessWindowContext } from './task/windowing/process-window-function.ts';
export type { PollStatus, Source, SourceOutput, SourceReader, SourceReaderContext } from './task/source.ts';
export type { Committer, Sink, SinkContext, SinkWriter } from './task/sink.ts';

export { GeneratorSource, type GeneratorSourceOptions } from './connectors/generator/generator-source.ts';
export {
  NexmarkSource,
  NexmarkGenerator,
  NEXMARK_DEFAULTS,
  eventDateTime,
  type NexmarkSourceOptions,
  type NexmarkGeneratorOptions,
  type NexmarkConfig,
  type NexmarkEvent,
  type Person,
  type Auction,
  type Bid,
} from './connectors/nexmark/index.ts';
export { FileSource, type FileSourceOptions } from './connectors/file/file-source.ts';
export {
  FileSink,
  FileSinkCommitter,
  type FileSinkCommittable,
  type FileSinkOptions,
  type FileSinkResult,
} from './connectors/file/file-sink.ts';
export { PrintSink, type PrintSinkOptions } from './connectors/print/print-sink.ts';
export { CollectSink } from './connectors/collect/collect-sink.ts';
export { DiscardingSink } from './connectors/discarding/discarding-sink.ts';

export { WeirError, ERROR_CODES, type WeirErrorCode, type ErrorContext } from './errors.ts';
