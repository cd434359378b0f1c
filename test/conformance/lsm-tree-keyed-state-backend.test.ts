// The keyed-state conformance suite against the LSM backend on a real LsmTree (tiny memtable so
// flushes and compactions happen), each backend in its own temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LsmKeyedStateBackend } from '../../src/state/lsm/lsm-keyed-state-backend.ts';
import { LsmTree } from '../../src/state/lsm/lsm-tree.ts';
import { loadChecksum } from '../../src/storage/state-file.ts';
import { keyedStateBackendConformance } from './keyed-state-backend.conformance.ts';

const root = mkdtempSync(join(tmpdir(), 'weir-lsm-conformance-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));
let n = 0;

await loadChecksum();
keyedStateBackendConformance('lsm (LsmTree)', async (range, maxParallelism) => {
  const tree = await LsmTree.open({ directory: join(root, String(n++)), memtableBytes: 16 * 1024, blockCacheBytes: 64 * 1024 });
  return new LsmKeyedStateBackend(range, maxParallelism, tree);
}).run();
