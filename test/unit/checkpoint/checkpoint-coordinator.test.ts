import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveCheckpointing, type CheckpointingOptions } from '../../../src/checkpoint/checkpoint-config.ts';
import { CheckpointCoordinator, type AttachedSubtask, type CheckpointStats } from '../../../src/checkpoint/checkpoint-coordinator.ts';
import type { CheckpointMetadata } from '../../../src/checkpoint/metadata.ts';
import { WeirError } from '../../../src/errors.ts';
import { MemoryCheckpointStorage } from '../../../src/storage/memory-checkpoint-storage.ts';
import { loadChecksum } from '../../../src/storage/state-file.ts';
import type { OperatorAck, ToSubtask } from '../../../src/task/checkpoint-messages.ts';

test.before(async () => {
  await loadChecksum();
});

/** A hand-driven timer queue and epoch clock. */
class FakeTime {
  now = 1_000_000;
  readonly delays: number[] = [];
  #timers: Array<{ id: number; at: number; fn: () => void }> = [];
  #nextId = 1;

  setTimer = (fn: () => void, ms: number): unknown => {
    const id = this.#nextId++;
    this.delays.push(ms);
    this.#timers.push({ id, at: this.now + ms, fn });
    return id;
  };

  clearTimer = (timer: unknown): void => {
    this.#timers = this.#timers.filter((t) => t.id !== timer);
  };

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Runs every timer due within `ms`, in due order, letting async work settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.now = due.at;
      due.fn();
      await settle();
    }
    this.now = target;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface FakeSubtask extends AttachedSubtask {
  readonly inbox: ToSubtask[];
}

function subtask(key: string, isSource: boolean): FakeSubtask {
  const inbox: ToSubtask[] = [];
  return { key, subtaskIndex: Number(key.split('/')[1]), isSource, inbox, send: (m) => inbox.push(m) };
}

const PARALLELISM: Record<string, number> = { src: 2, op: 2, sink: 1 };

interface Harness {
  coordinator: CheckpointCoordinator;
  storage: MemoryCheckpointStorage;
  time: FakeTime;
  subtasks: FakeSubtask[];
  fatal: WeirError[];
  completed: CheckpointStats[];
  /** Every subtask reports running. */
  start(): void;
  /** Every subtask acknowledges checkpoint `id` with no state. */
  ackAll(id: number): void;
  triggers(): number[];
}

function harness(options: Partial<CheckpointingOptions> = {}, random = 0): Harness {
  const config = resolveCheckpointing({ interval: 1000, ...options })!;
  const storage = new MemoryCheckpointStorage({ jobName: 'job', inlineLimit: 0 });
  const time = new FakeTime();
  const fatal: WeirError[] = [];
  const completed: CheckpointStats[] = [];
  const coordinator = new CheckpointCoordinator(config, {
    storage,
    jobName: 'job',
    maxParallelism: 128,
    parallelismOf: (uid) => PARALLELISM[uid] ?? 1,
    now: () => time.now,
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
    random: () => random,
    onFatal: (error) => fatal.push(error),
    onCompleted: (stats) => completed.push(stats),
  });
  const subtasks = [subtask('0/0', true), subtask('0/1', true), subtask('1/0', false), subtask('1/1', false), subtask('2/0', false)];
  coordinator.attach(subtasks);
  return {
    coordinator,
    storage,
    time,
    subtasks,
    fatal,
    completed,
    start() {
      for (const s of subtasks) coordinator.onMessage(s.key, { type: 'running' });
    },
    ackAll(id) {
      for (const s of subtasks) coordinator.onMessage(s.key, ack(id, []));
    },
    triggers() {
      return subtasks[0]!.inbox.flatMap((m) => (m.type === 'trigger' ? [m.barrier.checkpointId] : []));
    },
  };
}

