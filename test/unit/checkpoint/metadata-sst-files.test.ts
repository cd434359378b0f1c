import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import { decodeCheckpointMetadata, encodeCheckpointMetadata, type CheckpointMetadata, type SharedFileRef } from '../../../src/checkpoint/metadata.ts';
import { checksum64, loadChecksum } from '../../../src/storage/state-file.ts';

const SOURCE = '/ckpt/job/chk-9/_metadata';

function sst(name: string, level: number, bytes: number, checksum: string): SharedFileRef {
  return { handle: { path: `shared/${name}`, bytes, checksum }, level };
}

const L0_NEW = sst('c9-count-0-0a0b0c0d-000012.sst', 0, 4_321, '00000000000000aa');
const L0_OLD = sst('c8-count-0-0a0b0c0d-000009.sst', 0, 5_000, '1111111111111111');
const L1 = sst('c5-count-0-0a0b0c0d-000004.sst', 1, 70_000, 'abcdefabcdefabcd');
const L2 = sst('c2-count-0-99999999-000001.sst', 2, 900_000, 'fedcba9876543210');

const METADATA: CheckpointMetadata = {
  version: 1,
  jobName: 'word-count',
  checkpointId: 9,
  kind: 'checkpoint',
  triggerTimestamp: 1_700_000_000_000,
  completedTimestamp: 1_700_000_000_120,
  maxParallelism: 128,
  operators: [
    {
      uid: 'count',
      parallelism: 2,
      subtasks: [
        {
          keyGroupRange: { start: 0, end: 63 },
          sstFiles: [L0_NEW, L0_OLD, L1, L2],
          operatorState: { path: '', bytes: 2, checksum: '0123456789abcdef', inline: new Uint8Array([7, 8]) },
        },
        { keyGroupRange: { start: 64, end: 127 }, sstFiles: [] },
      ],
    },
  ],
  stats: { stateBytes: 979_321, durationMs: 120 },
};

test.before(async () => {
  await loadChecksum();
});

function withFiles(files: unknown): CheckpointMetadata {
  return {
    ...METADATA,
    operators: [{ uid: 'count', parallelism: 1, subtasks: [{ keyGroupRange: { start: 0, end: 127 }, sstFiles: files as SharedFileRef[] }] }],
  };
}

async function refused(metadata: CheckpointMetadata, mentions: string): Promise<void> {
  try {
    await encodeCheckpointMetadata(metadata);
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_INVALID_ARGUMENT', (error as Error).message);
    assert.ok((error as Error).message.includes(mentions), `${(error as Error).message} should mention ${mentions}`);
    return;
  }
  assert.unreachable(`expected WEIR_INVALID_ARGUMENT mentioning ${mentions}`);
}

async function corrupt(bytes: Uint8Array, mentions: string): Promise<void> {
  try {
    await decodeCheckpointMetadata(bytes, SOURCE);
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_CHECKPOINT_CORRUPT');
    assert.ok((error as Error).message.includes(SOURCE), (error as Error).message);
    assert.ok((error as Error).message.includes(mentions), `${(error as Error).message} should mention ${mentions}`);
    return;
  }
  assert.unreachable('expected WEIR_CHECKPOINT_CORRUPT');
}

/** The JSON body of encoded metadata. */
function bodyOf(bytes: Uint8Array): any {
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(12, true);
  return JSON.parse(Buffer.from(bytes.subarray(16, 16 + length)).toString('utf8'));
}

/** `_metadata` bytes around an arbitrary body, with a correct checksum (a tamperer who knows the format). */
function frame(body: unknown): Uint8Array {
  const json = Buffer.from(JSON.stringify(body));
  const out = new Uint8Array(16 + json.byteLength + 8);
  const view = new DataView(out.buffer);
  out.set(Buffer.from('WEIRCHK1', 'latin1'));
  view.setUint32(8, 1, true);
  view.setUint32(12, json.byteLength, true);
  out.set(json, 16);
  view.setBigUint64(16 + json.byteLength, checksum64(out.subarray(0, 16 + json.byteLength)), true);
  return out;
}

