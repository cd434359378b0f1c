import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CheckpointCatalog } from '../../src/checkpoint/checkpoint-catalog.ts';
import {
  FsCheckpointStorage,
  nodeCheckpointFs,
  parseExternalCheckpointPath,
  type CheckpointFs,
} from '../../src/storage/fs-checkpoint-storage.ts';
import {
  checkpointStorageConformance,
  flip,
  JOB,
  metadata,
  pattern,
  rejectsWith,
} from './checkpoint-storage.conformance.ts';

const BIG = 24 * 1024;

checkpointStorageConformance('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'weir-chk-'));
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB });
  const file = (path: string) => join(root, JOB, ...path.split('/'));
  return {
    storage,
    async rewriteFile(path, mutate) {
      const next = mutate(new Uint8Array(await readFile(file(path))));
      if (next === null) await rm(file(path));
      else await writeFile(file(path), next);
    },
    fileExists: (path) => exists(file(path)),
    externalPath: file,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}).run();

/** An fs facade that records every call, and can fail one kind of call on demand. */
function recordingFs(): CheckpointFs & { calls: string[]; failRename: boolean } {
  const calls: string[] = [];
  const fs = {
    calls,
    failRename: false,
    ...nodeCheckpointFs,
    async writeFileSynced(path: string, bytes: Uint8Array) {
      calls.push(`write ${path}`);
      await nodeCheckpointFs.writeFileSynced(path, bytes);
    },
    async rename(from: string, to: string) {
      calls.push(`rename ${from} -> ${to}`);
      if (fs.failRename) throw Object.assign(new Error('injected rename failure'), { code: 'EIO' });
      await nodeCheckpointFs.rename(from, to);
    },
    async syncDir(path: string) {
      calls.push(`syncDir ${path}`);
      await nodeCheckpointFs.syncDir(path);
    },
  };
  return fs;
}

const fsOnly = suite<{ root: string }>('FsCheckpointStorage on disk');

fsOnly.before.each(async (context) => {
  context.root = await mkdtemp(join(tmpdir(), 'weir-chk-fs-'));
});
fsOnly.after.each(async ({ root }) => {
  await rm(root, { recursive: true, force: true });
});

fsOnly('the job dir gets shared/ and taskowned/ on first write', async ({ root }) => {
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB });
  assert.is(storage.sharedDir, join(root, JOB, 'shared'));
  await storage.writeState(1, 'op-a-0', pattern(BIG, 1));
  assert.ok((await stat(storage.sharedDir)).isDirectory());
  assert.ok((await stat(storage.taskOwnedDir)).isDirectory());
  await storage.close();
});

fsOnly('state and _metadata are written to a temp file, then renamed; no temp file is left', async ({ root }) => {
  const fs = recordingFs();
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB, fs });
  const handle = await storage.writeState(1, 'op-a-0', pattern(BIG, 1));
  await storage.commitCheckpoint(metadata(1, [handle]));
  const chkDir = join(root, JOB, 'chk-1');
  assert.equal((await readdir(chkDir)).sort(), ['_metadata', 'op-a-0.state']);
  const writes = fs.calls.filter((c) => c.startsWith('write '));
  assert.is(writes.length, 2);
  for (const w of writes) assert.match(w, /\/chk-1\/\.(op-a-0\.state|_metadata)\.[0-9a-f]+\.tmp$/);
  assert.ok(fs.calls.some((c) => c.endsWith(`-> ${join(chkDir, '_metadata')}`)));
  await storage.close();
});

fsOnly('commit fsyncs the chk dir and the job dir after renaming _metadata', async ({ root }) => {
  const fs = recordingFs();
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB, fs, catalog: false });
  await storage.commitCheckpoint(metadata(3));
  const chkDir = join(root, JOB, 'chk-3');
  const rename = fs.calls.findIndex((c) => c.endsWith(`-> ${join(chkDir, '_metadata')}`));
  const syncChk = fs.calls.indexOf(`syncDir ${chkDir}`);
  const syncJob = fs.calls.indexOf(`syncDir ${join(root, JOB)}`);
  assert.ok(rename >= 0 && syncChk > rename && syncJob > rename, fs.calls.join('\n'));
  await storage.close();
});

fsOnly('a failed rename leaves no checkpoint and no temp file', async ({ root }) => {
  const fs = recordingFs();
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB, fs });
  fs.failRename = true;
  await rejectsWith(storage.commitCheckpoint(metadata(4)), 'WEIR_CHECKPOINT_IO', ['_metadata', 'EIO']);
  assert.equal(await readdir(join(root, JOB, 'chk-4')), []);
  const listing = await storage.listCheckpoints();
  assert.equal(listing.checkpoints, []);
  assert.equal(listing.incomplete, [4]);
  await storage.close();
});

fsOnly('a temp file left by a crash is ignored by list and removed by discardIncomplete', async ({ root }) => {
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB });
  await storage.commitCheckpoint(metadata(1));
  const chkDir = join(root, JOB, 'chk-2');
  await mkdir(chkDir, { recursive: true });
  await writeFile(join(chkDir, '._metadata.abc123.tmp'), pattern(40, 1)); // crash before rename
  await writeFile(join(chkDir, '.op-a-0.state.def456.tmp'), pattern(40, 2));
  const listing = await storage.listCheckpoints();
  assert.equal(listing.checkpoints.map((c) => c.checkpointId), [1]);
  assert.equal(listing.incomplete, [2]);
  await storage.discardIncomplete(2);
  assert.not.ok(await exists(chkDir));
  await storage.close();
});

