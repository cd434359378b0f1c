// bench:incremental — incremental vs full checkpoints of the LSM backend. Grows one LSM keyed
// backend (ValueState of ~100-byte incompressible-ish strings under N keys) until its SST files
// hold ≥ 100 MB (--quick) or ≥ 1 GB, takes a first checkpoint, then rounds of: update 1 % (or
// 10 %) of the keys at random (seeded), checkpoint through the real path — IncrementalSnapshots
// (sync phase: freeze memtable + pin files; async phase: flush, place new SSTs in shared/ of a
// FsCheckpointStorage) — and confirm. Per checkpoint it records the bytes placed in shared/
// (incremental) against the bytes of every live file (what a full snapshot of the same files
// writes, `lsm.incremental: false`), the LZ4-compressed size of the changed entries (key + value
// bytes as stored), and the synchronous phase's time. Compaction write amplification is the
// tree's (flushed + compacted bytes) / flushed bytes.
// Usage: npm run bench:incremental [-- --quick] [-- --mb 1024] [-- --rounds 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressSync } from 'lz4-napi';
import { canonicalKey, keyGroupOf, loadKeyHasher } from '../src/state/key-groups.ts';
import { IncrementalSnapshots } from '../src/state/lsm/incremental-snapshots.ts';
import { LsmKeyedStateBackend } from '../src/state/lsm/lsm-keyed-state-backend.ts';
import { LsmTree } from '../src/state/lsm/lsm-tree.ts';
import type { ValueState } from '../src/state/state.ts';
import { FsCheckpointStorage } from '../src/storage/fs-checkpoint-storage.ts';
import { loadChecksum } from '../src/storage/state-file.ts';
import { median, round } from './stats.ts';

const quick = process.argv.includes('--quick');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const TARGET_MB = arg('--mb', quick ? 100 : 1024);
const ROUNDS = arg('--rounds', quick ? 3 : 5);
const MEMORY_BUDGET = arg('--budget-mb', 32) * 1024 * 1024;
const MAX_PARALLELISM = 128;
const VALUE_CHARS = 100;
const YIELD_EVERY = 2_000;

let seed = 0x1ce;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function value(): string {
  let s = '';
  for (let i = 0; i < VALUE_CHARS; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return s;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

interface Round {
  fraction: number;
  uploaded: number;
  full: number;
  changedCompressed: number;
  syncMs: number;
}

async function main(): Promise<void> {
  await loadKeyHasher();
  await loadChecksum();
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-inc-'));
  try {
    const tree = await LsmTree.open({ directory: join(dir, 'tree'), memtableBytes: MEMORY_BUDGET / 2, blockCacheBytes: MEMORY_BUDGET / 2 });
    const backend = new LsmKeyedStateBackend({ start: 0, end: MAX_PARALLELISM - 1 }, MAX_PARALLELISM, tree);
    const state: ValueState<string> = backend.getValueState<string>('v');
    const snapshots = new IncrementalSnapshots(tree, 'bench-0', true);
    const storage = new FsCheckpointStorage({ directory: join(dir, 'chk'), jobName: 'bench', catalog: false });
    const setKey = (i: number) => {
      const key = canonicalKey(`key-${i}`);
      backend.setCurrentKey(key, keyGroupOf(key, MAX_PARALLELISM));
    };
    let checkpointId = 0;
    const checkpoint = async () => {
      const id = ++checkpointId;
      const started = performance.now();
      const persist = snapshots.snapshot(id);
      const syncMs = performance.now() - started;
      const persisted = await persist(storage);
      snapshots.confirm(id);
      return { syncMs, uploaded: persisted.uploadedBytes, full: persisted.stateBytes };
    };

    // Grow the state: keys in batches until the live files hold TARGET_MB.
    let keys = 0;
    const growStarted = performance.now();
    for (;;) {
      for (let n = 0; n < 50_000; n++, keys++) {
        setKey(keys);
        state.update(value());
        if (n % YIELD_EVERY === 0) await yieldToLoop();
      }
      await tree.flush();
      const bytes = tree.liveFiles().length === 0 ? 0 : (await checkpointSize(tree));
      if (bytes >= TARGET_MB * 1024 * 1024) break;
    }
    await tree.compact();
    const growMs = performance.now() - growStarted;
    const first = await checkpoint();
    console.log(`state: ${keys.toLocaleString()} keys, ${mb(first.full)} of SST files (grown in ${(growMs / 1000).toFixed(1)} s); first checkpoint uploads ${mb(first.uploaded)}`);

    const rounds: Round[] = [];
    for (const fraction of [0.01, 0.1]) {
      for (let r = 0; r < ROUNDS; r++) {
        const changed = Math.round(keys * fraction);
        const changedEntries: Uint8Array[] = [];
        for (let n = 0; n < changed; n++) {
          const i = Math.floor(random() * keys);
          setKey(i);
          const v = value();
          state.update(v);
          changedEntries.push(Buffer.from(`key-${i}${v}`, 'latin1'));
          if (n % YIELD_EVERY === 0) await yieldToLoop();
        }
        const changedCompressed = compressSync(Buffer.concat(changedEntries)).byteLength;
        const result = await checkpoint();
        rounds.push({ fraction, ...result, changedCompressed });
        console.log(
          `${(fraction * 100).toFixed(0).padStart(2)} % changed: incremental ${mb(result.uploaded).padStart(10)}  full ${mb(result.full).padStart(10)}  ` +
            `changed (LZ4) ${mb(changedCompressed).padStart(9)}  incremental/changed ${(result.uploaded / changedCompressed).toFixed(2)}  sync ${result.syncMs.toFixed(2)} ms`,
        );
      }
    }
    const stats = tree.stats;
    const writeAmplification = (stats.bytesFlushed + stats.bytesCompacted) / stats.bytesFlushed;
    const syncTimes = [first.syncMs, ...rounds.map((r) => r.syncMs)].sort((a, b) => a - b);
    const p99 = syncTimes[Math.min(syncTimes.length - 1, Math.ceil(syncTimes.length * 0.99) - 1)]!;
    const ratio = (f: number) => median(rounds.filter((r) => r.fraction === f).map((r) => r.uploaded / r.changedCompressed));
    const result = {
      state_bytes: rounds.at(-1)!.full,
      keys,
      full_bytes: Math.round(median(rounds.map((r) => r.full))),
      incremental_bytes_p50: Math.round(median(rounds.map((r) => r.uploaded))),
      incremental_bytes_p50_1pct: Math.round(median(rounds.filter((r) => r.fraction === 0.01).map((r) => r.uploaded))),
      incremental_bytes_p50_10pct: Math.round(median(rounds.filter((r) => r.fraction === 0.1).map((r) => r.uploaded))),
      incremental_bytes_max: Math.max(...rounds.map((r) => r.uploaded)),
      incremental_over_changed: round(median(rounds.map((r) => r.uploaded / r.changedCompressed)), 2),
      incremental_over_changed_1pct: round(ratio(0.01), 2),
      incremental_over_changed_10pct: round(ratio(0.1), 2),
      sync_phase_ms_p50: round(median(syncTimes), 3),
      sync_phase_ms_p99: round(p99, 3),
      compaction_write_amplification: round(writeAmplification, 2),
      memory_budget_bytes: MEMORY_BUDGET,
    };
    await tree.close();
    await storage.close();
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes of the tree's live files (a checkpoint's full size), without taking a checkpoint. */
async function checkpointSize(tree: LsmTree): Promise<number> {
  const cp = await tree.checkpoint();
  const bytes = cp.files.reduce((sum, f) => sum + f.byteLength, 0);
  cp.release();
  return bytes;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
