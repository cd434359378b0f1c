import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import { sharedFileName, uploadingCheckpointOf, type StateHandle } from '../../../src/storage/checkpoint-storage.ts';
import { FsCheckpointStorage, nodeCheckpointFs } from '../../../src/storage/fs-checkpoint-storage.ts';
import { checksumHex, loadChecksum } from '../../../src/storage/state-file.ts';
import { tempDirs } from '../../helpers/temp-dirs.ts';

const tempDir = tempDirs(test, 'weir-shared-');

test.before(async () => {
  await loadChecksum();
});

/** Awaits `promise` and checks it rejects with a WeirError of `code` (message matching `message`). */
async function rejectsCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<WeirError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, code, (error as WeirError).message);
    if (message !== undefined) assert.match((error as WeirError).message, message);
    return error as WeirError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Fixture {
  readonly root: string;
  readonly storage: FsCheckpointStorage;
  /** Writes a local source file (as an LSM tree would) and returns its path, size and checksum. */
  source(name: string, bytes: Uint8Array): { path: string; bytes: number; checksum: string };
}

function fixture(): Fixture {
  const root = tempDir();
  const storage = new FsCheckpointStorage({ directory: join(root, 'checkpoints'), jobName: 'job', catalog: false });
  const local = join(root, 'local');
  mkdirSync(local);
  return {
    root,
    storage,
    source(name, bytes) {
      writeFileSync(join(local, name), bytes);
      return { path: join(local, name), bytes: bytes.byteLength, checksum: checksumHex(bytes) };
    },
  };
}

function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

async function putOne(f: Fixture, name: string, length = 5000): Promise<{ handle: StateHandle; sourcePath: string; content: Uint8Array }> {
  const content = bytesOf(length, name.length);
  const src = f.source(`${name}.src`, content);
  const handle = await f.storage.putShared(src.path, name, src.bytes, src.checksum);
  return { handle, sourcePath: src.path, content };
}

test('putShared hard-links the source into shared/ (same inode) and returns a shared/ handle with the given size and checksum', async () => {
  const f = fixture();
  const { handle, sourcePath, content } = await putOne(f, 'c3-count-0-abcd-000001.sst');
  assert.equal(handle, { path: 'shared/c3-count-0-abcd-000001.sst', bytes: 5000, checksum: checksumHex(content) });
  const target = join(f.storage.sharedDir, 'c3-count-0-abcd-000001.sst');
  assert.is(statSync(target).ino, statSync(sourcePath).ino);
  assert.is(statSync(target).nlink, 2);
  assert.ok(Buffer.from(readFileSync(target)).equals(Buffer.from(content)));
  assert.equal(readdirSync(f.storage.sharedDir), ['c3-count-0-abcd-000001.sst']);
  await f.storage.close();
});

test('putShared of a name that already exists in shared/ fails with WEIR_CHECKPOINT_IO and leaves the existing file alone', async () => {
  const f = fixture();
  const first = await putOne(f, 'c1-op-0-s-000001.sst', 100);
  const other = f.source('other.src', bytesOf(300, 9));
  const error = await rejectsCode(f.storage.putShared(other.path, 'c1-op-0-s-000001.sst', other.bytes, other.checksum), 'WEIR_CHECKPOINT_IO');
  assert.ok(error.message.includes(join(f.storage.sharedDir, 'c1-op-0-s-000001.sst')), error.message);
  assert.is(error.retriable, true);
  const kept = readFileSync(join(f.storage.sharedDir, 'c1-op-0-s-000001.sst'));
  assert.ok(Buffer.from(kept).equals(Buffer.from(first.content)));
  await f.storage.close();
});

test('putShared rejects names that are not a single plain file name with WEIR_INVALID_ARGUMENT', async () => {
  const f = fixture();
  const src = f.source('x.src', bytesOf(10, 1));
  for (const name of ['../x', 'a/b', '.hidden', '', 'chk-1/x.state']) {
    await rejectsCode(f.storage.putShared(src.path, name, src.bytes, src.checksum), 'WEIR_INVALID_ARGUMENT', /shared file name/);
  }
  assert.equal(await f.storage.listShared(), []);
  await f.storage.close();
});

