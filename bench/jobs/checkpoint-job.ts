// bench:checkpoint's job: bench:pipeline's job (source → map → keyBy → running count with
// ValueState → discarding sink) with a configurable key space and rate. Params:
//   count      records (required)
//   keys       distinct keys (default 10,000, as bench:pipeline); key i·7919 mod keys, so every
//              key is used once `count ≥ keys` (7919 is prime and divides no key count used here)
//   rate       records per second over all source subtasks (omitted: as fast as possible)
//   heartbeat  'true': every subtask thread posts on the BroadcastChannel HEARTBEAT_CHANNEL its
//              first record and then at most one message per HEARTBEAT_MS, so the benchmark can
//              see when a thread stops and when records flow again (recovery time); parallelism
//              2 assumed for the source's subtask index (bounded generator ranges are contiguous)
import { BroadcastChannel, threadId } from 'node:worker_threads';
import {
  defineJob,
  DiscardingSink,
  GeneratorSource,
  KeyedProcessFunction,
  type Collector,
  type KeyedContext,
  type RuntimeContext,
  type ValueState,
} from 'weir';
import { enrich, step, type Enriched, type Event, type UserCount } from './pipeline-logic.ts';

export const HEARTBEAT_CHANNEL = 'weir-bench-checkpoint-heartbeat';
export const HEARTBEAT_MS = 2;

/** What a subtask thread posts: its thread, its role in the chain and subtask, wall-clock ms (sub-ms precision). */
export interface Heartbeat {
  readonly thread: number;
  readonly role: 'source' | 'keyed';
  readonly subtask: number;
  readonly at: number;
  readonly first: boolean;
}

/** One heartbeat emitter per role per thread (a chain holds one map or one keyed operator). */
function heartbeat(role: Heartbeat['role']): (subtask: number) => void {
  let channel: BroadcastChannel | undefined;
  let last = -Infinity;
  return (subtask) => {
    const now = performance.now();
    if (now - last < HEARTBEAT_MS) return;
    const first = channel === undefined;
    if (channel === undefined) {
      channel = new BroadcastChannel(HEARTBEAT_CHANNEL);
      channel.unref();
    }
    last = now;
    const beat: Heartbeat = { thread: threadId, role, subtask, at: performance.timeOrigin + now, first };
    channel.postMessage(beat);
  };
}

export function generatorFor(keys: number): (i: number) => Event {
  return (i) => ({ user: `user-${(i * 7919) % keys}`, amount: (i % 1000) / 10, seq: i });
}

class RunningCount extends KeyedProcessFunction<string, Enriched, UserCount> {
  #state!: ValueState<UserCount>;
  readonly #beat: ((subtask: number) => void) | undefined;
  #subtask = 0;

  constructor(beat: boolean) {
    super();
    this.#beat = beat ? heartbeat('keyed') : undefined;
  }

  override open(ctx: RuntimeContext): void {
    this.#state = ctx.getValueState('count');
    this.#subtask = ctx.subtaskIndex;
  }

  processElement(e: Enriched, _ctx: KeyedContext<string>, out: Collector<UserCount>): void {
    this.#beat?.(this.#subtask);
    const next = step(this.#state.value(), e);
    this.#state.update(next);
    out.collect(next);
  }
}

export default defineJob((env) => {
  const { count, keys, rate, heartbeat: beat } = env.params;
  const keySpace = keys === undefined ? 10_000 : Number(keys);
  const withBeat = beat === 'true';
  const sourceBeat = withBeat ? heartbeat('source') : undefined;
  const half = Math.floor(Number(count) / 2);
  env
    .fromSource(
      new GeneratorSource({
        count: Number(count),
        ratePerSecond: rate === undefined ? undefined : Number(rate),
        generate: generatorFor(keySpace),
      }),
      'events',
    )
    .map(sourceBeat === undefined ? enrich : (e: Event) => (sourceBeat(e.seq < half ? 0 : 1), enrich(e)))
    .keyBy((e) => e.user)
    .process(new RunningCount(withBeat))
    .sinkTo(new DiscardingSink(), 'discard');
});
