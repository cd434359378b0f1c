import { MemoryCheckpointStorage } from '../../src/storage/memory-checkpoint-storage.ts';
import { checkpointStorageConformance, JOB } from './checkpoint-storage.conformance.ts';

const test = checkpointStorageConformance('memory', async () => {
  const storage = new MemoryCheckpointStorage({ jobName: JOB });
  return {
    storage,
    async rewriteFile(path, mutate) {
      const bytes = storage.files.get(path);
      if (bytes === undefined) throw new Error(`no stored file ${path}`);
      const next = mutate(bytes);
      if (next === null) storage.files.delete(path);
      else storage.files.set(path, next);
    },
    fileExists: async (path) => storage.files.has(path),
    externalPath: (path) => `memory://${JOB}/${path}`,
    cleanup: async () => {},
  };
});

test.run();
