/**
 * The environment a job module's builder receives (Flink's StreamExecutionEnvironment): the
 * job's parameters and parallelism, and `fromSource` to start a stream. Evaluated on the main
 * thread and on every worker thread.
 */
import { WeirError } from '../errors.ts';
import type { Source } from '../task/source.ts';
import { WatermarkStrategy } from '../task/time/watermark-strategy.ts';
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

  /**
   * Milliseconds between periodic watermarks of every WatermarkStrategy in the job (Flink's
   * `pipeline.auto-watermark-interval`, default 200).
   */
  setAutoWatermarkInterval(ms: number): this {
    if (!Number.isFinite(ms) || ms <= 0) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `setAutoWatermarkInterval() expects a positive number of milliseconds, got ${String(ms)}`);
    }
    this.#builder.autoWatermarkIntervalMs = ms;
    return this;
  }

  /**
   * Starts a stream from a source; `name` names the source operator. With a WatermarkStrategy,
   * the source subtasks assign event timestamps and generate watermarks (Flink's
   * `fromSource(source, watermarkStrategy, name)`).
   */
  fromSource<T>(source: Source<T>, name: string): DataStream<T>;
  fromSource<T>(source: Source<T>, watermarkStrategy: WatermarkStrategy<T>, name: string): DataStream<T>;
  fromSource<T>(source: Source<T>, strategyOrName: WatermarkStrategy<T> | string, maybeName?: string): DataStream<T> {
    const strategy = strategyOrName instanceof WatermarkStrategy ? strategyOrName : undefined;
    const name = strategy === undefined ? strategyOrName : maybeName;
    if (strategy === undefined && typeof strategyOrName === 'object' && strategyOrName !== null) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'fromSource() expects (source, name) or (source, watermarkStrategy, name)');
    }
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
      watermarkStrategy: strategy as WatermarkStrategy<unknown> | undefined,
    });
    return new DataStream<T>(this.#builder, t);
  }
}

/** @internal */
export function createEnvironment(config: PlanConfig): { env: StreamExecutionEnvironment; builder: PlanBuilder } {
  const builder = new PlanBuilder(config);
  return { env: new StreamExecutionEnvironment(builder), builder };
}
