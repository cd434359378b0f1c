// Temporary directories for a test file: each call makes one under the OS temp dir, and the
// suite's `after` hook removes them all.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'uvu';

/** Registers clean-up on `suite` and returns a maker of fresh dirs named `<prefix>XXXXXX`. */
export function tempDirs(suite: Test, prefix: string): () => string {
  const dirs: string[] = [];
  suite.after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
