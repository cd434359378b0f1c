// The WindowOperator driven directly (records, watermarks and an injected processing-time clock
// by hand): when windows fire, what they emit and with which timestamp, lateness and late data,
// merging sessions, count windows, combined functions, per-window state, and state cleanup.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CountTrigger,
  EventTimeSessionWindows,
  OutputTag,
  ProcessingTimeSessionWindows,
  ProcessWindowFunction,
  PurgingTrigger,
  SlidingEventTimeWindows,
  TimeWindow,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  type AggregateFunction,
  type Collector,
  type ProcessWindowContext,
  type ValueState,
} from '../../../../src/index.ts';
import { canonicalKey, keyGroupOf, subtaskForKeyGroup } from '../../../../src/state/key-groups.ts';
import { throwsCode } from '../../../helpers/errors.ts';
import { WindowHarness, windowTransformation } from '../../../helpers/window-harness.ts';

interface R {
  key: string;
  v: number;
}

const r = (key: string, v: number): R => ({ key, v });
const sumReduce = (a: R, b: R): R => ({ key: a.key, v: a.v + b.v });
const late = new OutputTag<R>('late');

/** Emits `{key, start, end, values}` with the elements' v in arrival order. */
class Collect extends ProcessWindowFunction<R, unknown, string, TimeWindow> {
  process(key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Iterable<R>, out: Collector<unknown>): void {
    out.collect({ key, start: ctx.window.start, end: ctx.window.end, values: [...elements].map((e) => e.v) });
  }
}

const countSum: AggregateFunction<R, { n: number; sum: number }, { n: number; sum: number }> = {
  createAccumulator: () => ({ n: 0, sum: 0 }),
  add: (value, acc) => ({ n: acc.n + 1, sum: acc.sum + value.v }),
  getResult: (acc) => acc,
  merge: (a, b) => ({ n: a.n + b.n, sum: a.sum + b.sum }),
};

test('tumbling event-time windows fire once the watermark passes their end, with timestamp end − 1, and leave no state behind', async () => {
  const h = await WindowHarness.open(windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).reduce(sumReduce)));
  try {
    h.element(r('a', 1), 0).element(r('a', 2), 9).element(r('b', 5), 3).element(r('a', 4), 10);
    h.watermark(8);
    assert.equal(h.out, [], 'nothing before the watermark reaches 9');
    h.watermark(9);
    assert.equal(
      h.out.map((e) => [e.value, e.timestamp]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      [
        [{ key: 'a', v: 3 }, 9],
        [{ key: 'b', v: 5 }, 9],
      ],
    );
    assert.equal(h.watermarks, [8, 9], 'watermarks are forwarded after the timers fired');
    h.watermark(Infinity);
    assert.equal(h.values().slice(2), [{ key: 'a', v: 4 }]);
    assert.is(h.stateEntries(), 0, 'contents and timers are gone');
  } finally {
    await h.close();
  }
});

test('sliding windows put a record in size/slide windows and aggregate each', async () => {
  const h = await WindowHarness.open(windowTransformation<R>((s) => s.window(SlidingEventTimeWindows.of(10, 5)).process(new Collect())));
  try {
    h.element(r('a', 1), 3).element(r('a', 2), 7).element(r('a', 3), 12);
    h.watermark(Infinity);
    assert.equal(h.values(), [
      { key: 'a', start: -5, end: 5, values: [1] },
      { key: 'a', start: 0, end: 10, values: [1, 2] },
      { key: 'a', start: 5, end: 15, values: [2, 3] },
      { key: 'a', start: 10, end: 20, values: [3] },
    ]);
    assert.equal(
      h.out.map((e) => e.timestamp),
      [4, 9, 14, 19],
    );
  } finally {
    await h.close();
  }
});