function ack(checkpointId: number, operators: OperatorAck[], extra: { syncMs?: number; asyncMs?: number; startDelayMs?: number; stateBytes?: number } = {}) {
  return {
    type: 'ack' as const,
    checkpointId,
    operators,
    syncMs: extra.syncMs ?? 1,
    asyncMs: extra.asyncMs ?? 2,
    startDelayMs: extra.startDelayMs ?? 3,
    stateBytes: extra.stateBytes ?? 0,
  };
}

async function completedIds(storage: MemoryCheckpointStorage): Promise<number[]> {
  return (await storage.listCheckpoints()).checkpoints.map((c) => c.checkpointId);
}

const messagesOf = (s: FakeSubtask, type: ToSubtask['type']): number[] =>
  s.inbox.flatMap((m) => (m.type !== type || m.type === 'fault' ? [] : [m.type === 'trigger' ? m.barrier.checkpointId : m.checkpointId]));

test('no checkpoint is triggered until every attached subtask reported running', async () => {
  const h = harness();
  for (const s of h.subtasks.slice(0, 4)) h.coordinator.onMessage(s.key, { type: 'running' });
  h.coordinator.onMessage('0/0', { type: 'running' }); // a repeat does not count twice
  assert.is(h.time.pendingTimers, 0, 'no trigger is scheduled');
  await h.time.advance(10_000);
  assert.equal(h.triggers(), []);
  h.coordinator.onMessage('2/0', { type: 'running' });
  assert.is(h.time.pendingTimers, 1);
  await h.time.advance(1000);
  assert.equal(h.triggers(), [1]);
});

test('the first trigger is delayed by minPause + random × (interval − minPause)', async () => {
  for (const [random, expected] of [
    [0, 200],
    [0.5, 600],
    [0.999, 999],
  ] as const) {
    const h = harness({ interval: 1000, minPause: 200 }, random);
    h.start();
    assert.equal(h.time.delays, [expected], `random ${random}`);
    await h.time.advance(expected - 1);
    assert.equal(h.triggers(), [], `random ${random}: not before ${expected} ms`);
    await h.time.advance(1);
    assert.equal(h.triggers(), [1], `random ${random}: at ${expected} ms`);
  }
});

test('triggers go to source subtasks only, with increasing ids and the trigger time as barrier timestamp', async () => {
  const h = harness({ interval: 1000 });
  h.start();
  const stamps: number[] = [];
  for (let i = 0; i < 3; i++) {
    await h.time.advance(i === 0 ? 0 : 1000);
    stamps.push(h.time.now);
    h.ackAll(i + 1);
    await settle();
  }
  for (const s of h.subtasks) {
    assert.equal(messagesOf(s, 'trigger'), s.isSource ? [1, 2, 3] : [], `subtask ${s.key}`);
  }
  const barriers = h.subtasks[1]!.inbox.flatMap((m) => (m.type === 'trigger' ? [m.barrier] : []));
  assert.equal(barriers.map((b) => b.timestamp), stamps);
  assert.ok(barriers.every((b) => b.kind === 0 && b.unaligned === false));
});