test('sstFiles round-trip in order with their levels and handles; an empty list stays an empty list', async () => {
  const decoded = await decodeCheckpointMetadata(await encodeCheckpointMetadata(METADATA), SOURCE);
  assert.equal(decoded, METADATA);
  const files = decoded.operators[0]!.subtasks[0]!.sstFiles!;
  assert.equal(files.map((f) => [f.handle.path, f.level]), [
    ['shared/c9-count-0-0a0b0c0d-000012.sst', 0],
    ['shared/c8-count-0-0a0b0c0d-000009.sst', 0],
    ['shared/c5-count-0-0a0b0c0d-000004.sst', 1],
    ['shared/c2-count-0-99999999-000001.sst', 2],
  ]);
  assert.equal(decoded.operators[0]!.subtasks[1]!.sstFiles, []);
  assert.is(files[0]!.handle.inline, undefined);
  assert.is('inline' in files[0]!.handle, false);
});

test('the body lists sstFiles after keyed and before operatorState, each as { handle: { path, bytes, checksum }, level }', async () => {
  const body = bodyOf(await encodeCheckpointMetadata(METADATA));
  const subtask = body.operators[0].subtasks[0];
  assert.equal(Object.keys(subtask), ['keyGroupRange', 'sstFiles', 'operatorState']);
  assert.equal(Object.keys(subtask.sstFiles[0]), ['handle', 'level']);
  assert.equal(Object.keys(subtask.sstFiles[0].handle), ['path', 'bytes', 'checksum']);
  assert.equal(subtask.sstFiles[2], { handle: { path: 'shared/c5-count-0-0a0b0c0d-000004.sst', bytes: 70_000, checksum: 'abcdefabcdefabcd' }, level: 1 });
});

test('encoding with sstFiles is deterministic, whatever the key order of the input objects', async () => {
  const a = await encodeCheckpointMetadata(METADATA);
  const b = await encodeCheckpointMetadata(METADATA);
  assert.ok(Buffer.compare(a, b) === 0);
  const reorder = (f: SharedFileRef): SharedFileRef =>
    ({ level: f.level, handle: { checksum: f.handle.checksum, bytes: f.handle.bytes, path: f.handle.path } }) as SharedFileRef;
  const subtask = METADATA.operators[0]!.subtasks[0]!;
  const reordered: CheckpointMetadata = {
    ...METADATA,
    operators: [
      {
        ...METADATA.operators[0]!,
        subtasks: [
          { operatorState: subtask.operatorState!, sstFiles: subtask.sstFiles!.map(reorder), keyGroupRange: { end: 63, start: 0 } },
          METADATA.operators[0]!.subtasks[1]!,
        ],
      },
    ],
  };
  assert.is(Object.keys(reordered.operators[0]!.subtasks[0]!)[0], 'operatorState');
  assert.ok(Buffer.compare(a, await encodeCheckpointMetadata(reordered)) === 0);
  // A different file order is a different checkpoint (L0 order matters): different bytes.
  const swapped = withFiles([L0_OLD, L0_NEW]);
  const straight = withFiles([L0_NEW, L0_OLD]);
  assert.ok(Buffer.compare(await encodeCheckpointMetadata(swapped), await encodeCheckpointMetadata(straight)) !== 0);
});