test('a record whose windows are all past the watermark goes to the late side output, or is counted as dropped', async () => {
  const withTag = await WindowHarness.open(
    windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).sideOutputLateData(late).reduce(sumReduce)),
  );
  const without = await WindowHarness.open(windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).reduce(sumReduce)));
  try {
    for (const h of [withTag, without]) {
      h.element(r('a', 1), 5).watermark(9).element(r('a', 2), 9).element(r('a', 3), 10).watermark(Infinity);
      assert.equal(h.values(), [r('a', 1), r('a', 3)]);
    }
    assert.equal(withTag.side.get('late'), [{ value: r('a', 2), timestamp: 9 }], 'the late record keeps its own timestamp');
    assert.is(withTag.operator.numLateRecordsDropped, 0);
    assert.is(without.operator.numLateRecordsDropped, 1);
    assert.is(without.side.size, 0);
  } finally {
    await withTag.close();
    await without.close();
  }
});

test('within the allowed lateness a late record fires its window again at once; after the cleanup time it is late', async () => {
  const h = await WindowHarness.open(
    windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).allowedLateness(5).sideOutputLateData(late).reduce(sumReduce)),
  );
  try {
    h.element(r('a', 1), 2).watermark(9);
    assert.equal(h.values(), [r('a', 1)], 'on time');
    h.element(r('a', 10), 3);
    assert.equal(h.values(), [r('a', 1), r('a', 11)], 'a late firing with the accumulated value');
    h.watermark(13).element(r('a', 100), 4);
    assert.equal(h.values().at(-1), r('a', 111));
    h.watermark(14); // cleanup time 9 + 5
    h.element(r('a', 1000), 5);
    assert.equal(h.sideValues('late'), [r('a', 1000)]);
    assert.is(h.out.length, 3);
    assert.ok(h.out.every((e) => e.timestamp === 9));
    assert.is(h.stateEntries(), 0);
  } finally {
    await h.close();
  }
});

test('session windows merge when records bridge them, and keep each session apart otherwise', async () => {
  const h = await WindowHarness.open(windowTransformation<R>((s) => s.window(EventTimeSessionWindows.withGap(10)).process(new Collect())));
  try {
    h.element(r('a', 1), 0).element(r('a', 2), 25).element(r('b', 7), 1);
    h.element(r('a', 3), 12); // [12,22) touches neither [0,10) nor [25,35): alone
    h.element(r('a', 4), 10); // [10,20) touches [0,10) and overlaps [12,22): merges those
    h.element(r('a', 5), 22); // [22,32) touches [0,22) and overlaps [25,35): all one session
    h.watermark(Infinity);
    // A merged session's records come in the order its parts were merged: compare them sorted.
    const rows = (h.values() as Array<{ key: string; start: number; end: number; values: number[] }>)
      .map((row) => ({ ...row, values: [...row.values].sort((x, y) => x - y) }))
      .sort((x, y) => x.key.localeCompare(y.key));
    assert.equal(rows, [
      { key: 'a', start: 0, end: 35, values: [1, 2, 3, 4, 5] },
      { key: 'b', start: 1, end: 11, values: [7] },
    ]);
    assert.equal(
      h.out.map((e) => e.timestamp).sort((x, y) => x - y),
      [10, 34],
    );
    assert.is(h.stateEntries(), 0, 'merging sets, contents and timers are gone');
  } finally {
    await h.close();
  }
});

test('session aggregates merge their accumulators; a session fires once the watermark passes its merged end', async () => {
  const h = await WindowHarness.open(windowTransformation<R>((s) => s.window(EventTimeSessionWindows.withGap(10)).aggregate(countSum)));
  try {
    h.element(r('a', 1), 0).element(r('a', 2), 15);
    h.watermark(9);
    assert.equal(h.values(), [{ n: 1, sum: 1 }], '[0,10) fired alone');
    h.element(r('a', 4), 20).element(r('a', 8), 8); // 8: [8,18) overlaps [15,30), session [0,10) is gone
    h.watermark(27);
    assert.equal(h.values().length, 1, 'the merged session [8,30) is not due before 29');
    h.watermark(29);
    assert.equal(h.values(), [
      { n: 1, sum: 1 },
      { n: 3, sum: 14 },
    ]);
  } finally {
    await h.close();
  }
});