test('a checkpoint completes only when every subtask acked: _metadata committed, complete sent to all, stats recorded', async () => {
  const h = harness({ interval: 1000, timeout: 60_000 });
  h.start();
  await h.time.advance(0);
  const triggeredAt = h.time.now;
  const [first, ...rest] = h.subtasks;
  for (const [i, s] of rest.entries()) {
    h.time.now += 10;
    h.coordinator.onMessage(s.key, ack(1, [], { syncMs: i, asyncMs: 10 * i, startDelayMs: 100 + i, stateBytes: 5 }));
  }
  await settle();
  assert.equal(await completedIds(h.storage), [], 'one ack missing: nothing committed');
  assert.ok(h.subtasks.every((s) => messagesOf(s, 'complete').length === 0));
  assert.is(h.coordinator.latest, undefined);

  h.time.now += 10;
  h.coordinator.onMessage(first!.key, ack(1, [], { syncMs: 50, asyncMs: 1, startDelayMs: 0, stateBytes: 7 }));
  await settle();
  assert.equal(await completedIds(h.storage), [1]);
  for (const s of h.subtasks) assert.equal(messagesOf(s, 'complete'), [1], `subtask ${s.key}`);
  assert.is(h.coordinator.latest?.checkpointId, 1);
  assert.is(h.coordinator.history.length, 1);
  const stats = h.coordinator.history[0]!;
  assert.is(stats.id, 1);
  assert.is(stats.status, 'COMPLETED');
  assert.is(stats.triggerTimestamp, triggeredAt);
  assert.is(stats.latestAckTimestamp, triggeredAt + 50);
  assert.is(stats.endToEndDurationMs, 50);
  assert.is(stats.numAcknowledgedSubtasks, 5);
  assert.is(stats.stateSize, 4 * 5 + 7);
  assert.is(stats.maxSyncMs, 50);
  assert.is(stats.maxAsyncMs, 30);
  assert.is(stats.maxStartDelayMs, 103);
  assert.is(stats.externalPath, 'memory://job/chk-1');
  assert.is(stats.failureMessage, undefined);
  assert.equal(h.completed, [stats], 'onCompleted saw the same stats');
  assert.equal(h.fatal, []);
});

test('a completed checkpoint stores its statistics (_stats.json, before _metadata), per subtask with its vertex name', async () => {
  const h = harness({ interval: 1000 });
  const named = h.subtasks.map((s) => ({ ...s, name: s.isSource ? 'src' : `op ${s.key}` }));
  h.coordinator.attach(named);
  h.start();
  await h.time.advance(0);
  const written: string[] = [];
  const files = h.storage.files;
  const set = files.set.bind(files);
  files.set = (path, bytes) => (written.push(path), set(path, bytes));
  for (const [i, s] of h.subtasks.entries()) {
    h.time.now += 5;
    h.coordinator.onMessage(s.key, {
      ...ack(1, [], { syncMs: i, asyncMs: 2 * i, startDelayMs: 10 + i, stateBytes: 100 }),
      alignmentMs: i === 2 ? 7 : 0,
      processedBytes: i === 2 ? 4096 : 0,
      inFlightBytes: i === 3 ? 2048 : 0,
      unaligned: i === 3,
    });
  }
  await settle();
  assert.equal(written.filter((p) => p.startsWith('chk-1/')), ['chk-1/_stats.json', 'chk-1/_metadata'], 'statistics first');
  const stored = await h.storage.loadStats(1);
  assert.equal(stored, h.completed[0], 'what onCheckpoint saw, externalPath included');
  assert.is(stored!.persistedData, 2048);
  assert.is(stored!.unaligned, true);
  const third = stored!.subtasks.find((s) => s.subtask === '1/0')!;
  assert.equal(third, {
    subtask: '1/0', name: 'op 1/0', ackTimestamp: h.completed[0]!.triggerTimestamp + 15, startDelayMs: 12, alignmentMs: 7,
    processedBytes: 4096, persistedBytes: 0, syncMs: 2, asyncMs: 4, checkpointedSize: 100, unaligned: false,
  });
});

test('completed checkpoints beyond numRetained are discarded from storage, oldest first', async () => {
  const h = harness({ interval: 1000, numRetained: 2 });
  h.start();
  for (let id = 1; id <= 4; id++) {
    await h.time.advance(id === 1 ? 0 : 1000);
    const data = await h.storage.writeState(id, `state-${id}`, new Uint8Array([id, id, id]));
    for (const s of h.subtasks) {
      h.coordinator.onMessage(s.key, ack(id, s.key === '1/0' ? [{ uid: 'op', keyGroupRange: { start: 0, end: 63 }, keyed: data }] : []));
    }
    await settle();
  }
  assert.equal(await completedIds(h.storage), [4, 3]);
  assert.equal(h.coordinator.retained.map((m) => m.checkpointId), [3, 4]);
  const paths = [...h.storage.files.keys()].sort();
  assert.equal(paths, ['chk-3/_metadata', 'chk-3/_stats.json', 'chk-3/state-3.state', 'chk-4/_metadata', 'chk-4/_stats.json', 'chk-4/state-4.state']);
});