fsOnly('a flipped byte in a state file on disk is detected, naming the file', async ({ root }) => {
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB });
  const handle = await storage.writeState(5, 'op-a-0', pattern(BIG, 5));
  const path = join(root, JOB, 'chk-5', 'op-a-0.state');
  await writeFile(path, flip(new Uint8Array(await readFile(path)), BIG - 1));
  await rejectsWith(storage.readState(handle), 'WEIR_CHECKPOINT_CORRUPT', [path, 'checksum mismatch']);
  await storage.close();
});

fsOnly('commit indexes the checkpoint in the catalog and discard removes it', async ({ root }) => {
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB });
  await storage.commitCheckpoint(metadata(1));
  await storage.commitCheckpoint(metadata(2));
  let entries = await storage.catalogEntries();
  assert.equal(entries?.map((e) => e.id), [2, 1]);
  assert.equal(entries?.[0], { id: 2, path: 'chk-2', triggerTimestamp: 1002, completedTimestamp: 2002, stateBytes: 0, durationMs: 1000, kind: 'checkpoint' });
  await storage.discardCheckpoint(2);
  entries = await storage.catalogEntries();
  assert.equal(entries?.map((e) => e.id), [1]);
  await storage.close();
});

fsOnly('the catalog is rebuilt from _metadata files after _catalog was deleted', async ({ root }) => {
  const first = new FsCheckpointStorage({ directory: root, jobName: JOB });
  for (const id of [1, 2, 3]) await first.commitCheckpoint(metadata(id));
  await first.close();
  await rm(join(root, JOB, '_catalog'), { recursive: true });
  const second = new FsCheckpointStorage({ directory: root, jobName: JOB });
  assert.equal(await second.catalogEntries(), [], 'a fresh empty catalog');
  const listing = await second.rebuildCatalog();
  assert.equal(listing.checkpoints.map((c) => c.checkpointId), [3, 2, 1]);
  assert.equal((await second.catalogEntries())?.map((e) => e.id), [3, 2, 1]);
  await second.close();
});

fsOnly('listCheckpoints repairs a catalog that missed a commit or kept a deleted checkpoint', async ({ root }) => {
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB });
  await storage.commitCheckpoint(metadata(1));
  await storage.commitCheckpoint(metadata(2));
  await rm(join(root, JOB, 'chk-1'), { recursive: true }); // deleted behind the catalog's back
  const other = new FsCheckpointStorage({ directory: root, jobName: JOB, catalog: false });
  await other.commitCheckpoint(metadata(3)); // committed without indexing
  await storage.listCheckpoints();
  assert.equal((await storage.catalogEntries())?.map((e) => e.id), [3, 2]);
  await storage.close();
  await other.close();
});

fsOnly('a catalog locked by another holder is a warning, and checkpoints still work', async ({ root }) => {
  const holder = await CheckpointCatalog.open(join(root, JOB, '_catalog'));
  assert.ok(holder.catalog);
  const seen: string[] = [];
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB, onWarning: (m) => seen.push(m) });
  assert.is(await storage.commitCheckpoint(metadata(1)), join(root, JOB, 'chk-1'));
  const listing = await storage.listCheckpoints();
  assert.equal(listing.checkpoints.map((c) => c.checkpointId), [1]);
  assert.is(listing.warnings.length, 1);
  assert.match(listing.warnings[0]!, /locked/);
  assert.equal(seen, listing.warnings);
  assert.is(await storage.catalogEntries(), undefined);
  await storage.close();
  await holder.catalog!.close();
});

fsOnly('an external checkpoint path names its root, job and checkpoint', async ({ root }) => {
  const storage = new FsCheckpointStorage({ directory: root, jobName: JOB, catalog: false });
  const path = await storage.commitCheckpoint(metadata(12));
  assert.equal(parseExternalCheckpointPath(path), { directory: root, jobName: JOB, checkpointId: 12 });
  assert.equal(parseExternalCheckpointPath(join(path, '_metadata')), { directory: root, jobName: JOB, checkpointId: 12 });
  assert.is(parseExternalCheckpointPath(join(root, 'elsewhere')), undefined);
  await storage.close();
});

fsOnly('a job name outside [A-Za-z0-9._-] is refused', () => {
  for (const jobName of ['', 'a/b', '..', 'job name', '../x']) {
    assert.throws(() => new FsCheckpointStorage({ directory: '/tmp', jobName }), (e: Error) => (e as { code?: string }).code === 'WEIR_INVALID_ARGUMENT', jobName);
  }
});

fsOnly('listing a job dir that does not exist yet is empty', async ({ root }) => {
  const storage = new FsCheckpointStorage({ directory: join(root, 'nothing'), jobName: JOB, catalog: false });
  assert.equal(await storage.listCheckpoints(), { checkpoints: [], incomplete: [], warnings: [] });
  await storage.close();
});

fsOnly.run();

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
