/**
 * The CheckpointStorage conformance suite: the behaviour every implementation must show,
 * registered as a uvu suite against a factory (as abstract-level ships its tests). The caller
 * runs it: `checkpointStorageConformance('fs', make).run()`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../src/errors.ts';
import type { CheckpointStorage, StateHandle } from '../../src/storage/checkpoint-storage.ts';
import type { CheckpointMetadata } from '../../src/checkpoint/metadata.ts';
import type { CheckpointStats } from '../../src/checkpoint/checkpoint-stats.ts';

/** What the suite needs besides the storage: raw access to stored files, to damage them. */
export interface StorageSubject {
  readonly storage: CheckpointStorage;
  /** Replaces a stored file (path relative to the job dir) with `mutate(bytes)`; `null` deletes it. */
  rewriteFile(path: string, mutate: (bytes: Uint8Array) => Uint8Array | null): Promise<void>;
  fileExists(path: string): Promise<boolean>;
  /** The external path the storage reports for a path relative to the job dir. */
  externalPath(path: string): string;
  cleanup(): Promise<void>;
}

export const JOB = 'conformance-job';
const BIG = 24 * 1024; // above the default 20 KiB inline limit

export function checkpointStorageConformance(name: string, makeSubject: () => Promise<StorageSubject>) {
  const test = suite<{ subject: StorageSubject; storage: CheckpointStorage }>(`CheckpointStorage conformance: ${name}`);

  test.before.each(async (context) => {
    context.subject = await makeSubject();
    context.storage = context.subject.storage;
  });
  test.after.each(async (context) => {
    await context.storage.close();
    await context.subject.cleanup();
  });

  test('small state comes back inline, without a file, and reads back equal', async ({ storage }) => {
    const bytes = pattern(100, 1);
    const handle = await storage.writeState(1, 'op-a-0', bytes);
    assert.is(handle.path, '');
    assert.is(handle.bytes, 100);
    assert.match(handle.checksum, /^[0-9a-f]{16}$/);
    assert.ok(handle.inline instanceof Uint8Array);
    bytes[0] = 99; // the handle does not alias the caller's buffer
    assertBytes(await storage.readState(handle), pattern(100, 1));
    assert.equal((await storage.listCheckpoints()).incomplete, [], 'inline state creates no chk dir');
  });

  test('large state is written to a file in the chk dir and reads back equal', async ({ storage, subject }) => {
    const handle = await storage.writeState(7, 'op-count-1', pattern(BIG, 2));
    assert.is(handle.path, 'chk-7/op-count-1.state');
    assert.is(handle.bytes, BIG);
    assert.is(handle.inline, undefined);
    assert.ok(await subject.fileExists('chk-7/op-count-1.state'));
    assertBytes(await storage.readState(handle), pattern(BIG, 2));
  });

  test('state given as a Buffer is copied: reusing the buffer afterwards changes nothing', async ({ storage }) => {
    for (const length of [100, BIG]) {
      const buffer = Buffer.from(pattern(length, 13));
      const handle = await storage.writeState(2, `buffer-${length}`, buffer);
      buffer.fill(0);
      assertBytes(await storage.readState(handle), pattern(length, 13), `${length} bytes`);
    }
  });

  test('empty state round-trips inline', async ({ storage }) => {
    const handle = await storage.writeState(1, 'empty', new Uint8Array(0));
    assert.is((await storage.readState(handle)).byteLength, 0);
  });

  test('a flipped byte in a state file is WEIR_CHECKPOINT_CORRUPT naming the file', async ({ storage, subject }) => {
    const handle = await storage.writeState(3, 'op-x-0', pattern(BIG, 3));
    await subject.rewriteFile(handle.path, (b) => flip(b, 1234));
    await rejectsWith(storage.readState(handle), 'WEIR_CHECKPOINT_CORRUPT', [subject.externalPath(handle.path), 'checksum']);
  });

  test('a truncated state file is WEIR_CHECKPOINT_CORRUPT naming the file and the sizes', async ({ storage, subject }) => {
    const handle = await storage.writeState(3, 'op-x-0', pattern(BIG, 3));
    await subject.rewriteFile(handle.path, (b) => b.subarray(0, b.byteLength - 10));
    await rejectsWith(storage.readState(handle), 'WEIR_CHECKPOINT_CORRUPT', [subject.externalPath(handle.path), 'truncated', String(BIG - 10)]);
  });

  test('a handle whose checksum does not match inline bytes is WEIR_CHECKPOINT_CORRUPT', async ({ storage }) => {
    const handle = await storage.writeState(3, 'small', pattern(50, 4));
    await rejectsWith(storage.readState({ ...handle, checksum: '0000000000000000' }), 'WEIR_CHECKPOINT_CORRUPT', ['inline']);
  });

  test('a missing state file is WEIR_CHECKPOINT_NOT_FOUND naming the file', async ({ storage, subject }) => {
    const handle = await storage.writeState(4, 'gone', pattern(BIG, 5));
    await subject.rewriteFile(handle.path, () => null);
    await rejectsWith(storage.readState(handle), 'WEIR_CHECKPOINT_NOT_FOUND', [subject.externalPath('chk-4/gone.state')]);
  });

  test('a handle path leaving the job dir is rejected', async ({ storage }) => {
    const handle: StateHandle = { path: '../other-job/chk-1/x.state', bytes: 1, checksum: '0000000000000000' };
    await rejectsWith(storage.readState(handle), 'WEIR_CHECKPOINT_CORRUPT', ['../other-job']);
  });

  test('bad arguments fail fast with WEIR_INVALID_ARGUMENT', async ({ storage }) => {
    await rejectsWith(storage.writeState(-1, 'a', new Uint8Array(1)), 'WEIR_INVALID_ARGUMENT', ['checkpointId']);
    await rejectsWith(storage.writeState(1.5, 'a', new Uint8Array(1)), 'WEIR_INVALID_ARGUMENT', ['checkpointId']);
    await rejectsWith(storage.writeState(1, '../escape', new Uint8Array(1)), 'WEIR_INVALID_ARGUMENT', ['state name']);
    await rejectsWith(storage.writeState(1, '.hidden', new Uint8Array(1)), 'WEIR_INVALID_ARGUMENT', ['state name']);
    await rejectsWith(storage.commitCheckpoint({ ...metadata(1), jobName: 'other' }), 'WEIR_INVALID_ARGUMENT', ['jobName']);
  });

  test('committed checkpoints are listed newest first and load back equal', async ({ storage, subject }) => {
    const file = await storage.writeState(2, 'op-a-0', pattern(BIG, 6));
    const inline = await storage.writeState(2, 'op-a-0-list', pattern(10, 7));
    const m2 = metadata(2, [file, inline]);
    assert.is(await storage.commitCheckpoint(metadata(1)), subject.externalPath('chk-1'));
    assert.is(await storage.commitCheckpoint(m2), subject.externalPath('chk-2'));
    await storage.commitCheckpoint(metadata(10));
    const { checkpoints, warnings } = await storage.listCheckpoints();
    assert.equal(checkpoints.map((c) => c.checkpointId), [10, 2, 1], 'numeric order, not lexicographic');
    assert.equal(warnings, []);
    const info = checkpoints[1]!;
    assert.is(info.path, subject.externalPath('chk-2'));
    assert.is(info.kind, 'checkpoint');
    assert.is(info.triggerTimestamp, 1_000 + 2);
    assert.is(info.completedTimestamp, 2_000 + 2);
    assert.is(info.stateBytes, BIG + 10);
    assert.ok(info.metadataBytes > 0);
    const loaded = await storage.loadMetadata(2);
    assert.equal(loaded, m2);
    assertBytes(await storage.readState(loaded.operators[0]!.subtasks[0]!.keyed!), pattern(BIG, 6));
    assertBytes(await storage.readState(loaded.operators[0]!.subtasks[0]!.operatorState!), pattern(10, 7));
  });

  test('loadMetadata accepts the external path of the chk dir and of its _metadata', async ({ storage, subject }) => {
    const path = await storage.commitCheckpoint(metadata(5));
    assert.is((await storage.loadMetadata(path)).checkpointId, 5);
    assert.is((await storage.loadMetadata(subject.externalPath('chk-5/_metadata'))).checkpointId, 5);
  });

  test('loading a checkpoint that does not exist is WEIR_CHECKPOINT_NOT_FOUND', async ({ storage, subject }) => {
    await rejectsWith(storage.loadMetadata(9), 'WEIR_CHECKPOINT_NOT_FOUND', [subject.externalPath('chk-9/_metadata')]);
    await rejectsWith(storage.loadMetadata(subject.externalPath('chk-9')), 'WEIR_CHECKPOINT_NOT_FOUND', ['chk-9']);
  });

  test('committing the same checkpoint twice is refused', async ({ storage }) => {
    await storage.commitCheckpoint(metadata(3));
    await rejectsWith(storage.commitCheckpoint(metadata(3)), 'WEIR_INVALID_ARGUMENT', ['already committed']);
  });

  test('a chk dir without _metadata is ignored by list and reported as incomplete', async ({ storage }) => {
    await storage.commitCheckpoint(metadata(1));
    await storage.writeState(2, 'op-a-0', pattern(BIG, 8));
    const listing = await storage.listCheckpoints();
    assert.equal(listing.checkpoints.map((c) => c.checkpointId), [1]);
    assert.equal(listing.incomplete, [2]);
    assert.is(listing.warnings.length, 1);
    assert.match(listing.warnings[0]!, /chk-2/);
    assert.match(listing.warnings[0]!, /incomplete/);
  });

  test('a corrupted _metadata fails load naming the file and is a warning in list', async ({ storage, subject }) => {
    await storage.commitCheckpoint(metadata(1));
    await storage.commitCheckpoint(metadata(2));
    await subject.rewriteFile('chk-2/_metadata', (b) => flip(b, 30));
    const file = subject.externalPath('chk-2/_metadata');
    await rejectsWith(storage.loadMetadata(2), 'WEIR_CHECKPOINT_CORRUPT', [file, 'checksum mismatch']);
    const listing = await storage.listCheckpoints();
    assert.equal(listing.checkpoints.map((c) => c.checkpointId), [1]);
    assert.is(listing.warnings.length, 1);
    assert.ok(listing.warnings[0]!.includes(file), listing.warnings[0]);
  });

  test('a truncated _metadata or one with a bad magic or version fails load naming what is wrong', async ({ storage, subject }) => {
    await storage.commitCheckpoint(metadata(1));
    await storage.commitCheckpoint(metadata(2));
    await storage.commitCheckpoint(metadata(3));
    await subject.rewriteFile('chk-1/_metadata', (b) => b.subarray(0, b.byteLength - 3));
    await subject.rewriteFile('chk-2/_metadata', (b) => flip(b, 0));
    await subject.rewriteFile('chk-3/_metadata', (b) => flip(b, 8));
    await rejectsWith(storage.loadMetadata(1), 'WEIR_CHECKPOINT_CORRUPT', [subject.externalPath('chk-1/_metadata'), 'truncated']);
    await rejectsWith(storage.loadMetadata(2), 'WEIR_CHECKPOINT_CORRUPT', ['bad magic']);
    await rejectsWith(storage.loadMetadata(3), 'WEIR_CHECKPOINT_CORRUPT', ['version']);
    const listing = await storage.listCheckpoints();
    assert.equal(listing.checkpoints, []);
    assert.is(listing.warnings.length, 3);
  });

  test('a _metadata describing another checkpoint id is corrupt', async ({ storage, subject }) => {
    await storage.commitCheckpoint(metadata(1));
    await storage.commitCheckpoint(metadata(2));
    let copy: Uint8Array | undefined;
    await subject.rewriteFile('chk-1/_metadata', (b) => ((copy = b.slice()), b));
    await subject.rewriteFile('chk-2/_metadata', () => copy!);
    await rejectsWith(storage.loadMetadata(2), 'WEIR_CHECKPOINT_CORRUPT', ['describes checkpoint 1']);
  });

  test('discardCheckpoint removes the files and the list entry, and is idempotent', async ({ storage, subject }) => {
    const handle = await storage.writeState(4, 'op-a-0', pattern(BIG, 9));
    await storage.commitCheckpoint(metadata(4, [handle]));
    await storage.commitCheckpoint(metadata(5));
    await storage.discardCheckpoint(4);
    assert.not.ok(await subject.fileExists('chk-4/op-a-0.state'));
    assert.not.ok(await subject.fileExists('chk-4/_metadata'));
    const listing = await storage.listCheckpoints();
    assert.equal(listing.checkpoints.map((c) => c.checkpointId), [5]);
    assert.equal(listing.incomplete, []);
    await storage.discardCheckpoint(4);
    await storage.discardCheckpoint(99);
    await rejectsWith(storage.loadMetadata(4), 'WEIR_CHECKPOINT_NOT_FOUND', ['chk-4']);
  });

  test('discardIncomplete removes an incomplete checkpoint, is idempotent, and refuses a completed one', async ({ storage, subject }) => {
    await storage.writeState(6, 'op-a-0', pattern(BIG, 10));
    await storage.writeState(6, 'op-b-0', pattern(BIG, 11));
    await storage.discardIncomplete(6);
    assert.not.ok(await subject.fileExists('chk-6/op-a-0.state'));
    assert.equal((await storage.listCheckpoints()).incomplete, []);
    await storage.discardIncomplete(6);
    await storage.commitCheckpoint(metadata(7));
    await rejectsWith(storage.discardIncomplete(7), 'WEIR_INVALID_ARGUMENT', ['complete']);
    assert.is((await storage.loadMetadata(7)).checkpointId, 7);
  });

  test('checkpoint ids up to 2^31 and beyond work and sort numerically', async ({ storage }) => {
    const big = 2 ** 31;
    const handle = await storage.writeState(big, 'op-a-0', pattern(BIG, 12));
    await storage.commitCheckpoint(metadata(big, [handle]));
    await storage.commitCheckpoint(metadata(big - 1));
    await storage.commitCheckpoint(metadata(3));
    await storage.commitCheckpoint(metadata(2 ** 40));
    const listing = await storage.listCheckpoints();
    assert.equal(listing.checkpoints.map((c) => c.checkpointId), [2 ** 40, big, big - 1, 3]);
    assertBytes(await storage.readState((await storage.loadMetadata(big)).operators[0]!.subtasks[0]!.keyed!), pattern(BIG, 12));
  });

  test('statistics committed with a checkpoint load back equal; one committed without them has none', async ({ storage, subject }) => {
    const path = await storage.commitCheckpoint(metadata(3), stats(3));
    await storage.commitCheckpoint(metadata(4));
    assert.ok(await subject.fileExists('chk-3/_stats.json'));
    assert.equal(await storage.loadStats(3), { ...stats(3), externalPath: path });
    assert.is(await storage.loadStats(4), undefined, 'an older checkpoint without _stats.json');
    assert.is(await storage.loadStats(99), undefined);
    await rejectsWith(storage.commitCheckpoint(metadata(5), stats(6)), 'WEIR_INVALID_ARGUMENT', ['stats.id 6']);
    assert.not.ok(await subject.fileExists('chk-5/_stats.json'), 'nothing written for a refused commit');
    await rejectsWith(storage.commitCheckpoint(metadata(7), { ...stats(7), status: 'FAILED' }), 'WEIR_INVALID_ARGUMENT', ['completed']);
    await storage.discardCheckpoint(3);
    assert.not.ok(await subject.fileExists('chk-3/_stats.json'));
  });

  test('damaged statistics are WEIR_CHECKPOINT_CORRUPT naming the file; the checkpoint still lists and loads', async ({ storage, subject }) => {
    await storage.commitCheckpoint(metadata(1), stats(1));
    await storage.commitCheckpoint(metadata(2), stats(2));
    await storage.commitCheckpoint(metadata(3), stats(3));
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    const bytes = (t: string) => new TextEncoder().encode(t);
    await subject.rewriteFile('chk-1/_stats.json', (b) => b.subarray(0, 20));
    await subject.rewriteFile('chk-2/_stats.json', (b) => bytes(text(b).replace('"startDelayMs": 12', '"startDelayMs": "12"')));
    await subject.rewriteFile('chk-3/_stats.json', (b) => bytes(text(b).replace('"id": 3', '"id": 2')));
    await rejectsWith(storage.loadStats(1), 'WEIR_CHECKPOINT_CORRUPT', [subject.externalPath('chk-1/_stats.json'), 'not valid JSON']);
    await rejectsWith(storage.loadStats(2), 'WEIR_CHECKPOINT_CORRUPT', ['subtasks[0].startDelayMs']);
    await rejectsWith(storage.loadStats(3), 'WEIR_CHECKPOINT_CORRUPT', ['describe checkpoint 2']);
    const listing = await storage.listCheckpoints();
    assert.equal(listing.checkpoints.map((c) => c.checkpointId), [3, 2, 1]);
    assert.equal(listing.warnings, []);
    assert.is((await storage.loadMetadata(1)).checkpointId, 1);
  });

  test('concurrent writes of different names all land and read back', async ({ storage }) => {
    const names = Array.from({ length: 12 }, (_, i) => `op-${i}-${i % 3}`);
    const handles = await Promise.all(names.map((n, i) => storage.writeState(8, n, pattern(i % 2 === 0 ? BIG + i : 100 + i, i))));
    for (let i = 0; i < names.length; i++) {
      assertBytes(await storage.readState(handles[i]!), pattern(i % 2 === 0 ? BIG + i : 100 + i, i), names[i]);
    }
    assert.equal(new Set(handles.filter((h) => h.path !== '').map((h) => h.path)).size, 6);
  });

  return test;
}