test('with maxConcurrent 1 a trigger is skipped while a checkpoint is pending', async () => {
  const h = harness({ interval: 1000 });
  h.start();
  await h.time.advance(0);
  assert.equal(h.triggers(), [1]);
  await h.time.advance(3000);
  assert.equal(h.triggers(), [1], 'checkpoint 1 is still pending');
  h.ackAll(1);
  await settle();
  await h.time.advance(1000);
  assert.equal(h.triggers(), [1, 2]);
});

test('a trigger held back by maxConcurrent fires as soon as the pending checkpoint completes, not an interval later', async () => {
  // Flink queues the periodic request and executes it when the pending checkpoint ends
  // (the coordinator's own comment promises the same re-check).
  const h = harness({ interval: 1000 });
  h.start();
  await h.time.advance(0);
  await h.time.advance(1000); // the second trigger finds checkpoint 1 pending
  assert.equal(h.triggers(), [1]);
  await h.time.advance(100);
  h.ackAll(1);
  await settle();
  await h.time.advance(0);
  assert.equal(h.triggers(), [1, 2], 'minPause is 0: the held-back trigger may run right away');
});

test('minPause delays the next trigger until minPause after the last completion', async () => {
  const h = harness({ interval: 100, minPause: 500 });
  h.start(); // random 0: the first trigger after minPause
  await h.time.advance(500);
  assert.equal(h.triggers(), [1]);
  await h.time.advance(50);
  h.ackAll(1);
  await settle();
  await h.time.advance(499);
  assert.equal(h.triggers(), [1], 'within minPause of the completion');
  await h.time.advance(1);
  assert.equal(h.triggers(), [1, 2], 'minPause after the completion');
});

test('a checkpoint not completed within timeout is aborted: abort sent, EXPIRED in history, and with tolerableFailures 0 the job fails', async () => {
  const h = harness({ interval: 1000, timeout: 300 });
  h.start();
  await h.time.advance(0);
  h.coordinator.onMessage('0/0', ack(1, []));
  await h.time.advance(299);
  assert.equal(h.subtasks.flatMap((s) => messagesOf(s, 'abort')), []);
  await h.time.advance(1);
  for (const s of h.subtasks) assert.equal(messagesOf(s, 'abort'), [1], `subtask ${s.key}`);
  const stats = h.coordinator.history[0]!;
  assert.is(stats.status, 'FAILED');
  assert.is(stats.id, 1);
  assert.is(stats.numAcknowledgedSubtasks, 1);
  assert.match(stats.failureMessage ?? '', /checkpoint 1 aborted \(EXPIRED\)/);
  assert.is(h.fatal.length, 1);
  assert.is(h.fatal[0]!.code, 'WEIR_CHECKPOINT_FAILED');
  assert.match(h.fatal[0]!.message, /tolerableFailures \(0\)/);
  // Late acks of the aborted checkpoint change nothing.
  for (const s of h.subtasks.slice(1)) h.coordinator.onMessage(s.key, ack(1, []));
  await settle();
  assert.equal(await completedIds(h.storage), []);
  assert.ok(h.subtasks.every((s) => messagesOf(s, 'complete').length === 0));
});

