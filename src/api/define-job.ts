/**
 * `defineJob(fn)`: what a job module exports by default. The runtime calls `fn(env)` on the
 * main thread and again on every worker thread, so `fn` must declare the same plan each time
 * (no randomness, no I/O that differs per call).
 */
import { WeirError } from '../errors.ts';
import { JOB_DEFINITION, type JobDefinition, type PlanConfig } from '../graph/job-definition.ts';
import type { LogicalPlan } from '../graph/transformation.ts';
import { createEnvironment, type StreamExecutionEnvironment } from './environment.ts';

export type JobBuilder = (env: StreamExecutionEnvironment) => void;

export function defineJob(fn: JobBuilder): JobDefinition {
  if (typeof fn !== 'function') {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `defineJob() expects a function (env) => { … }, got ${typeof fn}`);
  }
  return {
    [JOB_DEFINITION]: true,
    buildPlan(config: PlanConfig): LogicalPlan {
      const { env, builder } = createEnvironment(config);
      const returned: unknown = fn(env);
      if (returned !== undefined && typeof (returned as { then?: unknown }).then === 'function') {
        throw new WeirError(
          'WEIR_INVALID_JOB',
          'the defineJob() builder must be synchronous: it returned a promise (declare the plan without await)',
        );
      }
      return builder.plan();
    },
  };
}
