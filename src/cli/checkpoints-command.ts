/**
 * `weir checkpoints <dir> [--json]`: lists the retained checkpoints of every job under a
 * checkpoint directory (id, kind, completion time, state size, duration), newest first, each
 * with the statistics recorded when it completed (`_stats.json`, Flink's REST names), and
 * warnings for incomplete or corrupt ones. Reads `_metadata` and `_stats.json` files only.
 * Main thread of the CLI process.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../errors.ts';
import type { CheckpointStats, SubtaskCheckpointStats } from '../checkpoint/checkpoint-stats.ts';
import type { CheckpointInfo } from '../storage/checkpoint-storage.ts';
import { FsCheckpointStorage } from '../storage/fs-checkpoint-storage.ts';
import { formatBytes } from './live-status.ts';

export interface CheckpointsFlags {
  /** One JSON document on stdout instead of tables. */
  json?: boolean;
}

/** What the command writes to (stdout; tests pass a collector). */
export interface Output {
  write(text: string): unknown;
}

/** One job's listing, as `--json` prints it. */
interface JobListing {
  job: string;
  path: string;
  checkpoints: Array<CheckpointEntry>;
  incomplete: number[];
  warnings: string[];
}

interface CheckpointEntry {
  info: CheckpointInfo;
  stats: CheckpointStats | undefined;
  /** Why the statistics could not be read, when they could not. */
  statsError: string | undefined;
}

export async function listCheckpointsCommand(dir: string, flags: CheckpointsFlags = {}, out: Output = process.stdout): Promise<number> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => statSync(join(dir, name)).isDirectory()).sort();
  } catch (cause) {
    throw new WeirError('WEIR_CHECKPOINT_NOT_FOUND', `cannot read checkpoint directory ${dir}: ${(cause as Error).message}`, { cause });
  }
  const jobs: JobListing[] = [];
  for (const jobName of names) {
    const listing = await listJob(dir, jobName);
    if (listing !== undefined) jobs.push(listing);
  }
  if (flags.json === true) {
    out.write(`${JSON.stringify({ directory: dir, jobs: jobs.map(jobJson) }, null, 2)}\n`);
    return 0;
  }
  for (const job of jobs) printJob(job, out);
  if (jobs.every((job) => job.checkpoints.length === 0)) out.write(`no completed checkpoint in ${dir}\n`);
  return 0;
}

