/**
 * Logical plan → job graph: resolves virtual partition/union transformations into edges,
 * derives uids, and chains forward-connected operators of equal parallelism into job
 * vertices (one worker thread per vertex subtask). Pure and deterministic: the coordinator
 * and every worker build the same graph from the same plan.
 */
import { WeirError } from '../errors.ts';
import { defaultMaxParallelism, UPPER_BOUND_MAX_PARALLELISM } from '../state/key-groups.ts';
import type { KeySelector } from '../task/functions.ts';
import {
  isOperator,
  operatorInputs,
  type LogicalPlan,
  type OperatorTransformation,
  type PartitionerKind,
  type Transformation,
} from './transformation.ts';

/** One operator of the job, with its resolved uid and parallelism. */
export interface StreamNode {
  readonly id: number;
  readonly uid: string;
  readonly name: string;
  readonly parallelism: number;
  readonly transformation: OperatorTransformation;
  readonly inEdges: StreamEdge[];
  readonly outEdges: StreamEdge[];
}

export interface StreamEdge {
  readonly source: StreamNode;
  readonly target: StreamNode;
  readonly partitioner: PartitionerKind;
  readonly keySelector: KeySelector<unknown, unknown> | undefined;
  /** The side output this edge reads (undefined: the main output). */
  readonly outputTag: string | undefined;
  /** Which input of the target it feeds: 0, or 1 for the second input of a two-input operator. */
  readonly typeNumber: number;
}

/** A chain of operators that runs as direct calls in one thread per subtask. */
export interface JobVertex {
  readonly index: number;
  readonly name: string;
  readonly parallelism: number;
  /** Head first; every node but the last has exactly one (chained) output. */
  readonly chain: readonly StreamNode[];
  readonly inputs: JobEdge[];
  readonly outputs: JobEdge[];
}

/** Records flowing between two vertices through one ring per (producer, consumer) subtask pair. */
export interface JobEdge {
  readonly index: number;
  readonly source: JobVertex;
  readonly target: JobVertex;
  readonly partitioner: PartitionerKind;
  readonly keySelector: KeySelector<unknown, unknown> | undefined;
  readonly outputTag: string | undefined;
  readonly typeNumber: number;
}

export interface JobGraph {
  readonly vertices: readonly JobVertex[];
  readonly edges: readonly JobEdge[];
  readonly nodes: readonly StreamNode[];
  readonly maxParallelism: number;
  readonly autoWatermarkIntervalMs: number;
}

export function buildJobGraph(plan: LogicalPlan): JobGraph {
  const operators = plan.transformations.filter(isOperator);
  if (!operators.some((t) => t.kind === 'source')) {
    throw new WeirError('WEIR_INVALID_JOB', 'the job declares no source: call env.fromSource(...)');
  }
  const nodes = createNodes(operators, plan.parallelism);
  const byId = new Map(nodes.map((node) => [node.id, node]));
  for (const node of nodes) {
    const t = node.transformation;
    operatorInputs(t).forEach((input, typeNumber) => {
      for (const upstream of resolveInputs(input, 'forward', undefined, undefined)) {
        const source = byId.get(upstream.transformation.id);
        if (source === undefined) throw new WeirError('WEIR_INTERNAL', `input of ${node.uid} is not in the plan`);
        let partitioner = upstream.partitioner;
        if (partitioner === 'forward' && source.parallelism !== node.parallelism) partitioner = 'rebalance';
        const edge: StreamEdge = { source, target: node, partitioner, keySelector: upstream.keySelector, outputTag: upstream.outputTag, typeNumber };
        source.outEdges.push(edge);
        node.inEdges.push(edge);
      }
    });
  }
  const maxParallelism = plan.maxParallelism ?? defaultMaxParallelism(Math.max(...nodes.map((n) => n.parallelism)));
  for (const node of nodes) {
    if (node.parallelism > maxParallelism) {
      throw new WeirError(
        'WEIR_INVALID_OPTION',
        `operator '${node.uid}' has parallelism ${node.parallelism}, above maxParallelism ${maxParallelism}`,
      );
    }
  }
  if (maxParallelism > UPPER_BOUND_MAX_PARALLELISM) {
    throw new WeirError('WEIR_INVALID_OPTION', `maxParallelism must be at most ${UPPER_BOUND_MAX_PARALLELISM}, got ${maxParallelism}`);
  }
  const { vertices, edges } = chainNodes(nodes, plan.chaining);
  return { vertices, edges, nodes, maxParallelism, autoWatermarkIntervalMs: plan.autoWatermarkIntervalMs };
}

function createNodes(operators: OperatorTransformation[], defaultParallelism: number): StreamNode[] {
  const explicit = new Set<string>();
  for (const t of operators) {
    if (t.uid === undefined) continue;
    if (explicit.has(t.uid)) throw new WeirError('WEIR_INVALID_JOB', `two operators have the uid '${t.uid}': uids must be unique`);
    explicit.add(t.uid);
  }
  const taken = new Set(explicit);
  return operators.map((t) => {
    const uid = t.uid ?? deriveUid(t.name, taken);
    taken.add(uid);
    return {
      id: t.id,
      uid,
      name: t.name,
      parallelism: t.parallelism ?? defaultParallelism,
      transformation: t,
      inEdges: [],
      outEdges: [],
    };
  });
}

