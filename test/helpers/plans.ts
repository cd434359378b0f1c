// Builds a job's logical plan from a builder function, as the runtime does, for API tests.
import { defineJob, type StreamExecutionEnvironment } from '../../src/index.ts';
import type { LogicalPlan } from '../../src/graph/transformation.ts';

export function planOf(build: (env: StreamExecutionEnvironment) => void, parallelism = 1, params: Record<string, string> = {}): LogicalPlan {
  return defineJob(build).buildPlan({ parallelism, maxParallelism: undefined, params });
}
