/**
 * The Nexmark benchmark connector: data model, deterministic generator and source. Used on every
 * thread (the job module builds the source; readers generate on source subtask threads).
 */
export type { Auction, Bid, NexmarkEvent, Person } from './model.ts';
export { eventDateTime } from './model.ts';
export { NexmarkGenerator } from './generator.ts';
export {
  NEXMARK_DEFAULTS,
  resolveNexmarkConfig,
  type NexmarkConfig,
  type NexmarkGeneratorOptions,
} from './generator-config.ts';
export {
  NexmarkSource,
  NexmarkSourceReader,
  NEXMARK_BATCH_SIZE,
  type NexmarkSourceOptions,
  type NexmarkSplit,
} from './nexmark-source.ts';
