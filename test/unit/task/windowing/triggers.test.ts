// Triggers: the built-in ones against a recording context (timers, state, merging), and custom
// triggers run by the WindowOperator — per-window trigger state, timers, merging sessions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CountTrigger,
  EventTimeSessionWindows,
  EventTimeTrigger,
  ProcessingTimeTrigger,
  ProcessWindowFunction,
  PurgingTrigger,
  TimeWindow,
  Trigger,
  TumblingEventTimeWindows,
  type Collector,
  type OnMergeContext,
  type ProcessWindowContext,
  type TriggerContext,
  type TriggerResult,
} from '../../../../src/index.ts';
import { throwsCode } from '../../../helpers/errors.ts';
import { WindowHarness, windowTransformation } from '../../../helpers/window-harness.ts';

/** A TriggerContext over plain maps, recording timer calls. */
class RecordingContext {
  watermark = -Infinity;
  now = 0;
  readonly calls: string[] = [];
  readonly state = new Map<string, unknown>();
  namespace = 'w';
  merged: string[] = [];

  context(): OnMergeContext {
    const self = this;
    const reducing = (name: string, reduce: (a: number, b: number) => number) => ({
      get: () => self.state.get(`${name}@${self.namespace}`) as number | undefined,
      add: (v: number) => {
        const key = `${name}@${self.namespace}`;
        const cur = self.state.get(key) as number | undefined;
        self.state.set(key, cur === undefined ? v : reduce(cur, v));
      },
      clear: () => void self.state.delete(`${name}@${self.namespace}`),
    });
    const unsupported = () => {
      throw new Error('not used by the built-in triggers');
    };
    return {
      getCurrentWatermark: () => this.watermark,
      getCurrentProcessingTime: () => this.now,
      registerEventTimeTimer: (t) => void this.calls.push(`+event ${t}`),
      registerProcessingTimeTimer: (t) => void this.calls.push(`+processing ${t}`),
      deleteEventTimeTimer: (t) => void this.calls.push(`-event ${t}`),
      deleteProcessingTimeTimer: (t) => void this.calls.push(`-processing ${t}`),
      getReducingState: reducing as never,
      getValueState: unsupported,
      getListState: unsupported,
      getMapState: unsupported,
      getAggregatingState: unsupported,
      mergeReducingState: (name: string, reduce: (a: never, b: never) => never) => {
        let total: number | undefined = self.state.get(`${name}@${self.namespace}`) as number | undefined;
        for (const m of self.merged) {
          const v = self.state.get(`${name}@${m}`) as number | undefined;
          self.state.delete(`${name}@${m}`);
          if (v !== undefined) total = total === undefined ? v : (reduce as unknown as (a: number, b: number) => number)(total, v);
        }
        if (total !== undefined) self.state.set(`${name}@${self.namespace}`, total);
      },
      mergeAggregatingState: unsupported,
      mergeListState: unsupported,
    };
  }
}

const w = new TimeWindow(0, 10);

test('EventTimeTrigger registers a timer at the window end, fires on it, and fires at once for a window already due', () => {
  const rc = new RecordingContext();
  const t = EventTimeTrigger.create();
  assert.is(t.onElement(null, 3, w, rc.context()), 'CONTINUE');
  assert.equal(rc.calls, ['+event 9']);
  assert.is(t.onEventTime(9, w, rc.context()), 'FIRE');
  assert.is(t.onEventTime(8, w, rc.context()), 'CONTINUE');
  assert.is(t.onProcessingTime(9, w, rc.context()), 'CONTINUE');
  rc.watermark = 9;
  assert.is(t.onElement(null, 3, w, rc.context()), 'FIRE', 'a late element within the lateness fires');
  t.clear(w, rc.context());
  assert.equal(rc.calls, ['+event 9', '-event 9']);
  assert.ok(t.canMerge());
  rc.calls.length = 0;
  rc.watermark = 29;
  t.onMerge(new TimeWindow(0, 30), rc.context());
  assert.equal(rc.calls, [], 'a merged window already due gets no new timer');
  t.onMerge(new TimeWindow(0, 40), rc.context());
  assert.equal(rc.calls, ['+event 39']);
});

test('ProcessingTimeTrigger registers a processing-time timer at the window end and fires on it', () => {
  const rc = new RecordingContext();
  const t = ProcessingTimeTrigger.create();
  assert.is(t.onElement(null, Number.NaN, w, rc.context()), 'CONTINUE');
  assert.is(t.onProcessingTime(9, w, rc.context()), 'FIRE');
  assert.is(t.onEventTime(9, w, rc.context()), 'CONTINUE');
  rc.now = 50;
  t.onMerge(new TimeWindow(0, 40), rc.context());
  t.onMerge(new TimeWindow(0, 60), rc.context());
  t.clear(w, rc.context());
  assert.equal(rc.calls, ['+processing 9', '+processing 59', '-processing 9']);
});

