import { HeapKeyedStateBackend } from '../../src/state/heap/heap-keyed-state-backend.ts';
import { keyedStateBackendConformance } from './keyed-state-backend.conformance.ts';

const test = keyedStateBackendConformance('heap', (range, maxParallelism) => new HeapKeyedStateBackend(range, maxParallelism));

test.run();