test('tolerableFailures N tolerates N consecutive failures, and a completion resets the count', async () => {
  const h = harness({ interval: 1000, timeout: 100, tolerableFailures: 2 });
  h.start();
  const expire = async () => {
    await h.time.advance(1000);
  };
  await h.time.advance(0); // trigger 1 at +0; expires at +100
  await expire(); // 1 expired, trigger 2
  assert.equal(h.fatal, [], 'one failure');
  await expire(); // 2 expired, trigger 3
  assert.equal(h.fatal, [], 'two failures');
  const id = h.triggers().at(-1)!;
  h.ackAll(id);
  await settle();
  assert.equal(h.coordinator.history.map((s) => s.status), ['FAILED', 'FAILED', 'COMPLETED']);
  await expire(); // trigger 4
  await expire(); // 4 expired, trigger 5
  await expire(); // 5 expired, trigger 6
  assert.equal(h.fatal, [], 'the completion reset the count: two failures again');
  await expire(); // 6 expired: the third consecutive failure
  assert.is(h.fatal.length, 1);
  assert.is(h.fatal[0]!.code, 'WEIR_CHECKPOINT_FAILED');
  assert.match(h.fatal[0]!.message, /^3 consecutive checkpoint failure\(s\), more than checkpointing.tolerableFailures \(2\)/);
});

test('a decline aborts the checkpoint, notifies every subtask and counts as a failure', async () => {
  const h = harness({ interval: 1000 });
  h.start();
  await h.time.advance(0);
  h.coordinator.onMessage('1/1', { type: 'decline', checkpointId: 1, reason: 'disk full' });
  for (const s of h.subtasks) assert.equal(messagesOf(s, 'abort'), [1]);
  assert.match(h.coordinator.history[0]!.failureMessage ?? '', /\(DECLINED\): subtask 1\/1 declined: disk full/);
  assert.is(h.fatal.length, 1);
  // A decline of an unknown checkpoint is ignored.
  h.coordinator.onMessage('1/1', { type: 'decline', checkpointId: 99, reason: 'x' });
  assert.is(h.coordinator.history.length, 1);
});

test('a finished subtask stops triggering and aborts pending checkpoints without counting a failure', async () => {
  const h = harness({ interval: 1000 });
  h.start();
  await h.time.advance(0);
  h.coordinator.onSubtaskFinished();
  for (const s of h.subtasks) assert.equal(messagesOf(s, 'abort'), [1]);
  assert.match(h.coordinator.history[0]!.failureMessage ?? '', /\(TASK_FINISHED\)/);
  assert.equal(h.fatal, []);
  await h.time.advance(10_000);
  assert.equal(h.triggers(), [1]);
});

test('detach aborts pending checkpoints without counting a failure, and a new attempt continues the ids', async () => {
  const h = harness({ interval: 1000 });
  h.start();
  await h.time.advance(0);
  h.coordinator.detach('JOB_FAILOVER');
  assert.match(h.coordinator.history[0]!.failureMessage ?? '', /checkpoint 1 aborted \(JOB_FAILOVER\)/);
  assert.equal(h.fatal, []);
  h.ackAll(1); // messages of a detached attempt are ignored
  await h.time.advance(10_000);
  assert.equal(await completedIds(h.storage), []);
  assert.equal(h.triggers(), [1]);

  const next = [subtask('0/0', true), subtask('2/0', false)];
  h.coordinator.attach(next);
  for (const s of next) h.coordinator.onMessage(s.key, { type: 'running' });
  await h.time.advance(0);
  assert.equal(messagesOf(next[0]!, 'trigger'), [2]);
});

test('after adoptRestored, checkpoint ids continue after the restored one', async () => {
  const h = harness({ interval: 1000 });
  const restored: CheckpointMetadata = {
    version: 1,
    jobName: 'job',
    checkpointId: 41,
    kind: 'checkpoint',
    triggerTimestamp: 1,
    completedTimestamp: 2,
    maxParallelism: 128,
    operators: [],
    stats: { stateBytes: 0, durationMs: 1 },
  };
  h.coordinator.adoptRestored(restored);
  assert.is(h.coordinator.latest, restored);
  h.start();
  await h.time.advance(0);
  assert.equal(h.triggers(), [42]);
  h.ackAll(42);
  await settle();
  assert.equal(await completedIds(h.storage), [42]);
  assert.is(h.coordinator.latest?.checkpointId, 42);
});

