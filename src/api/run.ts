/**
 * `run(job, options)`: runs a job module to completion from code (the CLI's `weir run` calls
 * it too). Validates options, then hands the job to the coordinator on the main thread.
 */
import { recordCodecByName, defaultRecordCodec } from '../channels/record-codec.ts';
import { executeJob } from '../coordinator/job-coordinator.ts';
import type { JobResult } from '../coordinator/job-result.ts';
import { jobModuleUrl } from '../graph/job-definition.ts';
import { resolveRunOptions, type RunOptions } from './options.ts';

export async function run(job: string | URL, options: RunOptions = {}): Promise<JobResult> {
  const resolved = resolveRunOptions(options);
  const recordCodec = resolved.recordCodec === undefined ? defaultRecordCodec.name : recordCodecByName(resolved.recordCodec).name;
  return executeJob({
    jobUrl: jobModuleUrl(job),
    parallelism: resolved.parallelism,
    maxParallelism: resolved.maxParallelism,
    params: resolved.params,
    ringBytes: resolved.ringBytes,
    debloat: resolved.debloat,
    recordCodec,
    cancelGraceMs: resolved.cancelGraceMs,
    signal: resolved.signal,
    checkpointing: resolved.checkpointing,
    stateBackend: resolved.stateBackend,
    restartStrategy: resolved.restartStrategy,
    onWarning: resolved.onWarning,
    onCheckpoint: resolved.onCheckpoint,
    onProgress: resolved.onProgress,
    faultInjection: resolved.faultInjection,
  });
}
