/**
 * The two file-system steps every crash-safe write in Weir is built from: write a file and
 * fsync it, and fsync a directory so the entries created or renamed in it survive a crash.
 * Used by checkpoint storage (main and worker threads) and by the LSM tree's manifest.
 */
import * as fsp from 'node:fs/promises';

/** Creates or truncates `path`, writes all of `bytes`, fsyncs and closes it. */
export async function writeFileSynced(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await fsp.open(path, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs a directory so the entries created or renamed in it are durable. */
export async function syncDirectory(directory: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(directory, 'r');
    await handle.sync();
  } catch (error) {
    // Windows cannot open or fsync a directory; there the rename is as durable as it gets.
    const code = (error as NodeJS.ErrnoException).code;
    if (process.platform !== 'win32' || (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES')) throw error;
  } finally {
    await handle?.close();
  }
}
