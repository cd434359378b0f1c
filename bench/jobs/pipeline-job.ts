// bench:pipeline's job: source → map → keyBy → running count (KeyedProcessFunction with
// ValueState) → discarding sink. Params: count, chaining ('false' runs every operator in its own
// thread, as the plan looks at parallelism > 1).
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
import { enrich, generate, step, type Enriched, type UserCount } from './pipeline-logic.ts';

class RunningCount extends KeyedProcessFunction<string, Enriched, UserCount> {
  #state!: ValueState<UserCount>;

  override open(ctx: RuntimeContext): void {
    this.#state = ctx.getValueState('count');
  }

  processElement(e: Enriched, _ctx: KeyedContext<string>, out: Collector<UserCount>): void {
    const next = step(this.#state.value(), e);
    this.#state.update(next);
    out.collect(next);
  }
}

export default defineJob((env) => {
  if (env.params.chaining === 'false') env.disableOperatorChaining();
  env
    .fromSource(new GeneratorSource({ count: Number(env.params.count), generate }), 'events')
    .map(enrich)
    .keyBy((e) => e.user)
    .process(new RunningCount())
    .sinkTo(new DiscardingSink(), 'discard');
});
