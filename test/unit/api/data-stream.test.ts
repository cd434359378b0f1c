import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CollectSink,
  DataStream,
  GeneratorSource,
  KeyedProcessFunction,
  KeyedStream,
  type Collector,
  type KeyedContext,
} from '../../../src/index.ts';
import type { LogicalPlan, OperatorTransformation } from '../../../src/graph/transformation.ts';
import { throwsCode } from '../../helpers/errors.ts';
import { planOf } from '../../helpers/plans.ts';

/** Runs `declare` on a fresh source stream inside a job build, expecting it to throw `code`. */
function declaring(declare: (stream: DataStream<number>) => unknown, code: string, message: RegExp): void {
  throwsCode(() => planOf((env) => void declare(env.fromSource(source(), 'gen'))), code, message);
}

const source = () => new GeneratorSource({ count: 5, generate: (i) => i });

class Count extends KeyedProcessFunction<number, number, number> {
  processElement(value: number, _ctx: KeyedContext<number>, out: Collector<number>): void {
    out.collect(value);
  }
}

function operators(plan: LogicalPlan): OperatorTransformation[] {
  return plan.transformations.filter((t): t is OperatorTransformation => t.kind !== 'partition' && t.kind !== 'union');
}

test('the plan lists transformations in declaration order, numbered from 0, virtual ones included', () => {
  const plan = planOf((env) => {
    env
      .fromSource(source(), 'gen')
      .map((x) => x)
      .keyBy((x) => x % 2)
      .process(new Count())
      .rebalance()
      .filter(() => true)
      .flatMap((x) => [x, x])
      .sinkTo(new CollectSink(), 'out');
  });
  assert.equal(
    plan.transformations.map((t) => [t.id, t.kind]),
    [
      [0, 'source'],
      [1, 'map'],
      [2, 'partition'],
      [3, 'process'],
      [4, 'partition'],
      [5, 'filter'],
      [6, 'flatMap'],
      [7, 'sink'],
    ],
  );
  assert.equal(operators(plan).map((t) => t.name), ['gen', 'Map', 'KeyedProcess', 'Filter', 'FlatMap', 'out']);
});

test('name(), uid() and setParallelism() set the operator they are called on', () => {
  const plan = planOf((env) => {
    env
      .fromSource(source(), 'gen')
      .uid('src')
      .setParallelism(2)
      .map((x) => x)
      .name('double')
      .uid('double.v1_a-b')
      .setParallelism(3)
      .sinkTo(new CollectSink())
      .name('collected')
      .uid('sink')
      .setParallelism(1);
  });
  assert.equal(
    operators(plan).map((t) => [t.name, t.uid, t.parallelism]),
    [
      ['gen', 'src', 2],
      ['double', 'double.v1_a-b', 3],
      ['collected', 'sink', 1],
    ],
  );
});

test('keyBy returns a KeyedStream; its process/reduce get the key selector', () => {
  const key = (x: number) => x % 2;
  const plan = planOf((env) => {
    const keyed = env.fromSource(source(), 'gen').keyBy(key);
    assert.instance(keyed, KeyedStream);
    keyed.reduce((a, b) => a + b).sinkTo(new CollectSink());
  });
  const reduce = plan.transformations.find((t) => t.kind === 'reduce');
  assert.ok(reduce !== undefined && reduce.kind === 'reduce');
  assert.is(reduce.keySelector, key);
});

test('map, filter, flatMap, keyBy and reduce reject a non-function with WEIR_INVALID_ARGUMENT naming the method', () => {
  const bad: unknown[] = ['x => x', null, undefined, 42, {}];
  for (const fn of bad) {
    const shown = fn === null ? 'null' : typeof fn;
    declaring((s) => s.map(fn as never), 'WEIR_INVALID_ARGUMENT', new RegExp(`^map\\(\\) expects a function, got ${shown}`));
    declaring((s) => s.filter(fn as never), 'WEIR_INVALID_ARGUMENT', new RegExp(`^filter\\(\\) expects a function, got ${shown}`));
    declaring((s) => s.flatMap(fn as never), 'WEIR_INVALID_ARGUMENT', new RegExp(`^flatMap\\(\\) expects a function, got ${shown}`));
    declaring((s) => s.keyBy(fn as never), 'WEIR_INVALID_ARGUMENT', new RegExp(`^keyBy\\(\\) expects a function, got ${shown}`));
    declaring((s) => s.keyBy((x) => x).reduce(fn as never), 'WEIR_INVALID_ARGUMENT', new RegExp(`^reduce\\(\\) expects a function, got ${shown}`));
  }
});