test('syncShared fsyncs the shared dir', async () => {
  const root = tempDir();
  const synced: string[] = [];
  const storage = new FsCheckpointStorage({
    directory: root,
    jobName: 'job',
    catalog: false,
    fs: { ...nodeCheckpointFs, syncDir: async (path) => void synced.push(path) },
  });
  await storage.syncShared();
  assert.equal(synced, [storage.sharedDir]);
  await storage.close();
});

test('materializeShared puts a verified copy at the target (a hard link of the shared file)', async () => {
  const f = fixture();
  const { handle, content } = await putOne(f, 'c2-op-0-s-000004.sst', 7000);
  const target = join(f.root, 'restored.sst');
  await f.storage.materializeShared(handle, target);
  assert.ok(Buffer.from(readFileSync(target)).equals(Buffer.from(content)));
  assert.is(statSync(target).ino, statSync(join(f.storage.sharedDir, 'c2-op-0-s-000004.sst')).ino);
  await f.storage.close();
});

test('materializeShared of a shared file with one flipped byte is WEIR_CHECKPOINT_CORRUPT naming the file, and leaves no target', async () => {
  const f = fixture();
  const { handle } = await putOne(f, 'c2-op-0-s-000005.sst', 4096);
  const shared = join(f.storage.sharedDir, 'c2-op-0-s-000005.sst');
  const bytes = readFileSync(shared);
  bytes[1234] ^= 0x01;
  writeFileSync(shared, bytes); // writes through the link: same inode, same size
  const target = join(f.root, 'restored.sst');
  const error = await rejectsCode(f.storage.materializeShared(handle, target), 'WEIR_CHECKPOINT_CORRUPT', /checksum mismatch/);
  assert.ok(error.message.includes(shared), error.message);
  assert.is(existsSync(target), false);
  await f.storage.close();
});

test('materializeShared of a truncated shared file is WEIR_CHECKPOINT_CORRUPT "truncated", of a missing one WEIR_CHECKPOINT_NOT_FOUND', async () => {
  const f = fixture();
  const a = await putOne(f, 'c2-op-0-s-000006.sst', 4096);
  const b = await putOne(f, 'c2-op-0-s-000007.sst', 4096);
  const sharedA = join(f.storage.sharedDir, 'c2-op-0-s-000006.sst');
  truncateSync(sharedA, 4000);
  const truncated = await rejectsCode(
    f.storage.materializeShared(a.handle, join(f.root, 'a.sst')),
    'WEIR_CHECKPOINT_CORRUPT',
    /truncated, 4000 bytes instead of 4096/,
  );
  assert.ok(truncated.message.includes(sharedA), truncated.message);
  assert.is(existsSync(join(f.root, 'a.sst')), false);
  const sharedB = join(f.storage.sharedDir, 'c2-op-0-s-000007.sst');
  rmSync(sharedB);
  const missing = await rejectsCode(f.storage.materializeShared(b.handle, join(f.root, 'b.sst')), 'WEIR_CHECKPOINT_NOT_FOUND');
  assert.ok(missing.message.includes(sharedB), missing.message);
  assert.is(existsSync(join(f.root, 'b.sst')), false);
  await f.storage.close();
});

test('materializeShared rejects handles that are not files in shared/ with WEIR_CHECKPOINT_CORRUPT', async () => {
  const f = fixture();
  const { handle } = await putOne(f, 'c1-op-0-s-000001.sst', 64);
  const target = join(f.root, 'nope.sst');
  const bad: StateHandle[] = [
    { ...handle, path: '../x' },
    { ...handle, path: 'chk-1/x.state' },
    { ...handle, path: 'shared/../chk-1/x.state' },
    { ...handle, path: 'shared/./c1-op-0-s-000001.sst' },
    { ...handle, path: '/etc/passwd' },
    { ...handle, path: 'shared/' },
    { path: '', bytes: 1, checksum: handle.checksum, inline: new Uint8Array(1) },
  ];
  for (const h of bad) {
    await rejectsCode(f.storage.materializeShared(h, target), 'WEIR_CHECKPOINT_CORRUPT', new RegExp(`is not a file in ${escape(f.storage.sharedDir)}`));
  }
  assert.is(existsSync(target), false);
  await f.storage.close();
});

