// What the LSM fault tests check after every run: the shared files each retained checkpoint
// lists (read from the `_metadata` files) against the files actually in the job's `shared/` dir.
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCheckpointMetadata } from '../../src/checkpoint/metadata.ts';

export interface SharedState {
  /** Shared path → ids of the retained checkpoints listing it. */
  readonly referenced: Map<string, number[]>;
  readonly present: string[];
  readonly checkpoints: number[];
}

/** The shared files each retained checkpoint lists, and the files actually in `shared/`. */
export async function sharedState(jobDir: string): Promise<SharedState> {
  const referenced = new Map<string, number[]>();
  const checkpoints: number[] = [];
  for (const name of readdirSync(jobDir).filter((n) => /^chk-\d+$/.test(n))) {
    const file = join(jobDir, name, '_metadata');
    if (!existsSync(file)) continue;
    const metadata = await decodeCheckpointMetadata(readFileSync(file), file);
    checkpoints.push(metadata.checkpointId);
    for (const op of metadata.operators) {
      for (const subtask of op.subtasks) {
        for (const sst of subtask.sstFiles ?? []) referenced.set(sst.handle.path, [...(referenced.get(sst.handle.path) ?? []), metadata.checkpointId]);
      }
    }
  }
  const sharedDir = join(jobDir, 'shared');
  const present = existsSync(sharedDir) ? readdirSync(sharedDir).map((n) => `shared/${n}`) : [];
  return { referenced, present, checkpoints: checkpoints.sort((a, b) => a - b) };
}

export function assertSharedConsistent(state: SharedState, allowUnreferenced = false): void {
  const missing = [...state.referenced.keys()].filter((path) => !state.present.includes(path));
  const unreferenced = state.present.filter((path) => !state.referenced.has(path));
  assert.equal(missing, [], 'every file of every retained checkpoint is present');
  if (!allowUnreferenced) assert.equal(unreferenced, [], `no file in shared/ that no retained checkpoint uses (${unreferenced.length} found)`);
}

