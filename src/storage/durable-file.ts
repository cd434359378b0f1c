/**
 * The two file-system steps every crash-safe write in Weir is built from: write a file and
 * fsync it, and fsync a directory so the entries created or renamed in it survive a crash.
 * Used by checkpoint storage (main and worker threads) and by the LSM tree's manifest. Also the
 * hard-link-or-copy step that shares immutable files between an LSM tree and checkpoints.
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

/**
 * Makes `to` a second name of the immutable file `from`: a hard link where the file system
 * allows (no bytes copied), else a copy (another device, or links unsupported), fsynced. Fails
 * with EEXIST when `to` exists.
 */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fsp.link(from, to);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw error;
  }
  await fsp.copyFile(from, to, fsp.constants.COPYFILE_EXCL);
  const handle = await fsp.open(to, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