/** A uid from the operator's name ('Sink: out' → 'sink-out'), numbered on collision in declaration order. */
function deriveUid(name: string, taken: Set<string>): string {
  const base = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'operator';
  let uid = base;
  for (let n = 2; taken.has(uid); n++) uid = `${base}-${n}`;
  return uid;
}

interface ResolvedInput {
  transformation: OperatorTransformation;
  partitioner: PartitionerKind;
  keySelector: KeySelector<unknown, unknown> | undefined;
  outputTag: string | undefined;
}

/** Walks through virtual transformations to the operators feeding an input. */
function resolveInputs(
  t: Transformation,
  partitioner: PartitionerKind,
  keySelector: KeySelector<unknown, unknown> | undefined,
  outputTag: string | undefined,
): ResolvedInput[] {
  switch (t.kind) {
    case 'partition':
      // The partitioning closest to the consumer wins (keyBy(...).rebalance() rebalances).
      return partitioner === 'forward'
        ? resolveInputs(t.input, t.partitioner, t.keySelector, outputTag)
        : resolveInputs(t.input, partitioner, keySelector, outputTag);
    case 'union':
      return t.inputs.flatMap((input) => resolveInputs(input, partitioner, keySelector, outputTag));
    case 'sideOutput':
      if (t.input.kind === 'partition' || t.input.kind === 'union' || t.input.kind === 'sideOutput') {
        throw new WeirError('WEIR_INVALID_JOB', `getSideOutput('${t.tag}') must be called on an operator's stream, not on a keyBy, union or another side output`);
      }
      return resolveInputs(t.input, partitioner, keySelector, t.tag);
    default:
      return [{ transformation: t, partitioner, keySelector, outputTag }];
  }
}

/**
 * Flink's rule (forward edge, equal parallelism, a one-to-one link), plus one of ours: a keyBy
 * between two operators of parallelism 1 has a single channel, so it means forward — as a thread
 * boundary it costs a hop and a serialization round trip per record for nothing (measured in
 * docs/architecture.md); chained, the keyed operator computes its key group itself. An explicit
 * rebalance() or broadcast() stays a thread boundary, as in Flink.
 */
function isChainable(edge: StreamEdge): boolean {
  const { source, target } = edge;
  const oneToOne = edge.partitioner === 'forward' || (edge.partitioner === 'hash' && source.parallelism === 1 && target.parallelism === 1);
  // A side-output edge is always a thread boundary: inside a chain only the main output is wired.
  return (
    oneToOne &&
    edge.outputTag === undefined &&
    source.parallelism === target.parallelism &&
    source.outEdges.length === 1 &&
    target.inEdges.length === 1
  );
}

function chainNodes(nodes: StreamNode[], chaining: boolean): { vertices: JobVertex[]; edges: JobEdge[] } {
  const chainable = (edge: StreamEdge) => chaining && isChainable(edge);
  const vertexOf = new Map<StreamNode, JobVertex>();
  const vertices: JobVertex[] = [];
  for (const head of nodes) {
    if (head.inEdges.length === 1 && chainable(head.inEdges[0]!)) continue;
    const chain = [head];
    let tail = head;
    while (tail.outEdges.length === 1 && chainable(tail.outEdges[0]!)) {
      tail = tail.outEdges[0]!.target;
      chain.push(tail);
    }
    const vertex: JobVertex = {
      index: vertices.length,
      name: chain.map((n) => n.name).join(' -> '),
      parallelism: head.parallelism,
      chain,
      inputs: [],
      outputs: [],
    };
    vertices.push(vertex);
    for (const node of chain) vertexOf.set(node, vertex);
  }
  const edges: JobEdge[] = [];
  for (const vertex of vertices) {
    const tail = vertex.chain[vertex.chain.length - 1]!;
    for (const streamEdge of tail.outEdges) {
      const target = vertexOf.get(streamEdge.target)!;
      const edge: JobEdge = {
        index: edges.length,
        source: vertex,
        target,
        partitioner: streamEdge.partitioner,
        keySelector: streamEdge.keySelector,
        outputTag: streamEdge.outputTag,
        typeNumber: streamEdge.typeNumber,
      };
      edges.push(edge);
      vertex.outputs.push(edge);
      target.inputs.push(edge);
    }
  }
  return { vertices, edges };
}

/**
 * The channels of an edge as (producer subtask, consumer subtask) pairs, producer-major.
 * Forward edges connect subtask i to subtask i only; all others connect every pair.
 */
export function edgeChannels(edge: JobEdge): Array<[producer: number, consumer: number]> {
  const pairs: Array<[number, number]> = [];
  if (edge.partitioner === 'forward') {
    for (let i = 0; i < edge.source.parallelism; i++) pairs.push([i, i]);
    return pairs;
  }
  for (let p = 0; p < edge.source.parallelism; p++) {
    for (let c = 0; c < edge.target.parallelism; c++) pairs.push([p, c]);
  }
  return pairs;
}
