import { LsmKeyedStateBackend } from '../../src/state/lsm/lsm-keyed-state-backend.ts';
import { MemorySortedKv } from '../../src/state/lsm/memory-sorted-kv.ts';
import { keyedStateBackendConformance } from './keyed-state-backend.conformance.ts';

const test = keyedStateBackendConformance(
  'lsm (memory sorted kv)',
  (range, maxParallelism) => new LsmKeyedStateBackend(range, maxParallelism, new MemorySortedKv()),
);

test.run();
