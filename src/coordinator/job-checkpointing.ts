/**
 * The job coordinator's checkpointing chores around attempts (main thread): opening checkpoint
 * storage, finding the checkpoint to resume from (newest first, falling back past corrupt or
 * incomplete ones), loading a checkpoint's list state and planning the restore, committing the
 * restored sink committables and cleaning what failed attempts left, and the final commit of a
 * bounded job.
 */
import { basename, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WeirError } from '../errors.ts';
import type { CheckpointConfig } from '../checkpoint/checkpoint-config.ts';
import type { CheckpointMetadata } from '../checkpoint/metadata.ts';
import { planRestore, type LoadedCheckpoint, type RestorePlan } from '../checkpoint/restore-assignment.ts';
import type { JobGraph } from '../graph/job-graph.ts';
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { FsCheckpointStorage, parseExternalCheckpointPath } from '../storage/fs-checkpoint-storage.ts';
import { MemoryCheckpointStorage } from '../storage/memory-checkpoint-storage.ts';
import { SharedStateRegistry } from '../checkpoint/shared-state-registry.ts';
import type { StateStoreDescriptor } from '../storage/state-store.ts';
import { decodeListState } from '../task/task-checkpointer.ts';
import type { Committer, Sink } from '../task/sink.ts';
import { FINAL_CHECKPOINT_ID } from '../task/operators/sink-operator.ts';

export interface OpenedStorage {
  readonly storage: CheckpointStorage;
  readonly jobName: string;
  readonly descriptor: StateStoreDescriptor;
  /** File-system storage: the registry of files in `shared/`. */
  readonly sharedState?: SharedStateRegistry;
}

/** The job's name under the checkpoint directory: explicit, or the module's file name. */
export function jobNameFor(config: CheckpointConfig, jobUrl: string): string {
  if (config.jobName !== undefined) return config.jobName;
  const name = basename(fileURLToPath(jobUrl), extname(fileURLToPath(jobUrl))).replace(/[^A-Za-z0-9._-]/g, '-');
  return name === '' ? 'job' : name;
}

export function openCheckpointStorage(
  config: CheckpointConfig,
  jobUrl: string,
  warn: (message: string) => void,
  beforeRegistryStep?: (step: 'registry-update' | 'shared-delete') => void,
): OpenedStorage {
  const jobName = jobNameFor(config, jobUrl);
  if (config.directory === undefined) {
    return {
      storage: new MemoryCheckpointStorage({ jobName, inlineLimit: Number.MAX_SAFE_INTEGER }),
      jobName,
      descriptor: { kind: 'memory', jobName },
    };
  }
  const storage = new FsCheckpointStorage({ directory: config.directory, jobName, onWarning: warn });
  return {
    storage,
    jobName,
    descriptor: { kind: 'fs', root: config.directory, jobName },
    sharedState: new SharedStateRegistry({
      store: storage,
      catalog: () => storage.catalog(),
      warn,
      ...(beforeRegistryStep === undefined ? {} : { beforeStep: beforeRegistryStep }),
    }),
  };
}

/**
 * While no subtask runs (job start, job end): rebuilds the shared-file registry
 * from every completed checkpoint's `_metadata` and deletes the files in `shared/` none of them
 * lists (uploads of aborted checkpoints, leftovers of a crash). Returns the files deleted.
 */
export async function reconcileSharedState(
  opened: OpenedStorage,
  warn: (message: string) => void,
  atStart: boolean,
  retained: ReadonlySet<number>,
): Promise<number> {
  const registry = opened.sharedState;
  if (registry === undefined) return 0;
  const { checkpoints } = await opened.storage.listCheckpoints();
  const completed: CheckpointMetadata[] = [];
  for (const info of checkpoints) {
    try {
      completed.push(await opened.storage.loadMetadata(info.checkpointId));
    } catch (error) {
      warn(`shared-file registry: skipping chk-${info.checkpointId}: ${(error as Error).message}`);
    }
  }
  const repaired = await registry.rebuild(completed, retained);
  // At the end of a job the catalog is behind by design (the final checkpoint discarded the others).
  if (repaired > 0 && atStart) warn(`shared-file registry: ${repaired} catalog entries were missing or stale and were rebuilt from the _metadata files`);
  return registry.sweep();
}

/** Reads a checkpoint's list states and checks every state file it names (size, checksum). */
export async function loadCheckpoint(storage: CheckpointStorage, metadata: CheckpointMetadata): Promise<LoadedCheckpoint> {
  const lists = new Map<string, Array<readonly unknown[]>>();
  for (const op of metadata.operators) {
    const perSubtask: Array<readonly unknown[]> = [];
    for (const subtask of op.subtasks) {
      if (subtask.keyed !== undefined) await storage.readState(subtask.keyed);
      if (subtask.inputChannelState !== undefined) await storage.readState(subtask.inputChannelState);
      // SST files can be large: check they are there and whole; subtasks verify checksums as they link them.
      for (const file of subtask.sstFiles ?? []) await storage.checkStateSize(file.handle);
      perSubtask.push(subtask.operatorState === undefined ? [] : decodeListState(await storage.readState(subtask.operatorState)));
    }
    lists.set(op.uid, perSubtask);
  }
  return { metadata, lists };
}

/**
 * The checkpoint to start from: `resumeFrom` 'latest' takes the newest retained checkpoint that
 * loads completely, falling back to older ones (each skip reported through `warn`); a path
 * takes exactly that one. Without `resumeFrom` a directory that already holds checkpoints of
 * this job is refused, so two runs never mix their checkpoints.
 */