test('encode refuses sstFiles handles that are inline or not under shared/ with WEIR_INVALID_ARGUMENT naming the entry', async () => {
  const at = 'operators[0].subtasks[0].sstFiles[1].handle';
  const good = L0_NEW;
  await refused(withFiles([good, { handle: { path: 'chk-9/x.sst', bytes: 10, checksum: '0000000000000000' }, level: 0 }]), `${at} must be a file in shared/`);
  await refused(withFiles([good, { handle: { path: 'sharedx/x.sst', bytes: 10, checksum: '0000000000000000' }, level: 0 }]), `${at} must be a file in shared/`);
  await refused(withFiles([good, { handle: { path: '../shared/x.sst', bytes: 10, checksum: '0000000000000000' }, level: 0 }]), `${at} must be a file in shared/`);
  await refused(withFiles([good, { handle: { path: 'shared', bytes: 10, checksum: '0000000000000000' }, level: 0 }]), `${at} must be a file in shared/`);
  await refused(withFiles([good, { handle: { path: 'shared/../chk-1/_metadata', bytes: 10, checksum: '0000000000000000' }, level: 0 }]), `${at} must be a file in shared/`);
  await refused(
    withFiles([good, { handle: { path: '', bytes: 2, checksum: '0000000000000000', inline: new Uint8Array(2) }, level: 0 }]),
    `${at} must be a file in shared/`,
  );
  await refused(withFiles([good, { handle: { path: 'shared/x.sst', bytes: 2, checksum: '0000000000000000', inline: new Uint8Array(2) }, level: 0 }]), `${at} has inline bytes and a path`);
  await refused(withFiles([good, { handle: { path: 'shared/x.sst', bytes: 2, checksum: 'XYZ' }, level: 0 }]), `${at}.checksum`);
  await refused(withFiles([good, { handle: { path: 'shared/x.sst', bytes: -1, checksum: '0000000000000000' }, level: 0 }]), `${at}.bytes`);
  await refused(withFiles([good, { path: 'shared/x.sst', bytes: 1, checksum: '0000000000000000' }]), `${at} must be an object`);
  await refused(withFiles([good, null]), 'operators[0].subtasks[0].sstFiles[1] must be an object');
  await refused(withFiles([good, { ...good, level: -1 }]), 'operators[0].subtasks[0].sstFiles[1].level must be a non-negative integer, got -1');
  await refused(withFiles([good, { ...good, level: 1.5 }]), 'sstFiles[1].level');
  await refused(withFiles([good, { ...good, level: 7 }]), 'sstFiles[1].level must be below 7, got 7');
  await refused(withFiles('shared/x.sst'), 'operators[0].subtasks[0].sstFiles must be an array');
});

test('a body tampered with behind a correct checksum is corrupt, naming the sstFiles field', async () => {
  const good = bodyOf(await encodeCheckpointMetadata(METADATA));
  assert.equal(await decodeCheckpointMetadata(frame(good), SOURCE), METADATA, 'the frame helper is faithful');
  const tamper = (edit: (files: any[]) => unknown): Uint8Array => {
    const body = structuredClone(good);
    body.operators[0].subtasks[0].sstFiles = edit(body.operators[0].subtasks[0].sstFiles);
    return frame(body);
  };
  const at = 'operators[0].subtasks[0].sstFiles';
  await corrupt(tamper((f) => (f[0].handle.path = 'chk-9/local.sst', f)), `${at}[0].handle must be a file in shared/`);
  await corrupt(tamper((f) => (f[1].handle = { path: '', bytes: 1, checksum: '0000000000000000', inline: 'AA==' }, f)), `${at}[1].handle must be a file in shared/`);
  await corrupt(tamper((f) => (f[2].level = -1, f)), `${at}[2].level`);
  await corrupt(tamper((f) => (f[2].level = '1', f)), `${at}[2].level`);
  await corrupt(tamper((f) => (delete f[3].level, f)), `${at}[3].level`);
  await corrupt(tamper((f) => (f[3].handle.bytes = 'many', f)), `${at}[3].handle.bytes`);
  await corrupt(tamper((f) => (f[0].handle = null, f)), `${at}[0].handle`);
  await corrupt(tamper((f) => (f[0] = 'shared/x.sst', f)), `${at}[0]`);
  await corrupt(tamper(() => ({ 0: 'x' })), `${at} is not an array`);
});

test('a flipped byte inside an sstFiles entry is caught by the checksum', async () => {
  const bytes = await encodeCheckpointMetadata(METADATA);
  const at = Buffer.from(bytes).indexOf('c5-count-0');
  assert.ok(at > 16, 'the file name is in the body');
  for (const offset of [at, at + 3, at + 25]) {
    const damaged = bytes.slice();
    damaged[offset]! ^= 0x02;
    await corrupt(damaged, 'checksum mismatch');
  }
  const level = Buffer.from(bytes).indexOf('"level":1');
  const damaged = bytes.slice();
  damaged[level + 8] = '7'.charCodeAt(0);
  await corrupt(damaged, 'checksum mismatch');
});

test.run();
