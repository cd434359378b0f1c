import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CollectSink, GeneratorSource, defineJob, type StreamExecutionEnvironment } from '../../../src/index.ts';
import { buildJobGraph, edgeChannels, type JobGraph } from '../../../src/graph/job-graph.ts';
import { throwsCode } from '../../helpers/errors.ts';

function graphOf(
  build: (env: StreamExecutionEnvironment) => void,
  config: { parallelism?: number; maxParallelism?: number } = {},
): JobGraph {
  const plan = defineJob(build).buildPlan({
    parallelism: config.parallelism ?? 1,
    maxParallelism: config.maxParallelism,
    params: {},
  });
  return buildJobGraph(plan);
}


const source = () => new GeneratorSource({ count: 10, generate: (i) => i });

function chains(graph: JobGraph): string[][] {
  return graph.vertices.map((v) => v.chain.map((n) => n.uid));
}

test('a forward pipeline of equal parallelism (source → map → filter → sink) is chained into one vertex', () => {
  const graph = graphOf((env) => {
    env
      .fromSource(source(), 'gen')
      .map((x) => x + 1)
      .filter((x) => x > 0)
      .sinkTo(new CollectSink(), 'out');
  }, { parallelism: 3 });
  assert.is(graph.nodes.length, 4);
  assert.is(graph.vertices.length, 1);
  assert.is(graph.edges.length, 0);
  const [vertex] = graph.vertices;
  assert.equal(vertex!.chain.map((n) => n.uid), ['gen', 'map', 'filter', 'out']);
  assert.is(vertex!.parallelism, 3);
  assert.is(vertex!.name, 'gen -> Map -> Filter -> out');
  assert.equal(vertex!.inputs, []);
  assert.equal(vertex!.outputs, []);
});

test('keyBy breaks the chain with a hash edge carrying the key selector', () => {
  const key = (x: number) => x % 3;
  const graph = graphOf((env) => {
    env
      .fromSource(source(), 'gen')
      .map((x) => x * 2)
      .keyBy(key)
      .reduce((a, b) => a + b)
      .sinkTo(new CollectSink(), 'out');
  }, { parallelism: 2 });
  assert.equal(chains(graph), [
    ['gen', 'map'],
    ['reduce', 'out'],
  ]);
  assert.is(graph.edges.length, 1);
  const edge = graph.edges[0]!;
  assert.is(edge.partitioner, 'hash');
  assert.is(edge.keySelector, key);
  assert.is(edge.source, graph.vertices[0]);
  assert.is(edge.target, graph.vertices[1]);
  assert.equal(graph.vertices[0]!.outputs, [edge]);
  assert.equal(graph.vertices[1]!.inputs, [edge]);
  assert.is(graph.vertices[1]!.name, 'Reduce -> out');
});

test('a keyBy between two operators of parallelism 1 is one channel, so it is chained like forward', () => {
  const graph = graphOf((env) => {
    env
      .fromSource(source(), 'gen')
      .keyBy((x) => x % 3)
      .reduce((a, b) => a + b)
      .sinkTo(new CollectSink(), 'out');
  }, { parallelism: 1 });
  assert.equal(chains(graph), [['gen', 'reduce', 'out']]);
  assert.equal(graph.edges, []);
  // The stream edge keeps its hash partitioner (and key selector) inside the chain.
  assert.is(graph.nodes[1]!.inEdges[0]!.partitioner, 'hash');
});

test('a keyBy from parallelism 1 into parallelism 2 (or back) stays a hash edge between vertices', () => {
  const graph = graphOf((env) => {
    env
      .fromSource(source(), 'gen')
      .keyBy((x) => x)
      .reduce((a, b) => a + b)
      .setParallelism(2)
      .keyBy((x) => x)
      .reduce((a, b) => a + b)
      .setParallelism(1)
      .sinkTo(new CollectSink(), 'out');
  }, { parallelism: 1 });
  assert.equal(chains(graph), [['gen'], ['reduce'], ['reduce-2', 'out']]);
  assert.equal(graph.edges.map((e) => e.partitioner), ['hash', 'hash']);
});