test('process() rejects anything without processElement, naming the method', () => {
  for (const fn of [(x: number) => x, null, {}, { processElement: 1 }]) {
    declaring((s) => s.keyBy((x) => x).process(fn as never), 'WEIR_INVALID_ARGUMENT', /^process\(\) expects a KeyedProcessFunction/);
  }
});

test('sinkTo() rejects anything without createWriter, naming the method', () => {
  for (const sink of [null, {}, () => {}, { createWriter: true }]) {
    declaring((s) => s.sinkTo(sink as never), 'WEIR_INVALID_ARGUMENT', /^sinkTo\(\) expects a sink/);
  }
});

test('name() rejects empty and non-string names', () => {
  for (const name of ['', '   ', 5, null]) {
    declaring((s) => s.map((x) => x).name(name as never), 'WEIR_INVALID_ARGUMENT', /^name\(\) expects a non-empty string/);
  }
});

test('uid() accepts letters, digits, ".", "_" and "-" starting with a letter or digit, and rejects the rest', () => {
  for (const uid of ['', '-map', '.map', 'my map', 'map/1', 'ü', 7, undefined]) {
    declaring((s) => s.map((x) => x).uid(uid as never), 'WEIR_INVALID_ARGUMENT', /^uid\(\) expects letters, digits/);
  }
  const plan = planOf((env) => void env.fromSource(source(), 'gen').uid('0a.B_c-d'));
  assert.is(operators(plan)[0]!.uid, '0a.B_c-d');
});

test('setParallelism() rejects zero, negatives, fractions and non-numbers', () => {
  for (const p of [0, -1, 1.5, NaN, Infinity, '2', undefined]) {
    declaring((s) => s.map((x) => x).setParallelism(p as never), 'WEIR_INVALID_ARGUMENT', /^setParallelism\(\) expects a positive integer/);
  }
});

test('setParallelism(), name() and uid() on a keyBy, rebalance, broadcast or union result are rejected', () => {
  declaring((s) => s.keyBy((x) => x).setParallelism(2), 'WEIR_INVALID_ARGUMENT', /^setParallelism\(\) applies to an operator, not to a keyBy\/rebalance\/broadcast/);
  declaring((s) => s.keyBy((x) => x).name('k'), 'WEIR_INVALID_ARGUMENT', /^name\(\) applies to an operator/);
  declaring((s) => s.rebalance().uid('r'), 'WEIR_INVALID_ARGUMENT', /^uid\(\) applies to an operator/);
  declaring((s) => s.broadcast().setParallelism(2), 'WEIR_INVALID_ARGUMENT', /^setParallelism\(\) applies to an operator/);
  declaring((s) => s.union(s.map((x) => x)).name('u'), 'WEIR_INVALID_ARGUMENT', /^name\(\) applies to an operator, not to a union/);
});

test('union() needs at least one other stream, all from the same job', () => {
  declaring((s) => s.union(), 'WEIR_INVALID_ARGUMENT', /^union\(\) needs at least one other stream/);
  declaring((s) => s.union({} as never), 'WEIR_INVALID_ARGUMENT', /^union\(\) expects streams of the same job/);
  let foreign: DataStream<number> | undefined;
  planOf((env) => {
    foreign = env.fromSource(source(), 'other');
  });
  declaring((s) => s.union(foreign!), 'WEIR_INVALID_ARGUMENT', /^union\(\) expects streams of the same job/);
});

test.run();
