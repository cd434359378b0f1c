/**
 * `weir checkpoints <dir>`: lists the retained checkpoints of every job under a checkpoint
 * directory (id, kind, completion time, state size, duration), newest first, with warnings for
 * incomplete or corrupt ones. Reads `_metadata` files only. Main thread of the CLI process.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../errors.ts';
import { FsCheckpointStorage } from '../storage/fs-checkpoint-storage.ts';
import { formatBytes } from './live-status.ts';

export async function listCheckpointsCommand(dir: string): Promise<number> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => statSync(join(dir, name)).isDirectory()).sort();
  } catch (cause) {
    throw new WeirError('WEIR_CHECKPOINT_NOT_FOUND', `cannot read checkpoint directory ${dir}: ${(cause as Error).message}`, { cause });
  }
  let found = 0;
  for (const jobName of names) {
    const storage = new FsCheckpointStorage({ directory: dir, jobName, catalog: false });
    try {
      const { checkpoints, incomplete, warnings } = await storage.listCheckpoints();
      if (checkpoints.length === 0 && incomplete.length === 0 && warnings.length === 0) continue;
      process.stdout.write(`${jobName} (${storage.description})\n`);
      process.stdout.write(`  ${'id'.padStart(6)}  ${'kind'.padEnd(10)}  ${'completed'.padEnd(24)}  ${'size'.padStart(10)}  ${'duration'.padStart(9)}\n`);
      for (const c of checkpoints) {
        found++;
        process.stdout.write(
          `  ${String(c.checkpointId).padStart(6)}  ${c.kind.padEnd(10)}  ${new Date(c.completedTimestamp).toISOString().padEnd(24)}  ${formatBytes(c.stateBytes).padStart(10)}  ${`${c.durationMs} ms`.padStart(9)}\n`,
        );
      }
      for (const id of incomplete) process.stdout.write(`  chk-${id}: incomplete (no _metadata), ignored\n`);
      for (const warning of warnings) {
        if (!incomplete.some((id) => warning.includes(`chk-${id}`))) process.stdout.write(`  warning: ${warning}\n`);
      }
    } finally {
      await storage.close();
    }
  }
  if (found === 0) process.stdout.write(`no completed checkpoint in ${dir}\n`);
  return 0;
}