test('an explicit rebalance() or broadcast() between operators of parallelism 1 stays a thread boundary', () => {
  for (const kind of ['rebalance', 'broadcast'] as const) {
    const graph = graphOf((env) => {
      const stream = env.fromSource(source(), 'gen');
      (kind === 'rebalance' ? stream.rebalance() : stream.broadcast()).map((x) => x).sinkTo(new CollectSink(), 'out');
    }, { parallelism: 1 });
    assert.equal(chains(graph), [['gen'], ['map', 'out']], kind);
    assert.is(graph.edges[0]!.partitioner, kind);
  }
});

test('disableOperatorChaining() puts every operator in its own vertex, keeping forward edges forward', () => {
  const graph = graphOf((env) => {
    env.disableOperatorChaining();
    env
      .fromSource(source(), 'gen')
      .map((x) => x)
      .filter(() => true)
      .keyBy((x) => x)
      .reduce((a, b) => a + b)
      .sinkTo(new CollectSink(), 'out');
  }, { parallelism: 1 });
  assert.equal(chains(graph), [['gen'], ['map'], ['filter'], ['reduce'], ['out']]);
  assert.equal(graph.edges.map((e) => e.partitioner), ['forward', 'forward', 'hash', 'forward']);
  assert.equal(graph.vertices.map((v) => v.name), ['gen', 'Map', 'Filter', 'Reduce', 'out']);
});

test('a forward connection between different parallelisms is not chained and becomes rebalance', () => {
  const graph = graphOf((env) => {
    env
      .fromSource(source(), 'gen')
      .setParallelism(1)
      .map((x) => x)
      .sinkTo(new CollectSink(), 'out');
  }, { parallelism: 4 });
  assert.equal(chains(graph), [['gen'], ['map', 'out']]);
  assert.is(graph.edges[0]!.partitioner, 'rebalance');
  assert.is(graph.vertices[0]!.parallelism, 1);
  assert.is(graph.vertices[1]!.parallelism, 4);
});

test('rebalance and broadcast between operators of equal parallelism break the chain with that partitioner', () => {
  for (const kind of ['rebalance', 'broadcast'] as const) {
    const graph = graphOf((env) => {
      const stream = env.fromSource(source(), 'gen');
      (kind === 'rebalance' ? stream.rebalance() : stream.broadcast()).map((x) => x).sinkTo(new CollectSink(), 'out');
    }, { parallelism: 2 });
    assert.equal(chains(graph), [['gen'], ['map', 'out']], kind);
    assert.is(graph.edges[0]!.partitioner, kind);
  }
});

test('the partitioning closest to the consumer wins: keyBy(...).rebalance() rebalances', () => {
  const graph = graphOf((env) => {
    env
      .fromSource(source(), 'gen')
      .keyBy((x) => x)
      .rebalance()
      .map((x) => x)
      .sinkTo(new CollectSink(), 'out');
  }, { parallelism: 2 });
  assert.is(graph.edges.length, 1);
  assert.is(graph.edges[0]!.partitioner, 'rebalance');
  assert.is(graph.edges[0]!.keySelector, undefined);
});

test('a union makes a vertex with one input edge per unioned stream', () => {
  const graph = graphOf((env) => {
    const a = env.fromSource(source(), 'a');
    const b = env.fromSource(source(), 'b');
    const c = env.fromSource(source(), 'c').map((x) => -x);
    a.union(b, c).map((x) => x).sinkTo(new CollectSink(), 'out');
  }, { parallelism: 2 });
  assert.equal(chains(graph), [['a'], ['b'], ['c', 'map'], ['map-2', 'out']]);
  const merged = graph.vertices[3]!;
  assert.is(merged.inputs.length, 3);
  assert.equal(merged.inputs.map((e) => e.source.index), [0, 1, 2]);
  // Equal parallelism on both sides: the union's edges stay forward, one channel per subtask.
  assert.ok(merged.inputs.every((e) => e.partitioner === 'forward'));
  assert.equal(edgeChannels(merged.inputs[0]!), [
    [0, 0],
    [1, 1],
  ]);
});

