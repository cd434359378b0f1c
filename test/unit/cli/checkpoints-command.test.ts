import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listCheckpointsCommand } from '../../../src/cli/checkpoints-command.ts';
import type { CheckpointMetadata } from '../../../src/checkpoint/metadata.ts';
import { FsCheckpointStorage } from '../../../src/storage/fs-checkpoint-storage.ts';
import { stats } from '../../conformance/checkpoint-storage.conformance.ts';

const JOB = 'conformance-job';

function metadata(id: number, kind: CheckpointMetadata['kind'] = 'checkpoint'): CheckpointMetadata {
  return {
    version: 1,
    jobName: JOB,
    checkpointId: id,
    kind,
    triggerTimestamp: 1_000 + id,
    completedTimestamp: 2_000 + id,
    maxParallelism: 128,
    operators: [],
    stats: { stateBytes: 600, durationMs: 1_000 },
  };
}

async function withCheckpoints(
  commit: (storage: FsCheckpointStorage, dir: string) => Promise<void>,
  check: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cli-chk-'));
  const storage = new FsCheckpointStorage({ directory: dir, jobName: JOB, catalog: false });
  try {
    await commit(storage, dir);
    await storage.close();
    await check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function output(dir: string, json = false): Promise<string> {
  let text = '';
  const code = await listCheckpointsCommand(dir, { json }, { write: (t: string) => (text += t) });
  assert.is(code, 0);
  return text;
}

test('each checkpoint is followed by its statistics: the totals and a row per subtask under Flink’s names', async () => {
  await withCheckpoints(
    (storage) => storage.commitCheckpoint(metadata(3), stats(3)).then(() => undefined),
    async (dir) => {
      const text = await output(dir);
      assert.match(text, /end_to_end_duration 1000 ms · checkpointed_size 600 B · persisted_data 4\.0 KiB · unaligned yes · 2 subtask\(s\) acknowledged/);
      const header = text.split('\n').find((line) => line.includes('start_delay'))!;
      for (const name of ['subtask', 'start_delay', 'alignment_duration', 'processed_data', 'persisted_data', 'sync_duration', 'async_duration', 'checkpointed_size', 'unaligned']) {
        assert.ok(header.includes(name), `header names ${name}: ${header}`);
      }
      const rows = text.split('\n').filter((line) => /^\s+1\/[01] op-a/.test(line));
      assert.is(rows.length, 2, text);
      assert.equal(rows[0]!.trim().split(/\s{2,}/), ['1/0 op-a', '12 ms', '3.5 ms', '1.0 KiB', '0 B', '0.3 ms', '9 ms', '300 B', 'no']);
      assert.equal(rows[1]!.trim().split(/\s{2,}/), ['1/1 op-a', '12 ms', '0 ms', '0 B', '4.0 KiB', '0.3 ms', '9 ms', '300 B', 'yes']);
    },
  );
});

test('--json prints the listing with Flink’s REST names, per subtask flattened', async () => {
  await withCheckpoints(
    async (storage) => {
      await storage.commitCheckpoint(metadata(3), stats(3));
      await storage.commitCheckpoint(metadata(4));
    },
    async (dir) => {
      const doc = JSON.parse(await output(dir, true)) as {
        directory: string;
        jobs: Array<{ job: string; checkpoints: Array<{ id: number; statistics: Record<string, unknown> | null }> }>;
      };
      assert.is(doc.directory, dir);
      assert.equal(doc.jobs.map((j) => j.job), [JOB]);
      const [newer, older] = doc.jobs[0]!.checkpoints;
      assert.is(newer!.id, 4);
      assert.is(newer!.statistics, null, 'a checkpoint without _stats.json');
      const s = older!.statistics!;
      assert.is(s.end_to_end_duration, 1_000);
      assert.is(s.checkpointed_size, 600);
      assert.is(s.persisted_data, 4096);
      assert.is(s.processed_data, 1024);
      assert.is(s.unaligned, true);
      assert.equal((s.subtasks as unknown[])[1], {
        subtask: '1/1', name: 'op-a', index: 1, ack_timestamp: 1_503, end_to_end_duration: 500, start_delay: 12, alignment_duration: 0,
        processed_data: 0, persisted_data: 4096, sync_duration: 0.25, async_duration: 9, checkpointed_size: 300, unaligned: true,
      });
    },
  );
});

test('a checkpoint taken before statistics were stored prints "no statistics recorded"; a final one says why', async () => {
  await withCheckpoints(
    async (storage) => {
      await storage.commitCheckpoint(metadata(1));
      await storage.commitCheckpoint(metadata(2, 'final'));
    },
    async (dir) => {
      const lines = (await output(dir)).split('\n');
      const at = (id: number) => lines.findIndex((line) => new RegExp(`^\\s+${id}\\s+(checkpoint|final)\\s`).test(line));
      assert.match(lines[at(1) + 1]!, /^\s+no statistics recorded$/);
      assert.match(lines[at(2) + 1]!, /^\s+no statistics recorded \(a final checkpoint/);
      assert.not.ok(lines.some((line) => line.includes('start_delay')));
    },
  );
});

test('unreadable statistics are reported on the checkpoint, which is still listed', async () => {
  await withCheckpoints(
    async (storage, dir) => {
      await storage.commitCheckpoint(metadata(5), stats(5));
      writeFileSync(join(dir, JOB, 'chk-5', '_stats.json'), '{"version": 1, "id": 5');
    },
    async (dir) => {
      const text = await output(dir);
      assert.match(text, /^\s+5\s+checkpoint\s/m);
      assert.match(text, /statistics unreadable: checkpoint statistics .*chk-5\/_stats\.json are corrupt: not valid JSON/);
      const doc = JSON.parse(await output(dir, true)) as { jobs: Array<{ checkpoints: Array<{ statistics: null; statistics_error: string }> }> };
      assert.is(doc.jobs[0]!.checkpoints[0]!.statistics, null);
      assert.match(doc.jobs[0]!.checkpoints[0]!.statistics_error, /not valid JSON/);
    },
  );
});

test('an empty directory has no completed checkpoint, in both forms', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-cli-chk-'));
  try {
    assert.is(await output(dir), `no completed checkpoint in ${dir}\n`);
    assert.equal(JSON.parse(await output(dir, true)), { directory: dir, jobs: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
