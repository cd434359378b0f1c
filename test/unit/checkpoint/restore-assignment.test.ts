import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CollectSink,
  defineJob,
  FileSink,
  GeneratorSource,
  KeyedProcessFunction,
  type Collector,
  type KeyedContext,
} from '../../../src/index.ts';
import { buildJobGraph, type JobGraph } from '../../../src/graph/job-graph.ts';
import { dealListState, planRestore, subtaskKey, type LoadedCheckpoint } from '../../../src/checkpoint/restore-assignment.ts';
import type { OperatorSnapshot, StateHandle, SubtaskSnapshot } from '../../../src/checkpoint/metadata.ts';
import { keyGroupRangeFor, loadKeyHasher } from '../../../src/state/key-groups.ts';
import { throwsCode } from '../../helpers/errors.ts';

test.before(async () => {
  await loadKeyHasher();
});

class Count extends KeyedProcessFunction<number, number, number> {
  processElement(value: number, _ctx: KeyedContext<number>, out: Collector<number>): void {
    out.collect(value);
  }
}

/** gen (source, list state) → keyBy → counter (keyed state) → out (two-phase FileSink), all at `parallelism`. */
function graphOf(parallelism: number, maxParallelism?: number): JobGraph {
  const plan = defineJob((env) => {
    env
      .fromSource(new GeneratorSource({ count: 10, generate: (i) => i }), 'gen')
      .keyBy((x) => x % 5)
      .process(new Count())
      .uid('counter')
      .sinkTo(new FileSink<number>({ directory: '/nonexistent/weir-test' }), 'out');
  }).buildPlan({ parallelism, maxParallelism, params: {} });
  return buildJobGraph(plan);
}

let handleCount = 0;
function handle(): StateHandle {
  handleCount++;
  return { path: `chk-7/state-${handleCount}.state`, bytes: handleCount, checksum: handleCount.toString(16).padStart(16, '0') };
}

/** A checkpoint taken at `parallelism`: counter's keyed handles by range, gen's and out's lists as given. */
function checkpointAt(
  parallelism: number,
  maxParallelism: number,
  lists: { gen: unknown[][]; out: unknown[][] },
): { loaded: LoadedCheckpoint; keyed: StateHandle[] } {
  const keyed = Array.from({ length: parallelism }, () => handle());
  const counter: OperatorSnapshot = {
    uid: 'counter',
    parallelism,
    subtasks: keyed.map((h, i): SubtaskSnapshot => ({ keyGroupRange: keyGroupRangeFor(i, parallelism, maxParallelism), keyed: h })),
  };
  const listOperator = (uid: string, perSubtask: unknown[][]): OperatorSnapshot => ({
    uid,
    parallelism,
    subtasks: perSubtask.map((l) => (l.length === 0 ? {} : { operatorState: handle() })),
  });
  const loaded: LoadedCheckpoint = {
    metadata: {
      version: 1,
      jobName: 'job',
      checkpointId: 7,
      kind: 'checkpoint',
      triggerTimestamp: 1,
      completedTimestamp: 2,
      maxParallelism,
      operators: [listOperator('gen', lists.gen), counter, listOperator('out', lists.out)],
      stats: { stateBytes: 0, durationMs: 1 },
    },
    lists: new Map([
      ['gen', lists.gen],
      ['out', lists.out],
      ['counter', counter.subtasks.map(() => [])],
    ]),
  };
  return { loaded, keyed };
}

function vertexOf(graph: JobGraph, uid: string): number {
  const vertex = graph.vertices.find((v) => v.chain.some((n) => n.uid === uid));
  assert.ok(vertex, `a vertex runs ${uid}`);
  return vertex!.index;
}


const LISTS = { gen: [['s0', 's1'], ['s2']], out: [[], []] };

test('the test graph chains the keyed operator and the sink, with the default maxParallelism 128', () => {
  const graph = graphOf(2);
  assert.is(graph.maxParallelism, 128);
  assert.equal(graph.vertices.map((v) => v.chain.map((n) => n.uid)), [['gen'], ['counter', 'out']]);
});