test('a checkpoint completing subsumes older pending ones without counting a failure', async () => {
  const h = harness({ interval: 1000, maxConcurrent: 2 });
  h.start();
  await h.time.advance(0);
  await h.time.advance(1000);
  assert.equal(h.triggers(), [1, 2]);
  h.ackAll(2);
  await settle();
  assert.equal(await completedIds(h.storage), [2]);
  const failed = h.coordinator.history.find((s) => s.id === 1);
  assert.is(failed?.status, 'FAILED');
  assert.match(failed?.failureMessage ?? '', /\(CHECKPOINT_SUBSUMED\)/);
  assert.equal(h.fatal, []);
  h.ackAll(1);
  await settle();
  assert.equal(await completedIds(h.storage), [2], 'a late completion of the subsumed checkpoint is ignored');
});

test('metadata holds one entry per operator uid, subtasks in index order, subtasks without state as {}', async () => {
  const h = harness({ interval: 1000 });
  h.start();
  await h.time.advance(0);
  const handle = async (name: string) => h.storage.writeState(1, name, new TextEncoder().encode(name));
  const keyed1 = await handle('op-1-keyed');
  const keyed0 = await handle('op-0-keyed');
  const split1 = await handle('src-1-list');
  // Acks arrive out of subtask order.
  h.coordinator.onMessage('1/1', ack(1, [{ uid: 'op', keyGroupRange: { start: 64, end: 127 }, keyed: keyed1 }]));
  h.coordinator.onMessage('0/1', ack(1, [{ uid: 'src', operatorState: split1 }]));
  h.coordinator.onMessage('2/0', ack(1, []));
  h.coordinator.onMessage('0/0', ack(1, [{ uid: 'src' }]));
  h.coordinator.onMessage('1/0', ack(1, [{ uid: 'op', keyGroupRange: { start: 0, end: 63 }, keyed: keyed0 }]));
  await settle();
  const metadata = await h.storage.loadMetadata(1);
  assert.is(metadata.jobName, 'job');
  assert.is(metadata.maxParallelism, 128);
  assert.is(metadata.kind, 'checkpoint');
  const byUid = Object.fromEntries(metadata.operators.map((op) => [op.uid, op]));
  assert.equal(Object.keys(byUid).sort(), ['op', 'src'], 'uids without any acked operator state are absent');
  const strip = (h: { path: string; bytes: number; checksum: string }) => ({ path: h.path, bytes: h.bytes, checksum: h.checksum });
  assert.equal(byUid.op, {
    uid: 'op',
    parallelism: 2,
    subtasks: [
      { keyGroupRange: { start: 0, end: 63 }, keyed: strip(keyed0) },
      { keyGroupRange: { start: 64, end: 127 }, keyed: strip(keyed1) },
    ],
  });
  assert.equal(byUid.src, { uid: 'src', parallelism: 2, subtasks: [{}, { operatorState: strip(split1) }] });
});

test('a repeated ack while the checkpoint’s _metadata is being written does not complete it a second time', async () => {
  const h = harness({ interval: 1000 });
  h.start();
  await h.time.advance(0);
  h.ackAll(1); // the last ack starts writing _metadata (asynchronous)
  h.coordinator.onMessage('2/0', ack(1, [])); // a duplicate before the write finished
  await settle();
  assert.equal(await completedIds(h.storage), [1]);
  assert.equal(h.coordinator.history.map((s) => `${s.id} ${s.status}`), ['1 COMPLETED']);
  for (const s of h.subtasks) assert.equal(messagesOf(s, 'complete'), [1], `subtask ${s.key}`);
  assert.equal(h.coordinator.retained.map((m) => m.checkpointId), [1]);
  assert.equal(h.fatal, []);
});

test.run();
