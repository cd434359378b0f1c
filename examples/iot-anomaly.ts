// IoT anomaly detection: temperature readings from devices (JSON lines, slightly out of order)
// → per device, in event-time order, running statistics (Welford's mean and variance in keyed
// state) that flag a reading more than k standard deviations from the device's mean once it has
// enough samples → anomalies to a side output; and per device, session windows (a session ends
// after a gap without readings) summarizing each session: readings, anomalies, min, max, mean.
//   npx weir run examples/iot-anomaly.ts --parallelism 2
//   npx weir run examples/iot-anomaly.ts --param gapSeconds=240 --param out=/tmp/iot \
//     --checkpoint-dir /tmp/iot-chk
// Params: input (JSON lines {device, time, celsius}, default examples/data/iot/readings.jsonl),
// out (default .weir-out/iot: sessions in <out>/sessions, anomalies in <out>/anomalies),
// k (default 3), minSamples (default 20), gapSeconds (session gap, default 60).
// Guide: docs/guides/iot-anomaly.md.
import {
  defineJob,
  EventTimeSessionWindows,
  FileSink,
  FileSource,
  KeyedProcessFunction,
  OutputTag,
  ProcessWindowFunction,
  WatermarkStrategy,
  type AggregateFunction,
  type Collector,
  type KeyedContext,
  type MapState,
  type OnTimerContext,
  type ProcessWindowContext,
  type RuntimeContext,
  type TimeWindow,
  type ValueState,
} from 'weir';

/** One line of input. */
export interface Reading {
  device: string;
  /** ISO 8601: when the device measured (event time). */
  time: string;
  celsius: number;
}

/** A reading after scoring (the main output of RollingZScore, input of the session windows). */
interface ScoredReading extends Reading {
  anomaly: boolean;
}

export interface Anomaly {
  device: string;
  time: string;
  celsius: number;
  /** The device's mean and standard deviation before this reading, and its z-score. */
  mean: number;
  stddev: number;
  z: number;
}

export interface SessionSummary {
  device: string;
  /** The first reading's time. */
  start: string;
  /** The session window's end: the last reading's time plus the gap. */
  end: string;
  readings: number;
  anomalies: number;
  min: number;
  max: number;
  mean: number;
}

export const ANOMALIES = new OutputTag<Anomaly>('anomalies');

/** Welford's online algorithm: count, mean, and the sum of squared differences from the mean. */
interface RunningStats {
  n: number;
  mean: number;
  m2: number;
}

const round = (x: number, digits: number): number => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * Scores each device's readings in event-time order. Readings arrive out of order, and "the
 * mean so far" depends on the order, so each reading waits in MapState until the watermark
 * passes its timestamp (an event-time timer), then is scored against the running statistics and
 * added to them. Anomalies are not added, so one fault does not widen the normal band.
 */
class RollingZScore extends KeyedProcessFunction<string, Reading, ScoredReading> {
  readonly #k: number;
  readonly #minSamples: number;
  #pending!: MapState<number, Reading[]>;
  #stats!: ValueState<RunningStats>;

  constructor(k: number, minSamples: number) {
    super();
    this.#k = k;
    this.#minSamples = minSamples;
  }

  override open(ctx: RuntimeContext): void {
    this.#pending = ctx.getMapState('pending');
    this.#stats = ctx.getValueState('stats');
  }

  processElement(reading: Reading, ctx: KeyedContext<string>, _out: Collector<ScoredReading>): void {
    const ts = ctx.timestamp()!;
    this.#pending.put(ts, [...(this.#pending.get(ts) ?? []), reading]);
    ctx.timerService().registerEventTimeTimer(ts);
  }