test('CountTrigger fires every n elements per window and merges counts; PurgingTrigger turns FIRE into FIRE_AND_PURGE', () => {
  const rc = new RecordingContext();
  const t = CountTrigger.of(3);
  const results: TriggerResult[] = [];
  for (let i = 0; i < 7; i++) results.push(t.onElement(null, 0, w, rc.context()));
  assert.equal(results, ['CONTINUE', 'CONTINUE', 'FIRE', 'CONTINUE', 'CONTINUE', 'FIRE', 'CONTINUE']);
  rc.namespace = 'other';
  t.onElement(null, 0, w, rc.context());
  rc.namespace = 'result';
  rc.merged = ['w', 'other'];
  t.onMerge(w, rc.context());
  assert.equal([...rc.state], [['count@result', 2]]);
  t.clear(w, rc.context());
  assert.is(rc.state.size, 0);
  const purging = PurgingTrigger.of(CountTrigger.of(2));
  rc.namespace = 'p';
  assert.equal([purging.onElement(null, 0, w, rc.context()), purging.onElement(null, 0, w, rc.context())], ['CONTINUE', 'FIRE_AND_PURGE']);
  assert.is(purging.toString(), 'PurgingTrigger(CountTrigger(2))');
  assert.ok(purging.canMerge());
  throwsCode(() => CountTrigger.of(0), 'WEIR_INVALID_ARGUMENT', /positive integer count/);
  throwsCode(() => PurgingTrigger.of({} as never), 'WEIR_INVALID_ARGUMENT', /expects a Trigger/);
});

interface R {
  key: string;
  v: number;
}
const r = (key: string, v: number): R => ({ key, v });

class Values extends ProcessWindowFunction<R, unknown, string, TimeWindow> {
  process(key: string, ctx: ProcessWindowContext<TimeWindow>, elements: Iterable<R>, out: Collector<unknown>): void {
    out.collect({ key, start: ctx.window.start, end: ctx.window.end, values: [...elements].map((e) => e.v).sort((a, b) => a - b) });
  }
}

/** Fires early every `every` elements of a window (count in window state) and on time at its end. */
class EarlyFiring extends Trigger<R, TimeWindow> {
  constructor(readonly every: number) {
    super();
  }

  onElement(_r: R, _ts: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
    ctx.registerEventTimeTimer(window.maxTimestamp());
    const seen = ctx.getValueState<number>('seen');
    const n = (seen.value() ?? 0) + 1;
    seen.update(n);
    return n % this.every === 0 ? 'FIRE' : 'CONTINUE';
  }

  onEventTime(time: number, window: TimeWindow): TriggerResult {
    return time === window.maxTimestamp() ? 'FIRE' : 'CONTINUE';
  }

  onProcessingTime(): TriggerResult {
    return 'CONTINUE';
  }

  clear(window: TimeWindow, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(window.maxTimestamp());
    ctx.getValueState('seen').clear();
  }
}

test('a custom trigger with per-window state and timers fires early and on time, and its clear leaves no state', async () => {
  const h = await WindowHarness.open(windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).trigger(new EarlyFiring(2)).process(new Values())));
  try {
    h.element(r('a', 1), 1).element(r('a', 2), 2).element(r('b', 9), 3).element(r('a', 3), 3).element(r('a', 11), 11);
    assert.equal(h.values(), [{ key: 'a', start: 0, end: 10, values: [1, 2] }], 'early firing after 2 elements of a in [0,10)');
    h.watermark(Infinity);
    assert.equal(h.values().slice(1), [
      { key: 'a', start: 0, end: 10, values: [1, 2, 3] },
      { key: 'b', start: 0, end: 10, values: [9] },
      { key: 'a', start: 10, end: 20, values: [11] },
    ]);
    assert.is(h.stateEntries(), 0);
  } finally {
    await h.close();
  }
});

test('CountTrigger on session windows merges the merged sessions counts, so a bridging record completes the count', async () => {
  const h = await WindowHarness.open(
    windowTransformation<R>((s) => s.window(EventTimeSessionWindows.withGap(10)).trigger(PurgingTrigger.of(CountTrigger.of(3))).process(new Values())),
  );
  try {
    h.element(r('a', 1), 0).element(r('a', 2), 20);
    assert.equal(h.values(), []);
    h.element(r('a', 3), 10); // [10,20) bridges [0,10) and [20,30): counts 1 + 1, then + 1
    assert.equal(h.values(), [{ key: 'a', start: 0, end: 30, values: [1, 2, 3] }]);
    h.watermark(Infinity);
    assert.is(h.stateEntries(), 0);
  } finally {
    await h.close();
  }
});

test('a processing-time trigger on event-time windows fires again for records after its first firing (the window lives on until its event-time cleanup)', async () => {
  const h = await WindowHarness.open(
    windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).trigger(ProcessingTimeTrigger.create()).process(new Values())),
  );
  try {
    h.element(r('a', 1), 1).advanceProcessingTime(9);
    assert.equal(h.values(), [{ key: 'a', start: 0, end: 10, values: [1] }]);
    h.element(r('a', 2), 2).advanceProcessingTime(10);
    assert.equal(h.values().at(-1), { key: 'a', start: 0, end: 10, values: [1, 2] });
    h.watermark(9);
    assert.is(h.out.length, 2, 'the event-time cleanup purges without firing');
    assert.is(h.stateEntries(), 0);
  } finally {
    await h.close();
  }
});

test('a trigger returning something else than a TriggerResult fails the job naming the trigger', async () => {
  class Broken extends Trigger<R, TimeWindow> {
    onElement(): TriggerResult {
      return 'fire' as TriggerResult;
    }
    onEventTime(): TriggerResult {
      return 'CONTINUE';
    }
    onProcessingTime(): TriggerResult {
      return 'CONTINUE';
    }
    clear(): void {}
  }
  const h = await WindowHarness.open(windowTransformation<R>((s) => s.window(TumblingEventTimeWindows.of(10)).trigger(new Broken()).process(new Values())));
  try {
    throwsCode(() => h.element(r('a', 1), 1), 'WEIR_USER_FUNCTION_FAILED', /trigger\.onElement: Broken\(\)\.onElement returned fire, expected a TriggerResult/);
  } finally {
    await h.close();
  }
});

test.run();