async function listJob(dir: string, jobName: string): Promise<JobListing | undefined> {
  const storage = new FsCheckpointStorage({ directory: dir, jobName, catalog: false });
  try {
    const { checkpoints, incomplete, warnings } = await storage.listCheckpoints();
    if (checkpoints.length === 0 && incomplete.length === 0 && warnings.length === 0) return undefined;
    const entries: CheckpointEntry[] = [];
    for (const info of checkpoints) {
      try {
        entries.push({ info, stats: await storage.loadStats(info.checkpointId), statsError: undefined });
      } catch (error) {
        if (!(error instanceof WeirError) || error.code !== 'WEIR_CHECKPOINT_CORRUPT') throw error;
        entries.push({ info, stats: undefined, statsError: error.message });
      }
    }
    return { job: jobName, path: storage.description, checkpoints: entries, incomplete, warnings };
  } finally {
    await storage.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Human output: the checkpoint table, each checkpoint followed by its statistics.

function printJob(job: JobListing, out: Output): void {
  out.write(`${job.job} (${job.path})\n`);
  out.write(`  ${'id'.padStart(6)}  ${'kind'.padEnd(10)}  ${'completed'.padEnd(24)}  ${'size'.padStart(10)}  ${'duration'.padStart(9)}\n`);
  for (const { info, stats, statsError } of job.checkpoints) {
    out.write(
      `  ${String(info.checkpointId).padStart(6)}  ${info.kind.padEnd(10)}  ${new Date(info.completedTimestamp).toISOString().padEnd(24)}  ${formatBytes(info.stateBytes).padStart(10)}  ${`${info.durationMs} ms`.padStart(9)}\n`,
    );
    if (statsError !== undefined) out.write(`          statistics unreadable: ${statsError}\n`);
    else if (stats !== undefined) printStats(stats, out);
    else if (info.kind === 'final') out.write('          no statistics recorded (a final checkpoint: the finished job\'s last commit, no barriers)\n');
    else out.write('          no statistics recorded\n');
  }
  for (const id of job.incomplete) out.write(`  chk-${id}: incomplete (no _metadata), ignored\n`);
  for (const warning of job.warnings) {
    if (!job.incomplete.some((id) => warning.includes(`chk-${id}`))) out.write(`  warning: ${warning}\n`);
  }
}

const INDENT = ' '.repeat(10);
/** Per-subtask columns: header, width, cell. */
const COLUMNS: ReadonlyArray<readonly [string, number, (s: SubtaskCheckpointStats) => string]> = [
  ['start_delay', 11, (s) => duration(s.startDelayMs)],
  ['alignment_duration', 18, (s) => duration(s.alignmentMs)],
  ['processed_data', 14, (s) => formatBytes(s.processedBytes)],
  ['persisted_data', 14, (s) => formatBytes(s.persistedBytes)],
  ['sync_duration', 13, (s) => duration(s.syncMs)],
  ['async_duration', 14, (s) => duration(s.asyncMs)],
  ['checkpointed_size', 17, (s) => formatBytes(s.checkpointedSize)],
  ['unaligned', 9, (s) => (s.unaligned ? 'yes' : 'no')],
];

function printStats(stats: CheckpointStats, out: Output): void {
  out.write(
    `${INDENT}end_to_end_duration ${duration(stats.endToEndDurationMs)} · checkpointed_size ${formatBytes(stats.checkpointedSize)}` +
      ` · persisted_data ${formatBytes(stats.persistedData)} · unaligned ${stats.unaligned ? 'yes' : 'no'}` +
      ` · ${stats.numAcknowledgedSubtasks} subtask(s) acknowledged\n`,
  );
  const subtasks = sortedSubtasks(stats.subtasks);
  const nameWidth = Math.max(4, ...subtasks.map((s) => label(s).length));
  out.write(`${INDENT}${'subtask'.padEnd(nameWidth)}${COLUMNS.map(([h, w]) => `  ${h.padStart(w)}`).join('')}\n`);
  for (const s of subtasks) {
    out.write(`${INDENT}${label(s).padEnd(nameWidth)}${COLUMNS.map(([, w, cell]) => `  ${cell(s).padStart(w)}`).join('')}\n`);
  }
}

function label(s: SubtaskCheckpointStats): string {
  return s.name === undefined ? s.subtask : `${s.subtask} ${s.name}`;
}

/** By vertex, then subtask index (acks arrive in any order). */
function sortedSubtasks(subtasks: readonly SubtaskCheckpointStats[]): SubtaskCheckpointStats[] {
  const key = (s: SubtaskCheckpointStats) => s.subtask.split('/').map(Number) as [number, number];
  return [...subtasks].sort((a, b) => {
    const [av, as] = key(a);
    const [bv, bs] = key(b);
    return av - bv || as - bs;
  });
}

function duration(ms: number): string {
  return `${ms < 10 ? (Math.round(ms * 10) / 10).toString() : Math.round(ms).toString()} ms`;
}

// ---------------------------------------------------------------------------------------------
// --json: Flink's REST names (checkpoint details and subtask details), flattened; ms and bytes.

function jobJson(job: JobListing): unknown {
  return {
    job: job.job,
    path: job.path,
    checkpoints: job.checkpoints.map(({ info, stats, statsError }) => ({
      id: info.checkpointId,
      kind: info.kind,
      external_path: info.path,
      trigger_timestamp: info.triggerTimestamp,
      completed_timestamp: info.completedTimestamp,
      state_size: info.stateBytes,
      duration: info.durationMs,
      statistics: stats === undefined ? null : statsJson(stats),
      ...(statsError === undefined ? {} : { statistics_error: statsError }),
    })),
    incomplete: job.incomplete,
    warnings: job.warnings,
  };
}

/** A checkpoint's statistics under Flink's REST API names. */
function statsJson(stats: CheckpointStats): Record<string, unknown> {
  return {
    id: stats.id,
    status: stats.status,
    trigger_timestamp: stats.triggerTimestamp,
    latest_ack_timestamp: stats.latestAckTimestamp,
    end_to_end_duration: stats.endToEndDurationMs,
    state_size: stats.stateSize,
    checkpointed_size: stats.checkpointedSize,
    persisted_data: stats.persistedData,
    processed_data: stats.subtasks.reduce((sum, s) => sum + s.processedBytes, 0),
    unaligned: stats.unaligned,
    num_acknowledged_subtasks: stats.numAcknowledgedSubtasks,
    max_sync_duration: stats.maxSyncMs,
    max_async_duration: stats.maxAsyncMs,
    max_start_delay: stats.maxStartDelayMs,
    subtasks: sortedSubtasks(stats.subtasks).map((s) => ({
      subtask: s.subtask,
      ...(s.name === undefined ? {} : { name: s.name }),
      index: Number(s.subtask.split('/')[1]),
      ack_timestamp: s.ackTimestamp,
      end_to_end_duration: s.ackTimestamp - stats.triggerTimestamp,
      start_delay: s.startDelayMs,
      alignment_duration: s.alignmentMs,
      processed_data: s.processedBytes,
      persisted_data: s.persistedBytes,
      sync_duration: s.syncMs,
      async_duration: s.asyncMs,
      checkpointed_size: s.checkpointedSize,
      unaligned: s.unaligned,
    })),
  };
}
