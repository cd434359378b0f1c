/**
 * FileSink's committer (phase two of its two-phase commit): renames pre-committed hidden part
 * files to their visible names and fsyncs the directory; on restore it removes hidden part files
 * no restored checkpoint refers to. Runs on the sink subtask's worker thread (at checkpoint
 * completion) or on the main thread (restore, final commit of a bounded job).
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { WeirError } from '../../errors.ts';
import type { Committer } from '../../task/sink.ts';

/** A part pre-committed at a checkpoint: file names in the sink's directory. */
export interface FileSinkCommittable {
  readonly pending: string;
  readonly committed: string;
}

/**
 * Makes pre-committed parts visible (rename, then fsync the directory) and, on restore, removes
 * hidden part files no restored checkpoint refers to. Idempotent. Assumes the directory belongs
 * to this one job.
 */
export class FileSinkCommitter implements Committer {
  readonly #directory: string;

  constructor(directory: string) {
    this.#directory = directory;
  }

  commit(committables: readonly unknown[]): void {
    if (committables.length === 0) return;
    // Validate all first: a malformed entry must not leave the commit half done.
    const parts = committables.map(toCommittable);
    for (const { pending, committed } of parts) {
      const from = join(this.#directory, pending);
      const to = join(this.#directory, committed);
      try {
        renameSync(from, to);
      } catch (cause) {
        const alreadyCommitted = (cause as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(to);
        if (!alreadyCommitted) {
          throw new WeirError('WEIR_SINK_FAILED', `FileSink: cannot commit ${from}: ${(cause as Error).message}`, { cause });
        }
      }
    }
    fsyncDirectory(this.#directory);
  }

  cleanup(keep: readonly unknown[]): void {
    const kept = new Set(keep.map((value) => toCommittable(value).pending));
    let names: string[];
    try {
      names = readdirSync(this.#directory);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new WeirError('WEIR_SINK_FAILED', `FileSink: cannot list ${this.#directory}: ${(cause as Error).message}`, { cause });
    }
    let removed = false;
    for (const name of names) {
      if (!HIDDEN_PART.test(name) || kept.has(name)) continue;
      rmSync(join(this.#directory, name), { force: true });
      removed = true;
    }
    if (removed) fsyncDirectory(this.#directory);
  }
}

const HIDDEN_PART = /^\.part-\d+-\d+\.jsonl\.(?:inprogress|pending)$/;

function toCommittable(value: unknown): FileSinkCommittable {
  const c = value as FileSinkCommittable;
  const ok = typeof c === 'object' && c !== null && typeof c.pending === 'string' && typeof c.committed === 'string'
    && HIDDEN_PART.test(c.pending) && /^part-\d+-\d+\.jsonl$/.test(c.committed)
    && c.pending === `.${c.committed}.pending`;
  if (!ok) throw new WeirError('WEIR_CHECKPOINT_CORRUPT', `FileSink: not a committable: ${JSON.stringify(value)}`);
  return c;
}


/** Makes renames in `directory` durable. */
export
function fsyncDirectory(directory: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
