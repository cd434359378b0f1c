// WindowedStream and KeyedStream.window/countWindow: the window transformation they record, and
// the WEIR_INVALID_ARGUMENT errors that name the bad argument.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CountTrigger,
  EventTimeSessionWindows,
  EventTimeTrigger,
  GeneratorSource,
  GlobalWindows,
  OutputTag,
  ProcessWindowFunction,
  PurgingTrigger,
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  Trigger,
  type TriggerResult,
  type Collector,
  type KeyedStream,
  type TimeWindow,
} from '../../../src/index.ts';
import type { WindowTransformation } from '../../../src/graph/transformation.ts';
import { throwsCode } from '../../helpers/errors.ts';
import { planOf } from '../../helpers/plans.ts';

type Keyed = KeyedStream<number, number>;

function windowOf(declare: (keyed: Keyed) => unknown): WindowTransformation {
  const plan = planOf((env) => void declare(env.fromSource(new GeneratorSource({ count: 1, generate: (i) => i }), 'gen').keyBy((x) => x % 3)));
  const windows = plan.transformations.filter((t): t is WindowTransformation => t.kind === 'window');
  assert.is(windows.length, 1);
  return windows[0]!;
}

function rejects(declare: (keyed: Keyed) => unknown, message: RegExp): void {
  throwsCode(() => windowOf(declare), 'WEIR_INVALID_ARGUMENT', message);
}

class Pass extends ProcessWindowFunction<number, number, number, TimeWindow> {
  process(_key: number, _ctx: unknown, elements: Iterable<number>, out: Collector<number>): void {
    for (const e of elements) out.collect(e);
  }
}

const sumAgg = { createAccumulator: () => 0, add: (v: number, a: number) => a + v, getResult: (a: number) => a };

test('window(...).reduce records a window operator with the keyBy input, the default trigger and no lateness', () => {
  const key = (x: number) => x % 3;
  const t = windowOf((s) => s.window(TumblingEventTimeWindows.of(1000)).reduce((a, b) => a + b));
  assert.is(t.input.kind, 'partition');
  assert.is(t.keySelector(4), key(4));
  assert.instance(t.spec.trigger, EventTimeTrigger);
  assert.is(t.spec.allowedLatenessMs, 0);
  assert.is(t.spec.lateDataTag, undefined);
  assert.is(t.spec.evictToCount, undefined);
  assert.is(t.spec.fn.kind, 'reduce');
  assert.is(t.name, 'Window(TumblingEventTimeWindows(1000), EventTimeTrigger(), reduce)');
});

test('trigger, allowedLateness, sideOutputLateData and a ProcessWindowFunction all land in the spec', () => {
  const tag = new OutputTag<number>('late');
  const trigger = CountTrigger.of(5);
  const pass = new Pass();
  const t = windowOf((s) => s.window(SlidingEventTimeWindows.of(10, 5)).trigger(trigger).allowedLateness(250).sideOutputLateData(tag).aggregate(sumAgg, pass));
  assert.is(t.spec.trigger, trigger);
  assert.is(t.spec.allowedLatenessMs, 250);
  assert.is(t.spec.lateDataTag, 'late');
  assert.equal(t.spec.fn.kind, 'aggregate');
  assert.is(t.spec.fn.process, pass);
  assert.match(t.name, /aggregate\+process/);
});

test('countWindow(n) is a global window purged every n records; countWindow(size, slide) fires every slide and keeps size', () => {
  const tumbling = windowOf((s) => s.countWindow(3).reduce((a, b) => a + b));
  assert.instance(tumbling.spec.assigner, GlobalWindows);
  assert.instance(tumbling.spec.trigger, PurgingTrigger);
  assert.is(tumbling.spec.trigger.toString(), 'PurgingTrigger(CountTrigger(3))');
  assert.is(tumbling.spec.evictToCount, undefined);
  const sliding = windowOf((s) => s.countWindow(5, 2).process(new Pass()));
  assert.is(sliding.spec.trigger.toString(), 'CountTrigger(2)');
  assert.is(sliding.spec.evictToCount, 5);
});

test('bad window() and countWindow() arguments are rejected', () => {
  rejects((s) => s.window({} as never), /window\(\) expects a WindowAssigner/);
  rejects((s) => s.countWindow(0), /countWindow\(\) expects size as a positive integer, got 0/);
  rejects((s) => s.countWindow(3, 1.5), /countWindow\(\) expects slide as a positive integer, got 1\.5/);
});

test('bad WindowedStream arguments are rejected with messages naming them', () => {
  const tumbling = (s: Keyed) => s.window(TumblingEventTimeWindows.of(10));
  rejects((s) => tumbling(s).allowedLateness(-1), /allowedLateness\(\) expects a non-negative integer number of milliseconds, got -1/);
  rejects((s) => tumbling(s).allowedLateness(Number.NaN), /allowedLateness\(\)/);
  rejects((s) => tumbling(s).sideOutputLateData('late' as never), /sideOutputLateData\(\) expects an OutputTag/);
  rejects((s) => tumbling(s).trigger({} as never), /trigger\(\) expects a Trigger/);
  rejects((s) => tumbling(s).reduce(5 as never), /reduce\(\) expects a function \(a, b\) => value, got number/);
  rejects((s) => tumbling(s).reduce((a) => a, {} as never), /reduce\(\) expects a ProcessWindowFunction/);
  rejects((s) => tumbling(s).aggregate({ add: () => 0 } as never), /aggregate\(\) expects an AggregateFunction/);
  rejects((s) => tumbling(s).aggregate({ ...sumAgg, merge: 3 } as never), /merge must be a function/);
  rejects((s) => tumbling(s).process(null as never), /process\(\) expects a ProcessWindowFunction .*got null/);
});

test('merging windows need a trigger that can merge and an AggregateFunction with merge', () => {
  const sessions = (s: Keyed) => s.window(EventTimeSessionWindows.withGap(10));
  rejects((s) => sessions(s).aggregate(sumAgg), /aggregate\(\) on merging windows \(EventTimeSessionWindows\(10\)\) needs an AggregateFunction with merge/);
  class NoMerge extends Trigger<number, TimeWindow> {
    onElement(): TriggerResult {
      return 'FIRE';
    }
    onEventTime(): TriggerResult {
      return 'CONTINUE';
    }
    onProcessingTime(): TriggerResult {
      return 'CONTINUE';
    }
    clear(): void {}
  }
  rejects((s) => sessions(s).trigger(new NoMerge()), /NoMerge\(\) cannot merge windows \(canMerge\(\) is false\)/);
  const ok = windowOf((s) => sessions(s).aggregate({ ...sumAgg, merge: (a: number, b: number) => a + b }));
  assert.is(ok.spec.fn.kind, 'aggregate');
});

test('processing-time windows default to the processing-time trigger', () => {
  const t = windowOf((s) => s.window(TumblingProcessingTimeWindows.of(100)).process(new Pass()));
  assert.is(t.spec.trigger.toString(), 'ProcessingTimeTrigger()');
  assert.is(t.spec.assigner.isEventTime(), false);
});

test.run();