test('countWindow(n) fires every n records of a key and purges; countWindow(size, slide) fires every slide over the last size', async () => {
  const tumbling = await WindowHarness.open(windowTransformation<R>((s) => s.countWindow(3).reduce(sumReduce)));
  const sliding = await WindowHarness.open(
    windowTransformation<R>((s) =>
      s.countWindow(3, 2).process(
        new (class extends ProcessWindowFunction<R, number[], string, never> {
          process(_key: string, _ctx: unknown, elements: Iterable<R>, out: Collector<number[]>): void {
            out.collect([...elements].map((e) => e.v));
          }
        })(),
      ),
    ),
  );
  try {
    for (let v = 1; v <= 7; v++) {
      tumbling.element(r('a', v)).element(r('b', 10 * v));
      sliding.element(r('a', v));
    }
    assert.equal(tumbling.values(), [r('a', 6), r('b', 60), r('a', 15), r('b', 150)]);
    assert.ok(tumbling.out.every((e) => e.timestamp === Number.MAX_SAFE_INTEGER), 'results of the global window carry its max timestamp');
    assert.equal(sliding.values(), [
      [1, 2],
      [2, 3, 4],
      [4, 5, 6],
    ]);
    tumbling.watermark(Infinity);
    assert.is(tumbling.out.length, 4, 'the end of event time fires no count window');
  } finally {
    await tumbling.close();
    await sliding.close();
  }
});

test('processing-time windows fire from the injected clock, not from watermarks', async () => {
  const h = await WindowHarness.open(
    windowTransformation<R>((s) => s.window(TumblingProcessingTimeWindows.of(100)).reduce(sumReduce)),
    { now: 1_000 },
  );
  try {
    h.element(r('a', 1)).element(r('a', 2));
    h.advanceProcessingTime(1_050).element(r('a', 4));
    h.watermark(Infinity);
    assert.equal(h.values(), [], 'a watermark does not fire processing-time windows');
    h.advanceProcessingTime(1_098);
    assert.equal(h.values(), []);
    h.advanceProcessingTime(1_099);
    assert.equal(h.out, [{ value: r('a', 7), timestamp: 1_099 }]);
    h.element(r('a', 8)).advanceProcessingTime(1_250);
    assert.equal(h.values().at(-1), r('a', 8));
    assert.is(h.stateEntries(), 0);
  } finally {
    await h.close();
  }
});

test('processing-time sessions merge records arriving within the gap of each other', async () => {
  const h = await WindowHarness.open(windowTransformation<R>((s) => s.window(ProcessingTimeSessionWindows.withGap(10)).process(new Collect())));
  try {
    h.advanceProcessingTime(100).element(r('a', 1));
    h.advanceProcessingTime(105).element(r('a', 2));
    h.advanceProcessingTime(113).element(r('a', 3)); // [100,115) is due at 114: still open
    h.advanceProcessingTime(121);
    assert.equal(h.values(), []);
    h.advanceProcessingTime(122);
    assert.equal(h.values(), [{ key: 'a', start: 100, end: 123, values: [1, 2, 3] }]);
    h.advanceProcessingTime(200).element(r('a', 4)).advanceProcessingTime(210);
    assert.equal(h.values().at(-1), { key: 'a', start: 200, end: 210, values: [4] }, 'a new session after the gap');
    assert.is(h.stateEntries(), 0);
  } finally {
    await h.close();
  }
});

test('reduce and aggregate hand their single result to the ProcessWindowFunction', async () => {
  class Wrap extends ProcessWindowFunction<unknown, unknown, string, TimeWindow> {
    process(key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Iterable<unknown>, out: Collector<unknown>): void {
      out.collect({ key, end: ctx.window.end, elements: [...elements] });
    }
  }
  const reduced = await WindowHarness.open(windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).reduce(sumReduce, new Wrap())));
  const aggregated = await WindowHarness.open(windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).aggregate(countSum, new Wrap())));
  try {
    for (const h of [reduced, aggregated]) h.element(r('a', 1), 1).element(r('a', 2), 2).watermark(Infinity);
    assert.equal(reduced.values(), [{ key: 'a', end: 10, elements: [r('a', 3)] }]);
    assert.equal(aggregated.values(), [{ key: 'a', end: 10, elements: [{ n: 2, sum: 3 }] }]);
  } finally {
    await reduced.close();
    await aggregated.close();
  }
});

