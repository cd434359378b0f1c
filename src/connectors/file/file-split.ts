/**
 * How FileSource divides its input: the deterministic list of input files with their global
 * offsets, the byte range each subtask owns, and the checkpointed split (a byte range and the
 * offset where reading resumes). Pure apart from listing and stat-ing files; runs on source
 * subtask worker threads.
 */
import { readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../../errors.ts';

/** One input file, with its place in the concatenation of all input files. */
export interface FileSplitEntry {
  readonly path: string;
  readonly size: number;
  /** Offset of the file's first byte in the concatenation of all files. */
  readonly start: number;
}

/**
 * Lists the input files in a deterministic order (the paths in the order given, each directory
 * expanded to its regular non-hidden files sorted by name) with their sizes and global offsets.
 * Every subtask must compute the same list, which is what makes the byte split consistent.
 */
export function listInputFiles(paths: readonly string[]): FileSplitEntry[] {
  const files: FileSplitEntry[] = [];
  let start = 0;
  const add = (path: string, size: number): void => {
    files.push({ path, size, start });
    start += size;
  };
  for (const path of paths) {
    const stats = statPath(path);
    if (stats.isFile()) {
      add(path, stats.size);
    } else if (stats.isDirectory()) {
      const names = readdirSync(path).filter((name) => !name.startsWith('.'));
      // Plain code-unit order, not locale order: identical on every thread and machine.
      names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const name of names) {
        const child = join(path, name);
        const childStats = statPath(child);
        if (childStats.isFile()) add(child, childStats.size);
      }
    } else {
      throw new WeirError('WEIR_SOURCE_FAILED', `FileSource: ${path} is neither a regular file nor a directory`, {
        retriable: false,
      });
    }
  }
  return files;
}

/**
 * The byte range [start, end) of the concatenated input that subtask `subtaskIndex` of
 * `parallelism` owns: the lines that *start* in it (Hadoop's rule for split text files).
 */
export function fileSplitRange(totalBytes: number, subtaskIndex: number, parallelism: number): [number, number] {
  const total = BigInt(totalBytes);
  const p = BigInt(parallelism);
  return [Number((BigInt(subtaskIndex) * total) / p), Number((BigInt(subtaskIndex + 1) * total) / p)];
}

/** A byte range of the concatenated input files, and where reading resumes in it. Plain data. */
export interface FileSplit {
  readonly start: number;
  readonly end: number;
  readonly position: number;
}

export function toSplit(value: unknown, total: number): FileSplit {
  const s = value as FileSplit;
  const ok = typeof s === 'object' && s !== null && [s.start, s.end, s.position].every((n) => Number.isSafeInteger(n) && n >= 0)
    && s.start <= s.end && s.end <= total && s.position >= s.start;
  if (!ok) {
    throw new WeirError('WEIR_SOURCE_FAILED', `FileSource cannot restore the split ${JSON.stringify(value)} (did the input files change since the checkpoint? they total ${total} bytes now)`, { retriable: false });
  }
  return { start: s.start, end: s.end, position: s.position };
}

function statPath(path: string): Stats {
  try {
    return statSync(path);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `FileSource: path does not exist: ${path}`
        : `FileSource: cannot read ${path}: ${(cause as Error).message}`;
    // A missing or unreadable input is a configuration problem: restarting will not fix it.
    throw new WeirError('WEIR_SOURCE_FAILED', message, { cause, retriable: false });
  }
}

