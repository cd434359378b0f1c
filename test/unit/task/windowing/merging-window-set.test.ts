// MergingWindowSet: which actual window a new session window ends up in, which state window keeps
// the contents, what the merge callback is told, retiring, and persisting to state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventTimeSessionWindows, TimeWindow } from '../../../../src/index.ts';
import type { ValueState } from '../../../../src/state/state.ts';
import { MergingWindowSet } from '../../../../src/task/windowing/merging-window-set.ts';
import type { MergingWindowAssigner } from '../../../../src/task/windowing/window-assigners.ts';

function memoryState(): ValueState<number[]> & { stored: number[] | undefined; writes: number } {
  return {
    stored: undefined,
    writes: 0,
    value() {
      return this.stored;
    },
    update(v) {
      this.writes++;
      this.stored = v;
    },
    clear() {
      this.writes++;
      this.stored = undefined;
    },
  };
}

const assigner = EventTimeSessionWindows.withGap(10) as unknown as MergingWindowAssigner<unknown, TimeWindow>;
const span = (w: TimeWindow | undefined) => (w === undefined ? undefined : [w.start, w.end]);

interface Merge {
  result: number[];
  merged: number[][];
  stateResult: number[];
  mergedState: number[][];
}

function recorder(): { merges: Merge[]; fn: Parameters<MergingWindowSet['addWindow']>[1] } {
  const merges: Merge[] = [];
  return {
    merges,
    fn: (result, merged, stateResult, mergedState) =>
      merges.push({ result: span(result)!, merged: merged.map((w) => span(w)!), stateResult: span(stateResult)!, mergedState: mergedState.map((w) => span(w)!) }),
  };
}

test('a window overlapping nothing is its own state window; one inside an existing window changes nothing', () => {
  const state = memoryState();
  const set = new MergingWindowSet(state, assigner).load();
  const { merges, fn } = recorder();
  assert.equal(span(set.addWindow(new TimeWindow(0, 10), fn)), [0, 10]);
  assert.equal(span(set.addWindow(new TimeWindow(20, 30), fn)), [20, 30]);
  assert.equal(span(set.getStateWindow(new TimeWindow(20, 30))), [20, 30]);
  assert.equal(span(set.addWindow(new TimeWindow(0, 10), fn)), [0, 10], 'the same window again');
  assert.equal(merges, []);
  set.persist();
  assert.equal(state.stored, [0, 10, 0, 10, 20, 30, 20, 30]);
});

test('a window bridging two sessions merges them; the first keeps its state window and the other is folded in', () => {
  const state = memoryState();
  const set = new MergingWindowSet(state, assigner).load();
  const { merges, fn } = recorder();
  set.addWindow(new TimeWindow(0, 10), fn);
  set.addWindow(new TimeWindow(20, 30), fn);
  const actual = set.addWindow(new TimeWindow(10, 20), fn);
  assert.equal(span(actual), [0, 30]);
  assert.equal(merges, [{ result: [0, 30], merged: [[0, 10], [20, 30]], stateResult: [0, 10], mergedState: [[20, 30]] }]);
  assert.equal(span(set.getStateWindow(actual)), [0, 10]);
  assert.equal(set.windows().map(span), [[0, 30]]);
  // Extending the merged session again keeps the same state window: no contents move.
  const { merges: more, fn: fn2 } = recorder();
  const extended = set.addWindow(new TimeWindow(25, 35), fn2);
  assert.equal(span(extended), [0, 35]);
  assert.equal(more, [{ result: [0, 35], merged: [[0, 30]], stateResult: [0, 10], mergedState: [] }]);
});

test('a window inside an in-flight window is merged into it without a merge callback', () => {
  const set = new MergingWindowSet(memoryState(), assigner).load();
  const { merges, fn } = recorder();
  set.addWindow(new TimeWindow(0, 10), fn);
  set.addWindow(new TimeWindow(5, 15), fn);
  merges.length = 0;
  assert.equal(span(set.addWindow(new TimeWindow(3, 13), fn)), [0, 15]);
  assert.equal(merges, []);
});

test('the set survives persist and load; retiring the last window clears the state', () => {
  const state = memoryState();
  const set = new MergingWindowSet(state, assigner).load();
  const { fn } = recorder();
  set.addWindow(new TimeWindow(0, 10), fn);
  set.addWindow(new TimeWindow(5, 15), fn);
  set.persist();
  const writes = state.writes;
  const again = new MergingWindowSet(state, assigner).load();
  assert.equal(again.windows().map(span), [[0, 15]]);
  assert.equal(span(again.getStateWindow(new TimeWindow(0, 15))), [0, 10]);
  again.persist();
  assert.is(state.writes, writes, 'an unchanged set is not written');
  again.retireWindow(new TimeWindow(0, 15));
  again.persist();
  assert.is(state.stored, undefined);
  assert.throws(() => again.retireWindow(new TimeWindow(0, 15)), /not in the in-flight window set/);
});

test.run();
