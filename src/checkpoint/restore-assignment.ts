/**
 * Decides what each subtask of a job restores from a completed checkpoint, at any parallelism:
 * keyed state by key-group range (every old state file or SST set whose range overlaps the new one), list
 * state (source splits) kept per subtask when the parallelism is unchanged and dealt round robin
 * otherwise, and sink committables handed to the coordinator to commit before the job starts.
 * Main thread; the decision itself is a pure function, tested without threads.
 */
import { WeirError } from '../errors.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import { keyGroupRangeFor } from '../state/key-groups.ts';
import type { StateHandle } from '../storage/checkpoint-storage.ts';
import type { SstSnapshot, SubtaskRestore } from '../task/checkpoint-messages.ts';
import type { CheckpointMetadata } from './metadata.ts';

/** A checkpoint's metadata with its list states decoded: per uid, one list per old subtask. */
export interface LoadedCheckpoint {
  readonly metadata: CheckpointMetadata;
  readonly lists: ReadonlyMap<string, ReadonlyArray<readonly unknown[]>>;
}

export interface RestorePlan {
  /** By `${vertexIndex}/${subtaskIndex}`. */
  readonly subtasks: ReadonlyMap<string, SubtaskRestore>;
  /** Sink uid → committables the restored checkpoint holds (to commit before starting). */
  readonly sinkCommittables: ReadonlyMap<string, readonly unknown[]>;
}

export function subtaskKey(vertexIndex: number, subtaskIndex: number): string {
  return `${vertexIndex}/${subtaskIndex}`;
}

export function planRestore(loaded: LoadedCheckpoint, graph: JobGraph): RestorePlan {
  const { metadata } = loaded;
  if (metadata.maxParallelism !== graph.maxParallelism) {
    throw new WeirError(
      'WEIR_CHECKPOINT_INCOMPATIBLE',
      `checkpoint ${metadata.checkpointId} was taken with maxParallelism ${metadata.maxParallelism}, the job now has ${graph.maxParallelism}: key groups cannot be remapped (set options.maxParallelism to ${metadata.maxParallelism})`,
      { context: { checkpointId: metadata.checkpointId } },
    );
  }
  const nodes = new Map(graph.nodes.map((node) => [node.uid, node]));
  for (const op of metadata.operators) {
    if (!nodes.has(op.uid)) {
      throw new WeirError(
        'WEIR_CHECKPOINT_INCOMPATIBLE',
        `checkpoint ${metadata.checkpointId} holds state of operator '${op.uid}', which this job does not have (keep uids stable across versions: set .uid() on stateful operators)`,
        { context: { checkpointId: metadata.checkpointId, operatorId: op.uid } },
      );
    }
  }
  const snapshots = new Map(metadata.operators.map((op) => [op.uid, op]));
  // In-flight data of an unaligned checkpoint belongs to channels between particular subtasks.
  if (metadata.operators.some((op) => op.subtasks.some((s) => s.inputChannelState !== undefined))) {
    for (const op of metadata.operators) {
      const now = nodes.get(op.uid)!.parallelism;
      if (now !== op.parallelism) {
        throw new WeirError(
          'WEIR_CHECKPOINT_INCOMPATIBLE',
          `checkpoint ${metadata.checkpointId} is unaligned and holds in-flight data; it can only be restored at the parallelism it was taken with ('${op.uid}' had ${op.parallelism}, now ${now}). Restore from an aligned checkpoint or a savepoint to rescale`,
          { context: { checkpointId: metadata.checkpointId, operatorId: op.uid } },
        );
      }
    }
  }
  const sinkCommittables = new Map<string, readonly unknown[]>();
  const subtasks = new Map<string, SubtaskRestore>();
  for (const vertex of graph.vertices) {
    for (let subtaskIndex = 0; subtaskIndex < vertex.parallelism; subtaskIndex++) {
      const operators: Record<string, { keyed: StateHandle[]; sstSnapshots: SstSnapshot[]; operatorState: unknown[]; inputChannelState?: StateHandle }> = {};
      for (const node of vertex.chain) {
        const snapshot = snapshots.get(node.uid);
        if (snapshot === undefined) continue;
        const lists = loaded.lists.get(node.uid) ?? [];
        if (node.transformation.kind === 'sink') {
          if (subtaskIndex === 0) sinkCommittables.set(node.uid, lists.flat());
          // A sink heading its chain may carry the chain's in-flight input (unaligned checkpoints).
          const inflight = snapshot.subtasks[subtaskIndex]?.inputChannelState;
          if (inflight !== undefined) operators[node.uid] = { keyed: [], sstSnapshots: [], operatorState: [], inputChannelState: inflight };
          continue;
        }
        const range = keyGroupRangeFor(subtaskIndex, vertex.parallelism, graph.maxParallelism);
        const keyed = snapshot.subtasks.flatMap((s) =>
          s.keyed !== undefined && s.keyGroupRange !== undefined && s.keyGroupRange.start <= range.end && s.keyGroupRange.end >= range.start
            ? [s.keyed]
            : [],
        );
        const sstSnapshots = snapshot.subtasks.flatMap((s) =>
          s.sstFiles !== undefined && s.keyGroupRange !== undefined && s.keyGroupRange.start <= range.end && s.keyGroupRange.end >= range.start
            ? [{ keyGroupRange: s.keyGroupRange, files: s.sstFiles }]
            : [],
        );
        const inputChannelState = snapshot.subtasks[subtaskIndex]?.inputChannelState;
        operators[node.uid] = {
          keyed,
          sstSnapshots,
          operatorState: dealListState(lists, subtaskIndex, vertex.parallelism),
          ...(inputChannelState === undefined ? {} : { inputChannelState }),
        };
      }
      subtasks.set(subtaskKey(vertex.index, subtaskIndex), { checkpointId: metadata.checkpointId, operators });
    }
  }
  return { subtasks, sinkCommittables };
}

/**
 * Flink's list-state redistribution: unchanged parallelism keeps each subtask's own entries;
 * otherwise all entries, in old-subtask order, are dealt round robin.
 */
export function dealListState(lists: ReadonlyArray<readonly unknown[]>, subtaskIndex: number, parallelism: number): unknown[] {
  if (lists.length === parallelism) return [...(lists[subtaskIndex] ?? [])];
  return lists.flat().filter((_, i) => i % parallelism === subtaskIndex);
}