export async function findStartingCheckpoint(
  opened: OpenedStorage,
  config: CheckpointConfig,
  warn: (message: string) => void,
): Promise<LoadedCheckpoint | undefined> {
  const { storage } = opened;
  if (config.resumeFrom === undefined) {
    if (config.directory !== undefined) {
      const { checkpoints } = await storage.listCheckpoints();
      if (checkpoints.length > 0) {
        throw new WeirError(
          'WEIR_INVALID_OPTION',
          `${storage.description} already holds checkpoints of this job (latest chk-${checkpoints[0]!.checkpointId}): resume from them (--resume) or use another --checkpoint-dir`,
          { context: { option: 'checkpointing.resumeFrom' } },
        );
      }
    }
    return undefined;
  }
  if (config.resumeFrom !== 'latest') {
    const target = parseExternalCheckpointPath(config.resumeFrom);
    const sameStorage =
      target === undefined ||
      (config.directory !== undefined && target.jobName === opened.jobName && resolve(target.directory) === resolve(config.directory));
    const source: CheckpointStorage = sameStorage
      ? storage
      : new FsCheckpointStorage({ directory: target.directory, jobName: target.jobName, catalog: false });
    const metadata = await source.loadMetadata(target === undefined ? config.resumeFrom : target.checkpointId);
    return loadCheckpoint(source, metadata);
  }
  const { checkpoints, warnings } = await storage.listCheckpoints();
  for (const warning of warnings) warn(warning);
  const problems: string[] = [];
  for (const info of checkpoints) {
    try {
      const metadata = await storage.loadMetadata(info.checkpointId);
      return await loadCheckpoint(storage, metadata);
    } catch (error) {
      const message = `cannot resume from chk-${info.checkpointId}: ${(error as Error).message}`;
      problems.push(message);
      warn(`${message}; trying an older checkpoint`);
    }
  }
  throw new WeirError(
    'WEIR_CHECKPOINT_NOT_FOUND',
    checkpoints.length === 0
      ? `no completed checkpoint to resume from in ${storage.description}`
      : `no retained checkpoint in ${storage.description} can be restored: ${problems.join('; ')}`,
  );
}

function committerOf(graph: JobGraph, uid: string): Committer {
  const node = graph.nodes.find((n) => n.uid === uid);
  const sink = node?.transformation.kind === 'sink' ? (node.transformation.sink as Sink<unknown>) : undefined;
  if (sink?.createCommitter === undefined) {
    throw new WeirError('WEIR_CHECKPOINT_INCOMPATIBLE', `the checkpoint holds committables for '${uid}', which is not a transactional sink in this job`);
  }
  return sink.createCommitter();
}

/**
 * Before an attempt that restores: commit everything the checkpoint's sinks had pre-committed
 * (its checkpoint completed, so they are due; commits are idempotent), then let each sink
 * remove what later, failed attempts left behind.
 */
export async function commitRestoredSinks(graph: JobGraph, plan: RestorePlan): Promise<void> {
  for (const node of graph.nodes) {
    if (node.transformation.kind !== 'sink') continue;
    const sink = node.transformation.sink as Sink<unknown>;
    if (sink.createCommitter === undefined) continue;
    const committables = plan.sinkCommittables.get(node.uid) ?? [];
    const committer = sink.createCommitter();
    try {
      if (committables.length > 0) await committer.commit(committables);
      await committer.cleanup?.(committables);
    } catch (error) {
      throw new WeirError('WEIR_SINK_FAILED', `sink '${node.uid}' could not commit or clean up on restore: ${(error as Error).message}`, {
        cause: error,
        context: { operatorId: node.uid },
      });
    }
  }
}

/**
 * A bounded checkpointing job finished: record the sinks' final committables as a 'final'
 * checkpoint (so a crash during the commit, or a later --resume, finds and re-commits them
 * instead of running the job again), then commit them.
 */
export async function commitFinal(
  graph: JobGraph,
  storage: CheckpointStorage,
  jobName: string,
  finals: ReadonlyMap<string, unknown[]>,
  checkpointId: number,
): Promise<CheckpointMetadata> {
  const now = Date.now();
  const operators = [];
  for (const [uid, committables] of finals) {
    const { serialize } = await import('node:v8');
    const handle = await storage.writeState(checkpointId, `${uid}-final.list`, serialize(committables));
    operators.push({ uid, parallelism: 1, subtasks: [{ operatorState: handle }] });
  }
  const metadata: CheckpointMetadata = {
    version: 1,
    jobName,
    checkpointId,
    kind: 'final',
    triggerTimestamp: now,
    completedTimestamp: now,
    maxParallelism: graph.maxParallelism,
    operators,
    stats: { stateBytes: 0, durationMs: 0 },
  };
  await storage.commitCheckpoint(metadata);
  await commitFinalCommittables(graph, finals);
  return metadata;
}

/** Commits the committables of a 'final' checkpoint (again, after a crash: idempotent). */
export async function commitFinalCommittables(graph: JobGraph, finals: ReadonlyMap<string, readonly unknown[]>): Promise<void> {
  for (const [uid, committables] of finals) {
    if (committables.length === 0) continue;
    await committerOf(graph, uid).commit(committables);
  }
}

export { FINAL_CHECKPOINT_ID };