test('a ProcessWindowFunction has per-window state, per-key global state, side outputs, time, and clear at cleanup', async () => {
  const info = new OutputTag<string>('info');
  class Firings extends ProcessWindowFunction<R, unknown, string, TimeWindow> {
    process(key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Iterable<R>, out: Collector<unknown>): void {
      const firings = ctx.windowState().getValueState<number>('firings');
      firings.update((firings.value() ?? 0) + 1);
      const total: ValueState<number> = ctx.globalState().getValueState('total');
      total.update((total.value() ?? 0) + 1);
      ctx.output(info, `${key}@${ctx.window.start} wm=${ctx.currentWatermark()}`);
      out.collect({ key, start: ctx.window.start, firing: firings.value(), total: total.value(), n: [...elements].length });
    }

    override clear(ctx: ProcessWindowContext<TimeWindow>): void {
      ctx.windowState().getValueState('firings').clear();
    }
  }
  const h = await WindowHarness.open(
    windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).allowedLateness(100).process(new Firings())),
  );
  try {
    h.element(r('a', 1), 1).element(r('a', 1), 11).watermark(19);
    h.element(r('a', 1), 2);
    assert.equal(h.values(), [
      { key: 'a', start: 0, firing: 1, total: 1, n: 1 },
      { key: 'a', start: 10, firing: 1, total: 2, n: 1 },
      { key: 'a', start: 0, firing: 2, total: 3, n: 2 },
    ]);
    assert.equal(h.side.get('info')!.map((e) => [e.value, e.timestamp]), [
      ['a@0 wm=19', 9],
      ['a@10 wm=19', 19],
      ['a@0 wm=19', 9],
    ]);
    h.watermark(Infinity);
    // Left: only the global state 'total' of key a.
    assert.is(h.stateEntries(), 1, 'window contents, timers and the cleared window state are gone');
  } finally {
    await h.close();
  }
});

test('per-window state is refused for session windows (their windows change as they merge), as in Flink', async () => {
  class UsesWindowState extends ProcessWindowFunction<R, unknown, string, TimeWindow> {
    process(_key: string, ctx: ProcessWindowContext<TimeWindow>): void {
      ctx.windowState();
    }
  }
  const h = await WindowHarness.open(windowTransformation<R>((s) => s.window(EventTimeSessionWindows.withGap(10)).process(new UsesWindowState())));
  try {
    h.element(r('a', 1), 1);
    throwsCode(() => h.watermark(Infinity), 'WEIR_INVALID_ARGUMENT', /windowState\(\) is not available with merging \(session\) windows/);
  } finally {
    await h.close();
  }
});

test('a custom trigger replaces the default: PurgingTrigger(CountTrigger) fires every 2 records; cleanup still purges at the end', async () => {
  const h = await WindowHarness.open(
    windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).trigger(PurgingTrigger.of(CountTrigger.of(2))).process(new Collect())),
  );
  try {
    for (let v = 1; v <= 5; v++) h.element(r('a', v), v);
    assert.equal(h.values(), [
      { key: 'a', start: 0, end: 10, values: [1, 2] },
      { key: 'a', start: 0, end: 10, values: [3, 4] },
    ]);
    h.watermark(Infinity);
    assert.is(h.out.length, 2, 'the count trigger does not fire on time; the last record is purged with the window');
    assert.is(h.stateEntries(), 0);
  } finally {
    await h.close();
  }
});

test('an event-time window needs record timestamps: WEIR_INVALID_TIMESTAMP naming the WatermarkStrategy', async () => {
  const h = await WindowHarness.open(windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).reduce(sumReduce)));
  try {
    throwsCode(() => h.element(r('a', 1)), 'WEIR_INVALID_TIMESTAMP', /WatermarkStrategy/);
  } finally {
    await h.close();
  }
});

test('a throwing reduce function fails with WEIR_USER_FUNCTION_FAILED naming the phase and operator', async () => {
  const h = await WindowHarness.open(
    windowTransformation<R>((s) =>
      s.window(TumblingEventTimeWindows.of(10)).reduce(() => {
        throw new Error('boom');
      }),
    ),
  );
  try {
    h.element(r('a', 1), 1);
    const error = throwsCode(() => h.element(r('a', 2), 2), 'WEIR_USER_FUNCTION_FAILED', /failed in reduce: boom/);
    assert.is(error.context.operatorId, 'window');
  } finally {
    await h.close();
  }
});

