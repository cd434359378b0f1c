// Window assigners: which windows a timestamp falls in (offsets, negative timestamps, slides
// that do not divide the size), session merging, argument checks, and the windows themselves.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EventTimeSessionWindows,
  EventTimeTrigger,
  GlobalWindow,
  GlobalWindows,
  NeverTrigger,
  ProcessingTimeSessionWindows,
  ProcessingTimeTrigger,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  TimeWindow,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
} from '../../../../src/index.ts';
import { windowFromNamespace } from '../../../../src/task/windowing/window.ts';
import { throwsCode } from '../../../helpers/errors.ts';

const clock = (now: number) => ({ getCurrentProcessingTime: () => now });
const spans = (windows: readonly TimeWindow[]) => windows.map((w) => [w.start, w.end]);

test('tumbling windows are [start, start + size) aligned to the epoch, negative timestamps included', () => {
  const tumbling = TumblingEventTimeWindows.of(10);
  const at = (ts: number) => spans(tumbling.assignWindows(null, ts, clock(0)));
  assert.equal(at(0), [[0, 10]]);
  assert.equal(at(9), [[0, 10]]);
  assert.equal(at(10), [[10, 20]]);
  assert.equal(at(-1), [[-10, 0]]);
  assert.equal(at(-10), [[-10, 0]]);
  assert.equal(at(-11), [[-20, -10]]);
  assert.is(tumbling.isEventTime(), true);
  assert.instance(tumbling.getDefaultTrigger(), EventTimeTrigger);
});

test('a tumbling offset shifts the alignment (both signs), and the same start gives back the same window object', () => {
  const plus = TumblingEventTimeWindows.of(10, 3);
  assert.equal(spans(plus.assignWindows(null, 2, clock(0))), [[-7, 3]]);
  assert.equal(spans(plus.assignWindows(null, 3, clock(0))), [[3, 13]]);
  const minus = TumblingEventTimeWindows.of(10, -3);
  assert.equal(spans(minus.assignWindows(null, 7, clock(0))), [[7, 17]]);
  assert.equal(spans(minus.assignWindows(null, -4, clock(0))), [[-13, -3]]);
  const first = plus.assignWindows(null, 5, clock(0));
  assert.is(plus.assignWindows(null, 12, clock(0)), first, 'no allocation while the window is the same');
});

test('sliding windows: every window of size holding the timestamp, latest first, when the slide divides the size or not', () => {
  const hop = SlidingEventTimeWindows.of(10, 5);
  assert.equal(spans(hop.assignWindows(null, 7, clock(0))), [
    [5, 15],
    [0, 10],
  ]);
  assert.equal(spans(hop.assignWindows(null, -1, clock(0))), [
    [-5, 5],
    [-10, 0],
  ]);
  const uneven = SlidingEventTimeWindows.of(5, 3);
  assert.equal(spans(uneven.assignWindows(null, 4, clock(0))), [
    [3, 8],
    [0, 5],
  ]);
  assert.equal(spans(uneven.assignWindows(null, 5, clock(0))), [[3, 8]], '[0, 5) no longer holds 5, though the last start is the same');
  assert.equal(spans(uneven.assignWindows(null, 3, clock(0))), [
    [3, 8],
    [0, 5],
  ]);
  const gaps = SlidingEventTimeWindows.of(2, 5);
  assert.equal(spans(gaps.assignWindows(null, 3, clock(0))), [], 'a slide larger than the size leaves gaps');
  const offset = SlidingEventTimeWindows.of(10, 5, 2);
  assert.equal(spans(offset.assignWindows(null, 2, clock(0))), [
    [2, 12],
    [-3, 7],
  ]);
});

test('processing-time assigners use the clock, not the record timestamp', () => {
  assert.equal(spans(TumblingProcessingTimeWindows.of(100).assignWindows(null, 5, clock(1234))), [[1200, 1300]]);
  assert.equal(spans(SlidingProcessingTimeWindows.of(100, 50).assignWindows(null, Number.NaN, clock(1234))), [
    [1200, 1300],
    [1150, 1250],
  ]);
  assert.equal(spans(ProcessingTimeSessionWindows.withGap(10).assignWindows(null, 5, clock(77))), [[77, 87]]);
  for (const assigner of [TumblingProcessingTimeWindows.of(1), SlidingProcessingTimeWindows.of(2, 1), ProcessingTimeSessionWindows.withGap(1)]) {
    assert.is(assigner.isEventTime(), false);
    assert.instance(assigner.getDefaultTrigger(), ProcessingTimeTrigger);
  }
});