test('a union of keyed streams carries each input its own key selector', () => {
  const ka = (x: number) => x;
  const kb = (x: number) => -x;
  const graph = graphOf((env) => {
    const a = env.fromSource(source(), 'a').keyBy(ka);
    const b = env.fromSource(source(), 'b').keyBy(kb);
    a.union(b).map((x) => x).sinkTo(new CollectSink(), 'out');
  });
  const merged = graph.vertices[2]!;
  assert.equal(
    merged.inputs.map((e) => [e.partitioner, e.keySelector]),
    [
      ['hash', ka],
      ['hash', kb],
    ],
  );
});

test('a stream consumed twice (two sinks) is not chained to either consumer', () => {
  const graph = graphOf((env) => {
    const mapped = env.fromSource(source(), 'gen').map((x) => x);
    mapped.sinkTo(new CollectSink(), 'left');
    mapped.sinkTo(new CollectSink(), 'right');
  }, { parallelism: 2 });
  assert.equal(chains(graph), [['gen', 'map'], ['left'], ['right']]);
  assert.equal(
    graph.edges.map((e) => [e.source.index, e.target.index, e.partitioner]),
    [
      [0, 1, 'forward'],
      [0, 2, 'forward'],
    ],
  );
  assert.equal(graph.vertices[0]!.outputs.map((e) => e.index), [0, 1]);
});

test('derived uids come from names (lower case, dashes), numbered on collision in declaration order', () => {
  const graph = graphOf((env) => {
    env
      .fromSource(source(), 'Numbers Source!')
      .map((x) => x)
      .map((x) => x)
      .flatMap((x) => [x])
      .map((x) => x)
      .name('Map')
      .sinkTo(new CollectSink(), 'Sink: out');
  });
  assert.equal(
    graph.nodes.map((n) => n.uid),
    ['numbers-source', 'map', 'map-2', 'flatmap', 'map-3', 'sink-out'],
  );
  assert.equal(
    graph.nodes.map((n) => n.name),
    ['Numbers Source!', 'Map', 'Map', 'FlatMap', 'Map', 'Sink: out'],
  );
});

test('a name without letters or digits derives the uid "operator"', () => {
  const graph = graphOf((env) => {
    env.fromSource(source(), '***').map((x) => x).name('!!').sinkTo(new CollectSink(), '--');
  });
  assert.equal(graph.nodes.map((n) => n.uid), ['operator', 'operator-2', 'operator-3']);
});

test('a derived uid never takes an explicit uid, even one declared later', () => {
  const graph = graphOf((env) => {
    env.fromSource(source(), 'gen').map((x) => x).map((x) => x).uid('map').sinkTo(new CollectSink(), 'out');
  });
  assert.equal(graph.nodes.map((n) => n.uid), ['gen', 'map-2', 'map', 'out']);
});

test('the same job builds the same graph twice (uids, chains, edges)', () => {
  const build = (env: StreamExecutionEnvironment) => {
    const s = env.fromSource(source(), 'gen').map((x) => x);
    s.keyBy((x) => x % 2).reduce((a, b) => a + b).sinkTo(new CollectSink(), 'a');
    s.sinkTo(new CollectSink(), 'b');
  };
  const g1 = graphOf(build, { parallelism: 3 });
  const g2 = graphOf(build, { parallelism: 3 });
  assert.equal(chains(g1), chains(g2));
  assert.equal(
    g1.edges.map((e) => [e.source.index, e.target.index, e.partitioner]),
    g2.edges.map((e) => [e.source.index, e.target.index, e.partitioner]),
  );
});