test('at equal parallelism every subtask restores exactly its own keyed handle and its own list', () => {
  const graph = graphOf(2);
  const { loaded, keyed } = checkpointAt(2, 128, LISTS);
  const plan = planRestore(loaded, graph);
  const counter = vertexOf(graph, 'counter');
  const gen = vertexOf(graph, 'gen');
  assert.is(plan.subtasks.size, 4);
  for (const i of [0, 1]) {
    const restore = plan.subtasks.get(subtaskKey(counter, i))!;
    assert.is(restore.checkpointId, 7);
    assert.equal(restore.operators.counter!.keyed, [keyed[i]]);
    assert.equal(restore.operators.counter!.operatorState, []);
    assert.equal(plan.subtasks.get(subtaskKey(gen, i))!.operators.gen!.operatorState, LISTS.gen[i]);
    assert.equal(plan.subtasks.get(subtaskKey(gen, i))!.operators.gen!.keyed, []);
  }
});

test('scaling 2 → 3: each new subtask restores every old keyed handle whose key-group range overlaps its own', () => {
  const graph = graphOf(3);
  const { loaded, keyed } = checkpointAt(2, 128, LISTS);
  const plan = planRestore(loaded, graph);
  const counter = vertexOf(graph, 'counter');
  const old = [keyGroupRangeFor(0, 2, 128), keyGroupRangeFor(1, 2, 128)];
  for (let i = 0; i < 3; i++) {
    const range = keyGroupRangeFor(i, 3, 128);
    const expected = keyed.filter((_, j) => old[j]!.start <= range.end && old[j]!.end >= range.start);
    assert.equal(plan.subtasks.get(subtaskKey(counter, i))!.operators.counter!.keyed, expected, `new subtask ${i}`);
  }
  // [0,63] [64,127] onto [0,42] [43,85] [86,127]: the middle subtask needs both.
  assert.equal(plan.subtasks.get(subtaskKey(counter, 0))!.operators.counter!.keyed, [keyed[0]]);
  assert.equal(plan.subtasks.get(subtaskKey(counter, 1))!.operators.counter!.keyed, [keyed[0], keyed[1]]);
  assert.equal(plan.subtasks.get(subtaskKey(counter, 2))!.operators.counter!.keyed, [keyed[1]]);
});

test('scaling 2 → 1: the single subtask restores every keyed handle', () => {
  const graph = graphOf(1);
  const { loaded, keyed } = checkpointAt(2, 128, LISTS);
  const plan = planRestore(loaded, graph);
  assert.equal(plan.subtasks.get(subtaskKey(vertexOf(graph, 'counter'), 0))!.operators.counter!.keyed, keyed);
});

test('at another parallelism list state is dealt round robin in old-subtask order', () => {
  const lists = { gen: [['a', 'b', 'c'], ['d'], ['e', 'f']], out: [[], [], []] };
  const up = graphOf(4);
  const { loaded } = checkpointAt(3, 128, lists);
  const planUp = planRestore(loaded, up);
  const gen = vertexOf(up, 'gen');
  assert.equal(
    [0, 1, 2, 3].map((i) => planUp.subtasks.get(subtaskKey(gen, i))!.operators.gen!.operatorState),
    [['a', 'e'], ['b', 'f'], ['c'], ['d']],
  );
  const down = graphOf(2);
  const planDown = planRestore(loaded, down);
  assert.equal(
    [0, 1].map((i) => planDown.subtasks.get(subtaskKey(vertexOf(down, 'gen'), i))!.operators.gen!.operatorState),
    [['a', 'c', 'e'], ['b', 'd', 'f']],
  );
  const one = graphOf(1);
  assert.equal(planRestore(loaded, one).subtasks.get(subtaskKey(vertexOf(one, 'gen'), 0))!.operators.gen!.operatorState, ['a', 'b', 'c', 'd', 'e', 'f']);
});