  /** The watermark passed `ts`: every reading of this device up to `ts` has arrived. */
  override onTimer(ts: number, ctx: OnTimerContext<string>, out: Collector<ScoredReading>): void {
    for (const reading of this.#pending.get(ts) ?? []) {
      const stats = this.#stats.value() ?? { n: 0, mean: 0, m2: 0 };
      const x = reading.celsius;
      let anomaly = false;
      if (stats.n >= this.#minSamples) {
        const stddev = Math.sqrt(stats.m2 / (stats.n - 1));
        const z = (x - stats.mean) / stddev;
        if (Math.abs(z) > this.#k) {
          anomaly = true;
          ctx.output(ANOMALIES, { ...reading, mean: round(stats.mean, 2), stddev: round(stddev, 3), z: round(z, 1) });
        }
      }
      if (!anomaly) {
        const n = stats.n + 1;
        const delta = x - stats.mean;
        const mean = stats.mean + delta / n;
        this.#stats.update({ n, mean, m2: stats.m2 + delta * (x - mean) });
      }
      out.collect({ ...reading, anomaly }); // carries the timer's time, `ts`, as its event time
    }
    this.#pending.remove(ts);
  }
}

interface SessionAccumulator {
  readings: number;
  anomalies: number;
  min: number;
  max: number;
  sum: number;
}

/** Folds a session's readings as they arrive; `merge` joins two sessions a reading bridged. */
const sessionStats: AggregateFunction<ScoredReading, SessionAccumulator, SessionAccumulator> = {
  createAccumulator: () => ({ readings: 0, anomalies: 0, min: Infinity, max: -Infinity, sum: 0 }),
  add: (r, acc) => ({
    readings: acc.readings + 1,
    anomalies: acc.anomalies + (r.anomaly ? 1 : 0),
    min: Math.min(acc.min, r.celsius),
    max: Math.max(acc.max, r.celsius),
    sum: acc.sum + r.celsius,
  }),
  getResult: (acc) => acc,
  merge: (a, b) => ({
    readings: a.readings + b.readings,
    anomalies: a.anomalies + b.anomalies,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
    sum: a.sum + b.sum,
  }),
};

/** Adds the device and the session's bounds to its aggregate when the session closes. */
class SummarizeSession extends ProcessWindowFunction<SessionAccumulator, SessionSummary, string, TimeWindow> {
  process(device: string, ctx: ProcessWindowContext<TimeWindow>, elements: Iterable<SessionAccumulator>, out: Collector<SessionSummary>): void {
    for (const acc of elements) {
      out.collect({
        device,
        start: new Date(ctx.window.start).toISOString(),
        end: new Date(ctx.window.end).toISOString(),
        readings: acc.readings,
        anomalies: acc.anomalies,
        min: acc.min,
        max: acc.max,
        mean: round(acc.sum / acc.readings, 2),
      });
    }
  }
}

export default defineJob((env) => {
  const input = env.params.input ?? new URL('./data/iot/readings.jsonl', import.meta.url).pathname;
  const out = env.params.out ?? '.weir-out/iot';
  const k = Number(env.params.k ?? '3');
  const minSamples = Number(env.params.minSamples ?? '20');
  const gapMs = Number(env.params.gapSeconds ?? '60') * 1000;

  const scored = env
    .fromSource(
      new FileSource<Reading>({ path: input, format: 'json' }),
      // Devices send with a few seconds of delay: readings are out of order by up to 5 s.
      WatermarkStrategy.forBoundedOutOfOrderness<Reading>(5_000).withTimestampAssigner((r) => Date.parse(r.time)),
      'readings',
    )
    .uid('readings')
    .keyBy((r) => r.device)
    .process(new RollingZScore(k, minSamples))
    .name('rolling-zscore')
    .uid('rolling-zscore');

  scored
    .getSideOutput(ANOMALIES)
    .sinkTo(new FileSink<Anomaly>({ directory: `${out}/anomalies` }), 'anomalies')
    .uid('anomalies');

  scored
    .keyBy((r) => r.device)
    .window(EventTimeSessionWindows.withGap(gapMs))
    .aggregate(sessionStats, new SummarizeSession())
    .name('sessions')
    .uid('sessions')
    .sinkTo(new FileSink<SessionSummary>({ directory: `${out}/sessions` }), 'session-summaries')
    .uid('session-summaries');
});