test('two operators with the same explicit uid are rejected with WEIR_INVALID_JOB naming the uid', () => {
  throwsCode(
    () =>
      graphOf((env) => {
        env.fromSource(source(), 'gen').uid('dup').map((x) => x).uid('dup').sinkTo(new CollectSink(), 'out');
      }),
    'WEIR_INVALID_JOB',
    /'dup'/,
  );
});

test('a job without a source is rejected with WEIR_INVALID_JOB', () => {
  throwsCode(() => graphOf(() => {}), 'WEIR_INVALID_JOB', /no source/);
});

test('an operator parallelism above maxParallelism is rejected naming the operator', () => {
  throwsCode(
    () =>
      graphOf(
        (env) => {
          env.fromSource(source(), 'gen').map((x) => x).setParallelism(5).sinkTo(new CollectSink(), 'out');
        },
        { parallelism: 2, maxParallelism: 4 },
      ),
    'WEIR_INVALID_OPTION',
    /'map' has parallelism 5, above maxParallelism 4/,
  );
});

test('maxParallelism is the explicit one, else Flink’s default from the largest operator parallelism', () => {
  const job = (env: StreamExecutionEnvironment) => {
    env.fromSource(source(), 'gen').map((x) => x).setParallelism(100).sinkTo(new CollectSink(), 'out');
  };
  assert.is(graphOf(job, { parallelism: 1 }).maxParallelism, 256);
  assert.is(graphOf(job, { parallelism: 1, maxParallelism: 1000 }).maxParallelism, 1000);
  assert.is(graphOf((env) => env.fromSource(source(), 'gen').sinkTo(new CollectSink()), { parallelism: 4 }).maxParallelism, 128);
});

test('edgeChannels pairs subtask i with i on forward edges and every pair, producer-major, otherwise', () => {
  const forward = graphOf((env) => {
    const s = env.fromSource(source(), 'gen');
    s.sinkTo(new CollectSink(), 'a');
    s.sinkTo(new CollectSink(), 'b');
  }, { parallelism: 3 });
  assert.equal(edgeChannels(forward.edges[0]!), [
    [0, 0],
    [1, 1],
    [2, 2],
  ]);
  const allToAll = graphOf((env) => {
    env.fromSource(source(), 'gen').setParallelism(2).keyBy((x) => x).reduce((a, b) => a + b).setParallelism(3).sinkTo(new CollectSink());
  });
  const hash = allToAll.edges.find((e) => e.partitioner === 'hash')!;
  assert.equal(edgeChannels(hash), [
    [0, 0],
    [0, 1],
    [0, 2],
    [1, 0],
    [1, 1],
    [1, 2],
  ]);
  // The reduce (p=3) feeds the sink (p=1 by default): rebalance, 3 × 1 channels.
  const rebalance = allToAll.edges.find((e) => e.partitioner === 'rebalance')!;
  assert.equal(edgeChannels(rebalance), [
    [0, 0],
    [1, 0],
    [2, 0],
  ]);
});

test('vertex and edge indices are their positions, and every edge is registered at both ends', () => {
  const graph = graphOf((env) => {
    const a = env.fromSource(source(), 'a').keyBy((x) => x).reduce((x, y) => x + y);
    const b = env.fromSource(source(), 'b').rebalance();
    a.union(b).sinkTo(new CollectSink(), 'out');
    a.sinkTo(new CollectSink(), 'side');
  }, { parallelism: 2 });
  graph.vertices.forEach((v, i) => assert.is(v.index, i));
  graph.edges.forEach((e, i) => {
    assert.is(e.index, i);
    assert.ok(e.source.outputs.includes(e));
    assert.ok(e.target.inputs.includes(e));
  });
  const edgeCount = graph.vertices.reduce((sum, v) => sum + v.inputs.length, 0);
  assert.is(edgeCount, graph.edges.length);
});

test.run();
