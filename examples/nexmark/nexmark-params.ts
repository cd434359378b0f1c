// The --param values every Nexmark example job reads (not a job itself):
//   events  number of events (required): event numbers 0 … events−1 of the generator
//   seed    generator seed (default 0); the same seed gives the same events at any parallelism
//   rate    wall-clock limit in events per second over all source subtasks (default: unlimited)
//   eventsPerSecond  event-time density: events per second of event time (default 10000, as
//           Nexmark); lower it to spread few events over more windows
//   out     directory for the result rows as JSON lines (FileSink, exactly-once with
//           checkpoints); omitted: the rows are discarded (for measuring throughput)
import { WeirError, type NexmarkSourceOptions, type StreamExecutionEnvironment } from 'weir';

export interface NexmarkParams {
  /** Options for `new NexmarkSource(…)`. */
  source: NexmarkSourceOptions;
  /** Where the result rows go; undefined: discard them. */
  out: string | undefined;
}

export function nexmarkParams(env: StreamExecutionEnvironment): NexmarkParams {
  const { events, seed, rate, eventsPerSecond, out } = env.params;
  if (events === undefined) {
    throw new WeirError('WEIR_INVALID_OPTION', 'the Nexmark examples need --param events=<number of events>');
  }
  const source: NexmarkSourceOptions = { count: integer('events', events) };
  if (seed !== undefined) source.seed = integer('seed', seed);
  if (rate !== undefined) source.ratePerSecond = integer('rate', rate);
  if (eventsPerSecond !== undefined) source.eventsPerSecond = integer('eventsPerSecond', eventsPerSecond);
  return { source, out: out === '' ? undefined : out };
}

function integer(name: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value)) {
    throw new WeirError('WEIR_INVALID_OPTION', `--param ${name} must be an integer, got ${JSON.stringify(text)}`);
  }
  return value;
}