test('dealListState keeps each subtask’s own entries at equal parallelism, also when they are unbalanced', () => {
  const lists = [['a', 'b', 'c'], [], ['d']];
  assert.equal(dealListState(lists, 0, 3), ['a', 'b', 'c']);
  assert.equal(dealListState(lists, 1, 3), []);
  assert.equal(dealListState(lists, 2, 3), ['d']);
  const copy = dealListState(lists, 0, 3);
  copy.push('x');
  assert.equal(lists[0], ['a', 'b', 'c'], 'the result is a copy');
  assert.equal(dealListState([], 0, 2), []);
});

test('sink committables are collected for the coordinator from every old subtask and not dealt to subtasks', () => {
  const lists = { gen: [[], []], out: [[{ pending: 'p0' }], [{ pending: 'p1' }, { pending: 'p2' }]] };
  for (const parallelism of [1, 2, 3]) {
    const graph = graphOf(parallelism);
    const { loaded } = checkpointAt(2, 128, lists);
    const plan = planRestore(loaded, graph);
    assert.equal(plan.sinkCommittables.get('out'), [{ pending: 'p0' }, { pending: 'p1' }, { pending: 'p2' }], `parallelism ${parallelism}`);
    assert.equal([...plan.sinkCommittables.keys()], ['out']);
    const vertex = vertexOf(graph, 'out');
    for (let i = 0; i < parallelism; i++) {
      const operators = plan.subtasks.get(subtaskKey(vertex, i))!.operators;
      assert.not.ok('out' in operators, `subtask ${i} restores nothing for the sink`);
      assert.ok('counter' in operators);
    }
  }
});

test('a checkpoint taken with another maxParallelism is WEIR_CHECKPOINT_INCOMPATIBLE naming both values', () => {
  const { loaded } = checkpointAt(2, 256, LISTS);
  throwsCode(
    () => planRestore(loaded, graphOf(2)),
    'WEIR_CHECKPOINT_INCOMPATIBLE',
    /checkpoint 7 was taken with maxParallelism 256, the job now has 128.*set options.maxParallelism to 256/,
  );
  // The same maxParallelism set explicitly is compatible.
  assert.is(planRestore(loaded, graphOf(2, 256)).subtasks.size, 4);
});

test('state of an operator uid the job does not have is WEIR_CHECKPOINT_INCOMPATIBLE naming the uid', () => {
  const { loaded } = checkpointAt(2, 128, LISTS);
  const foreign: LoadedCheckpoint = {
    metadata: { ...loaded.metadata, operators: [...loaded.metadata.operators, { uid: 'renamed', parallelism: 2, subtasks: [{}, {}] }] },
    lists: loaded.lists,
  };
  throwsCode(() => planRestore(foreign, graphOf(2)), 'WEIR_CHECKPOINT_INCOMPATIBLE', /holds state of operator 'renamed', which this job does not have/);
});

test('operators without state in the checkpoint get no restore entry', () => {
  const plan = defineJob((env) => {
    env.fromSource(new GeneratorSource({ count: 1, generate: (i) => i }), 'gen').map((x) => x).sinkTo(new CollectSink(), 'collect');
  }).buildPlan({ parallelism: 1, maxParallelism: undefined, params: {} });
  const graph = buildJobGraph(plan);
  const { loaded } = checkpointAt(1, 128, { gen: [['only']], out: [[]] });
  const onlyGen: LoadedCheckpoint = { metadata: { ...loaded.metadata, operators: [loaded.metadata.operators[0]!] }, lists: loaded.lists };
  const restore = planRestore(onlyGen, graph);
  const operators = restore.subtasks.get(subtaskKey(0, 0))!.operators;
  assert.equal(Object.keys(operators), ['gen']);
  assert.equal(operators.gen!.operatorState, ['only']);
  assert.is(restore.sinkCommittables.size, 0);
});

test.run();
