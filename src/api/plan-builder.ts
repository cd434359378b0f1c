/**
 * Collects the transformations a job module declares, numbering them in declaration order so
 * every thread builds an identical plan. Internal to the API layer.
 */
import type { LogicalPlan, Transformation } from '../graph/transformation.ts';
import type { PlanConfig } from '../graph/job-definition.ts';

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** @internal */
export class PlanBuilder {
  readonly config: PlanConfig;
  readonly #transformations: Transformation[] = [];
  chaining = true;
  autoWatermarkIntervalMs = 200;

  constructor(config: PlanConfig) {
    this.config = config;
  }

  add<T extends Transformation>(t: WithoutId<T>): T {
    const full = { ...t, id: this.#transformations.length } as unknown as T;
    this.#transformations.push(full);
    return full;
  }

  plan(): LogicalPlan {
    return {
      transformations: [...this.#transformations],
      parallelism: this.config.parallelism,
      maxParallelism: this.config.maxParallelism,
      params: this.config.params,
      chaining: this.chaining,
      autoWatermarkIntervalMs: this.autoWatermarkIntervalMs,
    };
  }
}