/** Metadata of checkpoint `id` with one operator whose subtasks hold `handles` (keyed, then list). */
export function metadata(id: number, handles: StateHandle[] = []): CheckpointMetadata {
  const subtask: { keyGroupRange: { start: number; end: number }; keyed?: StateHandle; operatorState?: StateHandle } = {
    keyGroupRange: { start: 0, end: 127 },
  };
  if (handles[0] !== undefined) subtask.keyed = handles[0];
  if (handles[1] !== undefined) subtask.operatorState = handles[1];
  return {
    version: 1,
    jobName: JOB,
    checkpointId: id,
    kind: 'checkpoint',
    triggerTimestamp: 1_000 + id,
    completedTimestamp: 2_000 + id,
    maxParallelism: 128,
    operators: [{ uid: 'op-a', parallelism: 1, subtasks: [subtask] }],
    stats: { stateBytes: handles.reduce((sum, h) => sum + h.bytes, 0), durationMs: 1_000 },
  };
}

/** Completed-checkpoint statistics of checkpoint `id`, two subtasks. */
export function stats(id: number): CheckpointStats {
  const subtask = (key: string, unaligned: boolean) => ({
    subtask: key, name: 'op-a', ackTimestamp: 1_500 + id, startDelayMs: 12, alignmentMs: unaligned ? 0 : 3.5, processedBytes: unaligned ? 0 : 1024,
    persistedBytes: unaligned ? 4096 : 0, syncMs: 0.25, asyncMs: 9, checkpointedSize: 300, unaligned,
  });
  return {
    id, status: 'COMPLETED', triggerTimestamp: 1_000 + id, latestAckTimestamp: 1_500 + id, endToEndDurationMs: 1_000, stateSize: 600,
    checkpointedSize: 600, persistedData: 4096, unaligned: true, subtasks: [subtask('1/0', false), subtask('1/1', true)],
    numAcknowledgedSubtasks: 2, maxSyncMs: 0.25, maxAsyncMs: 9, maxStartDelayMs: 12,
  };
}

export function assertBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.ok(actual instanceof Uint8Array, 'expected a Uint8Array');
  assert.is(actual.byteLength, expected.byteLength, message);
  assert.ok(Buffer.compare(actual, expected) === 0, message ?? 'bytes differ');
}

export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  return out;
}

export function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = bytes.slice();
  out[at]! ^= 0x40;
  return out;
}

export async function rejectsWith(promise: Promise<unknown>, code: string, mentions: readonly string[] = []): Promise<WeirError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, WeirError, `expected a WeirError, got ${String(error)}`);
    const weir = error as WeirError;
    assert.is(weir.code, code, weir.message);
    for (const text of mentions) assert.ok(weir.message.includes(text), `message ${JSON.stringify(weir.message)} should mention ${JSON.stringify(text)}`);
    return weir;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}
