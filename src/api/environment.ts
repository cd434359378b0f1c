/**
 * The environment a job module's builder receives (Flink's StreamExecutionEnvironment): the
 * job's parameters and parallelism, and `fromSource` to start a stream. Evaluated on the main
 * thread and on every worker thread.
 */
import { WeirError } from '../errors.ts';
import type { Source } from '../task/source.ts';
import { DataStream } from './data-stream.ts';
import { PlanBuilder } from './plan-builder.ts';
import type { PlanConfig } from '../graph/job-definition.ts';

export class StreamExecutionEnvironment {
  readonly #builder: PlanBuilder;

  /** @internal */
  constructor(builder: PlanBuilder) {
    this.#builder = builder;
  }

  /** `--param key=value` pairs (`run(job, { params })`). */
  get params(): Readonly<Record<string, string>> {
    return this.#builder.config.params;
  }

  /** The job's default parallelism (`--parallelism`). */
  get parallelism(): number {
    return this.#builder.config.parallelism;
  }

  /**
   * Runs every operator in its own subtask thread instead of chaining neighbours into direct
   * calls (Flink's method of the same name). For debugging and measurement: chaining is faster.
   */
  disableOperatorChaining(): this {
    this.#builder.chaining = false;
    return this;
  }

  /** Starts a stream from a source; `name` names the source operator. */
  fromSource<T>(source: Source<T>, name: string): DataStream<T> {
    if (typeof source !== 'object' || source === null || typeof (source as Source<T>).createReader !== 'function') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'fromSource() expects a source (an object with createReader)');
    }
    if (typeof name !== 'string' || name.trim() === '') {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `fromSource() expects a non-empty name, got ${JSON.stringify(name)}`);
    }
    const t = this.#builder.add({
      kind: 'source',
      name,
      uid: undefined,
      parallelism: undefined,
      source: source as Source<unknown>,
    });
    return new DataStream<T>(this.#builder, t);
  }
}

/** @internal */
export function createEnvironment(config: PlanConfig): { env: StreamExecutionEnvironment; builder: PlanBuilder } {
  const builder = new PlanBuilder(config);
  return { env: new StreamExecutionEnvironment(builder), builder };
}