test('session windows are [t, t + gap), and a dynamic gap comes from the record', () => {
  assert.equal(spans(EventTimeSessionWindows.withGap(30).assignWindows(null, -5, clock(0))), [[-5, 25]]);
  const dynamic = EventTimeSessionWindows.withDynamicGap<{ gap: number }>((r) => r.gap);
  assert.equal(spans(dynamic.assignWindows({ gap: 7 }, 100, clock(0))), [[100, 107]]);
  throwsCode(() => dynamic.assignWindows({ gap: 0 }, 100, clock(0)), 'WEIR_INVALID_ARGUMENT', /dynamic session gap must be a positive/);
  const processing = ProcessingTimeSessionWindows.withDynamicGap<{ gap: number }>((r) => r.gap);
  assert.equal(spans(processing.assignWindows({ gap: 3 }, Number.NaN, clock(50))), [[50, 53]]);
});

test('TimeWindow.mergeWindows merges overlapping and touching windows into their cover, reporting only real merges', () => {
  const merges: Array<[number[][], number[]]> = [];
  const windows = [new TimeWindow(20, 30), new TimeWindow(0, 10), new TimeWindow(10, 15), new TimeWindow(40, 50), new TimeWindow(14, 18), new TimeWindow(31, 35)];
  TimeWindow.mergeWindows(windows, (merged, result) => merges.push([spans(merged), [result.start, result.end]]));
  assert.equal(merges, [
    [
      [
        [0, 10],
        [10, 15],
        [14, 18],
      ],
      [0, 18],
    ],
  ]);
  assert.ok(new TimeWindow(0, 10).intersects(new TimeWindow(10, 20)), 'touching windows intersect (Flink)');
  assert.not.ok(new TimeWindow(0, 10).intersects(new TimeWindow(11, 20)));
  assert.equal(spans([new TimeWindow(5, 8).cover(new TimeWindow(0, 6))]), [[0, 8]]);
});

test('windows: maxTimestamp is end − 1, the global window never ends, and namespaces round-trip', () => {
  const w = new TimeWindow(-20, -10);
  assert.is(w.maxTimestamp(), -11);
  assert.ok((windowFromNamespace(w.namespace) as TimeWindow).equals(w));
  assert.ok((windowFromNamespace(new TimeWindow(0.5, 1e15).namespace) as TimeWindow).equals(new TimeWindow(0.5, 1e15)));
  assert.is(GlobalWindow.get(), GlobalWindow.get());
  assert.is(windowFromNamespace(GlobalWindow.get().namespace), GlobalWindow.get());
  assert.is(GlobalWindow.get().maxTimestamp(), Number.MAX_SAFE_INTEGER);
  const global = GlobalWindows.create();
  assert.equal(global.assignWindows(), [GlobalWindow.get()]);
  assert.is(global.isEventTime(), false);
  assert.instance(global.getDefaultTrigger(), NeverTrigger);
  assert.is(w.toString(), 'TimeWindow{start=-20, end=-10}');
});

test('assigner arguments are checked with messages naming them', () => {
  throwsCode(() => TumblingEventTimeWindows.of(0), 'WEIR_INVALID_ARGUMENT', /TumblingEventTimeWindows\.of\(\) expects the size as a positive integer/);
  throwsCode(() => TumblingEventTimeWindows.of(10, 10), 'WEIR_INVALID_ARGUMENT', /abs\(offset\) < size \(10\), got 10/);
  throwsCode(() => TumblingProcessingTimeWindows.of(1.5), 'WEIR_INVALID_ARGUMENT', /size/);
  throwsCode(() => SlidingEventTimeWindows.of(10, 0), 'WEIR_INVALID_ARGUMENT', /the slide as a positive integer/);
  throwsCode(() => SlidingEventTimeWindows.of(10, 5, -5), 'WEIR_INVALID_ARGUMENT', /abs\(offset\) < slide/);
  throwsCode(() => SlidingProcessingTimeWindows.of(-1, 5), 'WEIR_INVALID_ARGUMENT', /the size/);
  throwsCode(() => EventTimeSessionWindows.withGap(0), 'WEIR_INVALID_ARGUMENT', /the gap as a positive integer/);
  throwsCode(() => ProcessingTimeSessionWindows.withGap(Number.NaN), 'WEIR_INVALID_ARGUMENT', /the gap/);
  throwsCode(() => EventTimeSessionWindows.withDynamicGap(5 as never), 'WEIR_INVALID_ARGUMENT', /withDynamicGap\(\) expects a function/);
});

test.run();