test('listShared lists shared/<name> for plain names only; deleteShared is idempotent and refuses paths outside shared/', async () => {
  const f = fixture();
  assert.equal(await f.storage.listShared(), [], 'no shared dir yet');
  await putOne(f, 'c1-a-0-s-000001.sst', 10);
  await putOne(f, 'c2-a-0-s-000002.sst', 10);
  writeFileSync(join(f.storage.sharedDir, '.c3-a-0-s-000003.sst.tmp'), 'x');
  assert.equal((await f.storage.listShared()).sort(), ['shared/c1-a-0-s-000001.sst', 'shared/c2-a-0-s-000002.sst']);
  await f.storage.deleteShared('shared/c1-a-0-s-000001.sst');
  await f.storage.deleteShared('shared/c1-a-0-s-000001.sst');
  assert.equal(await f.storage.listShared(), ['shared/c2-a-0-s-000002.sst']);
  for (const path of ['chk-1/x.state', 'shared/../chk-1/_metadata', '../shared/x', 'sharedx/y']) {
    await rejectsCode(f.storage.deleteShared(path), 'WEIR_INVALID_ARGUMENT', /is not a shared file path/);
  }
  assert.equal(readdirSync(f.storage.sharedDir).sort(), ['.c3-a-0-s-000003.sst.tmp', 'c2-a-0-s-000002.sst']);
  await f.storage.close();
});

test('sharedFileName and uploadingCheckpointOf round-trip the uploading checkpoint id', () => {
  assert.is(sharedFileName(7, 'count-1', '0a1b2c3d', '000042.sst'), 'c7-count-1-0a1b2c3d-000042.sst');
  for (const id of [0, 1, 7, 10, 123456, Number.MAX_SAFE_INTEGER]) {
    const name = sharedFileName(id, 'op-3', 'ffff0000', '000001.sst');
    assert.is(uploadingCheckpointOf(name), id, name);
    assert.is(uploadingCheckpointOf(`shared/${name}`), id, `shared/${name}`);
  }
  // The owner may itself look like a prefix: only the leading c<id>- counts.
  assert.is(uploadingCheckpointOf('shared/c12-c99-x-s-000001.sst'), 12);
  for (const other of ['shared/000001.sst', 'shared/c07-op-s-1.sst', 'shared/c-op-s-1.sst', 'shared/c12', 'shared/x-c12-op', 'shared/C12-op', 'c12-a/other']) {
    assert.is(uploadingCheckpointOf(other), undefined, other);
  }
});

test('checkStateSize passes inline handles and files of the right size, and names the file otherwise', async () => {
  const f = fixture();
  const { handle } = await putOne(f, 'c1-a-0-s-000001.sst', 2048);
  await f.storage.checkStateSize(handle);
  await f.storage.checkStateSize({ path: '', bytes: 3, checksum: '0000000000000000', inline: new Uint8Array(3) });
  const file = join(f.storage.sharedDir, 'c1-a-0-s-000001.sst');
  await rejectsCode(f.storage.checkStateSize({ ...handle, bytes: 2049 }), 'WEIR_CHECKPOINT_CORRUPT', new RegExp(`${escape(file)} is corrupt: truncated, 2048 bytes instead of 2049`));
  await rejectsCode(f.storage.checkStateSize({ ...handle, bytes: 2047 }), 'WEIR_CHECKPOINT_CORRUPT', /too long, 2048 bytes instead of 2047/);
  const missing = await rejectsCode(f.storage.checkStateSize({ ...handle, path: 'shared/gone.sst' }), 'WEIR_CHECKPOINT_NOT_FOUND');
  assert.ok(missing.message.includes(join(f.storage.sharedDir, 'gone.sst')), missing.message);
  await rejectsCode(f.storage.checkStateSize({ ...handle, path: '../x' }), 'WEIR_CHECKPOINT_CORRUPT', /is not a path inside/);
  // Size only: a flipped byte is not noticed here (materializeShared verifies the checksum).
  const bytes = readFileSync(file);
  bytes[0] ^= 0xff;
  writeFileSync(file, bytes);
  await f.storage.checkStateSize(handle);
  await f.storage.close();
});

test.run();
