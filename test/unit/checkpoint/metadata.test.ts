import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import { checksum64, loadChecksum } from '../../../src/storage/state-file.ts';
import { decodeCheckpointMetadata, encodeCheckpointMetadata, type CheckpointMetadata } from '../../../src/checkpoint/metadata.ts';

const SOURCE = '/ckpt/job/chk-7/_metadata';

const METADATA: CheckpointMetadata = {
  version: 1,
  jobName: 'word-count',
  checkpointId: 7,
  kind: 'savepoint',
  triggerTimestamp: 1_700_000_000_000,
  completedTimestamp: 1_700_000_000_250,
  maxParallelism: 128,
  operators: [
    {
      uid: 'count',
      parallelism: 2,
      subtasks: [
        { keyGroupRange: { start: 0, end: 63 }, keyed: { path: 'chk-7/count-0.keyed.state', bytes: 40_000, checksum: '0123456789abcdef' } },
        { keyGroupRange: { start: 64, end: 127 }, keyed: { path: '', bytes: 3, checksum: 'fedcba9876543210', inline: new Uint8Array([1, 2, 255]) } },
      ],
    },
    { uid: 'source', parallelism: 1, subtasks: [{ operatorState: { path: '', bytes: 0, checksum: 'ef46db3751d8e999', inline: new Uint8Array(0) } }, {}] },
  ],
  stats: { stateBytes: 40_003, durationMs: 250 },
};

async function corrupt(bytes: Uint8Array, mentions: string): Promise<void> {
  try {
    await decodeCheckpointMetadata(bytes, SOURCE);
  } catch (error) {
    assert.instance(error, WeirError);
    const e = error as WeirError;
    assert.is(e.code, 'WEIR_CHECKPOINT_CORRUPT');
    assert.ok(e.message.includes(SOURCE), e.message);
    assert.ok(e.message.includes(mentions), `${e.message} should mention ${mentions}`);
    return;
  }
  assert.unreachable('expected WEIR_CHECKPOINT_CORRUPT');
}

test('metadata round-trips, inline bytes included', async () => {
  const decoded = await decodeCheckpointMetadata(await encodeCheckpointMetadata(METADATA), SOURCE);
  assert.equal(decoded, METADATA);
});

test('the encoding is deterministic and independent of the key order of the input', async () => {
  const a = await encodeCheckpointMetadata(METADATA);
  const reordered = Object.fromEntries(Object.entries({ ...METADATA, stats: { durationMs: 250, stateBytes: 40_003 } }).reverse()) as unknown as CheckpointMetadata;
  assert.is(Object.keys(reordered)[0], 'stats');
  assert.ok(Buffer.compare(a, await encodeCheckpointMetadata(reordered)) === 0);
});

test('the layout is magic, version, body length, JSON body, xxHash64', async () => {
  const bytes = await encodeCheckpointMetadata(METADATA);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.is(Buffer.from(bytes.subarray(0, 8)).toString('latin1'), 'WEIRCHK1');
  assert.is(view.getUint32(8, true), 1);
  const length = view.getUint32(12, true);
  assert.is(bytes.byteLength, 16 + length + 8);
  const body = JSON.parse(Buffer.from(bytes.subarray(16, 16 + length)).toString('utf8'));
  assert.is(body.operators[0].subtasks[1].keyed.inline, Buffer.from([1, 2, 255]).toString('base64'));
});

test('every flipped byte is detected', async () => {
  const bytes = await encodeCheckpointMetadata(METADATA);
  for (let at = 0; at < bytes.byteLength; at++) {
    const damaged = bytes.slice();
    damaged[at]! ^= 0x08;
    await corrupt(damaged, '');
  }
});

test('corruption names what is wrong: magic, version, truncation, checksum, trailing bytes', async () => {
  const bytes = await encodeCheckpointMetadata(METADATA);
  const flip = (i: number) => {
    const d = bytes.slice();
    d[i]! ^= 0x01;
    return d;
  };
  await corrupt(flip(3), 'bad magic');
  await corrupt(flip(8), 'unsupported version');
  await corrupt(flip(40), 'checksum mismatch');
  await corrupt(bytes.subarray(0, bytes.byteLength - 1), 'truncated');
  await corrupt(bytes.subarray(0, 10), 'truncated');
  await corrupt(new Uint8Array(0), 'truncated');
  await corrupt(Buffer.concat([bytes, new Uint8Array(2)]), 'trailing');
});

/** `_metadata` bytes around an arbitrary body, with a correct checksum. */
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

test('a body with a valid checksum but the wrong shape is corrupt, naming the field', async () => {
  await loadChecksum();
  const good = JSON.parse(Buffer.from((await encodeCheckpointMetadata(METADATA)).subarray(16, -8)).toString('utf8'));
  assert.equal(await decodeCheckpointMetadata(frame(good), SOURCE), METADATA, 'the frame helper is faithful');
  await corrupt(frame({ ...good, operators: [{ uid: '', parallelism: 1, subtasks: [] }] }), 'operators[0].uid');
  await corrupt(frame({ ...good, kind: 'snapshot' }), 'kind');
  await corrupt(frame({ ...good, stats: undefined }), 'stats');
  await corrupt(frame([1, 2]), 'body');
  const handle = { path: '', bytes: 1, checksum: '0000000000000000', inline: '!!' };
  await corrupt(frame({ ...good, operators: [{ uid: 'a', parallelism: 1, subtasks: [{ keyed: handle }] }] }), 'inline is not base64');
  const noJson = frame(good);
  noJson.set(Buffer.from('{'), 16 + 5);
  await corrupt(noJson, 'checksum'); // editing the body breaks the checksum first
});

test('encode refuses bad fields with WEIR_INVALID_ARGUMENT naming them', async () => {
  const cases: Array<[Partial<Record<keyof CheckpointMetadata, unknown>>, string]> = [
    [{ checkpointId: -1 }, 'checkpointId'],
    [{ kind: 'snapshot' }, 'kind'],
    [{ jobName: 'a/b' }, 'jobName'],
    [{ version: 2 }, 'version'],
    [{ stats: { stateBytes: 1.5, durationMs: 0 } }, 'stats.stateBytes'],
  ];
  for (const [patch, field] of cases) {
    try {
      await encodeCheckpointMetadata({ ...METADATA, ...patch } as CheckpointMetadata);
      assert.unreachable(`expected ${field} to be refused`);
    } catch (error) {
      assert.is((error as WeirError).code, 'WEIR_INVALID_ARGUMENT', field);
      assert.ok((error as Error).message.includes(field), (error as Error).message);
    }
  }
  const handle = { path: 'chk-7/x.state', bytes: 1, checksum: 'xyz' };
  try {
    await encodeCheckpointMetadata({ ...METADATA, operators: [{ uid: 'a', parallelism: 1, subtasks: [{ keyed: handle }] }] });
    assert.unreachable('bad checksum accepted');
  } catch (error) {
    assert.match((error as Error).message, /operators\[0\]\.subtasks\[0\]\.keyed\.checksum/);
  }
});

test.run();