test('restoring a snapshot into a fresh operator continues every open window exactly (heap and lsm)', async () => {
  for (const backend of ['heap', 'lsm'] as const) {
    const declare = windowTransformation<R>((s) => s.window(EventTimeSessionWindows.withGap(10)).process(new Collect()));
    const first = await WindowHarness.open(declare, { backend });
    let snapshot;
    try {
      first.element(r('a', 1), 0).element(r('b', 2), 3).element(r('a', 3), 5).watermark(4);
      snapshot = first.snapshot();
      first.element(r('a', 99), 6); // after the snapshot: lost with the failure
    } finally {
      await first.close();
    }
    const second = await WindowHarness.open(declare, { backend, restore: snapshot });
    try {
      second.element(r('a', 4), 14).watermark(Infinity);
      const rows = (second.values() as Array<{ key: string }>).sort((x, y) => x.key.localeCompare(y.key));
      assert.equal(rows, [
        { key: 'a', start: 0, end: 24, values: [1, 3, 4] },
        { key: 'b', start: 3, end: 13, values: [2] },
      ], backend);
      assert.is(second.stateEntries(), 0, backend);
    } finally {
      await second.close();
    }
  }
});

test('process windows keep records in arrival order across chunks, and count eviction rewrites them (heap and lsm)', async () => {
  for (const backend of ['heap', 'lsm'] as const) {
    const all = await WindowHarness.open(windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(1000)).process(new Collect())), { backend });
    const evicting = await WindowHarness.open(
      windowTransformation<R>((s) =>
        s.countWindow(100, 30).aggregate({ createAccumulator: () => [] as number[], add: (e, acc) => [...acc, e.v], getResult: (acc) => acc }),
      ),
      { backend },
    );
    try {
      for (let v = 0; v < 200; v++) {
        all.element(r('a', v), v);
        evicting.element(r('a', v));
      }
      all.watermark(Infinity);
      assert.equal(all.values(), [{ key: 'a', start: 0, end: 1000, values: Array.from({ length: 200 }, (_, i) => i) }], backend);
      const windows = evicting.values() as number[][];
      assert.equal(
        windows.map((w) => [w[0], w.at(-1), w.length]),
        [
          [0, 29, 30],
          [0, 59, 60],
          [0, 89, 90],
          [20, 119, 100],
          [50, 149, 100],
          [80, 179, 100],
        ],
        backend,
      );
      assert.ok(windows.every((w) => w.every((v, i) => i === 0 || v === w[i - 1]! + 1)), 'each window is a run of consecutive records');
    } finally {
      await all.close();
      await evicting.close();
    }
  }
});

test('a snapshot taken at parallelism 1 restores into two subtasks, each continuing the windows of its key groups', async () => {
  const declare = windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).process(new Collect()));
  const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
  const single = await WindowHarness.open(declare);
  let snapshot;
  try {
    keys.forEach((key, i) => single.element(r(key, i), 1));
    snapshot = single.snapshot();
  } finally {
    await single.close();
  }
  const subtasks = [
    await WindowHarness.open(declare, { restore: snapshot, subtaskIndex: 0, parallelism: 2 }),
    await WindowHarness.open(declare, { restore: snapshot, subtaskIndex: 1, parallelism: 2 }),
  ];
  try {
    const owner = (key: string) => subtasks[subtaskForKeyGroup(keyGroupOf(canonicalKey(key), 128), 2, 128)]!;
    keys.forEach((key, i) => owner(key).element(r(key, 100 + i), 2));
    for (const h of subtasks) h.watermark(Infinity);
    assert.ok(subtasks.every((h) => h.out.length > 0), 'both subtasks own some keys');
    const rows = subtasks.flatMap((h) => h.values()) as Array<{ key: string; values: number[] }>;
    assert.equal(
      rows.sort((a, b) => a.key.localeCompare(b.key)),
      keys.map((key, i) => ({ key, start: 0, end: 10, values: [i, 100 + i] })).sort((a, b) => a.key.localeCompare(b.key)),
    );
  } finally {
    for (const h of subtasks) await h.close();
  }
});

test.run();
