/**
 * FileSink: writes records as JSON lines into part files that become visible only by an atomic
 * rename when committed: on checkpoint completion (two-phase commit) in a checkpointing job, at
 * the end of a bounded job otherwise. The constructor runs wherever the job module is evaluated
 * and touches no file; writers run with synchronous `fs` calls on the sink subtask's worker
 * thread; the committer runs there or on the main thread.
 *
 * Life of part n of subtask s, all in `directory` (hidden names start with '.'):
 *
 *   first write        part > maxPartBytes, a checkpoint          commit: that checkpoint
 *        │             barrier (prepareCommit), or end of input   completes (or finish()
 *        │             flush, fsync, close, rename                without checkpoints)
 *        ▼                            │                           rename, fsync dir
 *   .part-s-n.jsonl.inprogress ───────┴──► .part-s-n.jsonl.pending ─────┴──► part-s-n.jsonl
 *        │
 *        └── a failure before the commit: stays hidden; the committer's cleanup() removes it
 *            when the job restores (unless the restored checkpoint still needs it)
 *
 * A file is visible iff it is committed; part n+1 is opened lazily by the next record after a
 * roll, so a subtask that receives nothing commits nothing.
 */

import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { WeirError } from '../../errors.ts';
import type { Sink, SinkContext, SinkWriter } from '../../task/sink.ts';
import { FileSinkCommitter, fsyncDirectory, type FileSinkCommittable } from './file-sink-committer.ts';

export { FileSinkCommitter, type FileSinkCommittable };

export interface FileSinkOptions {
  /** Directory of the part files; created (recursively) if missing. */
  directory: string;
  /** A part file is rolled once it exceeds this many bytes. Default 128 MiB, as Flink's DefaultRollingPolicy. */
  maxPartBytes?: number;
}

/** What a FileSink subtask reports to `run()` (JobResult.outputs). */
export interface FileSinkResult {
  readonly directory: string;
  readonly files: readonly string[];
}

export const DEFAULT_MAX_PART_BYTES = 128 * 1024 * 1024;
/** Bytes buffered before one `writeSync`. */
const WRITE_BUFFER_BYTES = 64 * 1024;

export class FileSink<T> implements Sink<T> {
  readonly #directory: string;
  readonly #maxPartBytes: number;

  constructor(options: FileSinkOptions) {
    if (options === null || typeof options !== 'object') {
      throw invalid(`FileSink options must be an object, got ${describe(options)}`);
    }
    const { directory, maxPartBytes = DEFAULT_MAX_PART_BYTES } = options;
    if (typeof directory !== 'string' || directory === '') {
      throw invalid(`FileSink options.directory must be a non-empty string, got ${describe(directory)}`);
    }
    if (!(Number.isSafeInteger(maxPartBytes) && maxPartBytes > 0)) {
      throw invalid(`FileSink options.maxPartBytes must be a positive integer, got ${describe(maxPartBytes)}`);
    }
    this.#directory = directory;
    this.#maxPartBytes = maxPartBytes;
  }

  createWriter(context: SinkContext): FileSinkWriter<T> {
    return new FileSinkWriter<T>(this.#directory, this.#maxPartBytes, context);
  }

  createCommitter(): FileSinkCommitter {
    return new FileSinkCommitter(this.#directory);
  }
}

/** The names of part `partIndex` of subtask `subtaskIndex` in each stage of its life. */
export function partFileNames(
  subtaskIndex: number,
  partIndex: number,
): { inProgress: string; pending: string; committed: string } {
  const committed = `part-${subtaskIndex}-${partIndex}.jsonl`;
  return { inProgress: `.${committed}.inprogress`, pending: `.${committed}.pending`, committed };
}

/**
 * The first part index subtask `subtaskIndex` may use in a directory holding `names`: one past
 * the highest index of any of its files, committed or hidden, so no earlier file is ever
 * overwritten (a leftover hidden file may still be committed by a recovery).
 */
export function firstFreePartIndex(names: readonly string[], subtaskIndex: number): number {
  const pattern = new RegExp(`^\\.?part-${subtaskIndex}-(\\d+)\\.jsonl(?:\\.inprogress|\\.pending)?$`);
  let next = 0;
  for (const name of names) {
    const match = pattern.exec(name);
    if (match !== null) next = Math.max(next, Number(match[1]) + 1);
  }
  return next;
}

/** A rolled part, flushed, fsynced and closed, waiting for its commit. */
interface PendingPart {
  readonly partIndex: number;
  readonly pendingPath: string;
  readonly committedPath: string;
}

/**
 * Writes one subtask's records. Buffer ownership: `#buffer` holds the encoded bytes not yet
 * written to the in-progress file; `#partBytes` counts them too, so rolling sees the true size.
 */
export class FileSinkWriter<T> implements SinkWriter<T> {
  readonly #directory: string;
  readonly #maxPartBytes: number;
  readonly #context: SinkContext;

  #opened = false;
  #finished = false;
  #nextPartIndex = 0;
  /** The open in-progress part, if any. */
  #fd: number | undefined;
  #partIndex = 0;
  #partBytes = 0;
  readonly #buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  #buffered = 0;
  /** Rolled parts not yet handed out by prepareCommit (two-phase commit) or committed by finish(). */
  #pending: PendingPart[] = [];
  /** Paths of parts this writer committed, for `result()`. */
  readonly #committed: string[] = [];
  /** Final paths of parts handed out by prepareCommit (two-phase commit). */
  readonly #prepared: string[] = [];

  constructor(directory: string, maxPartBytes: number, context: SinkContext) {
    this.#directory = directory;
    this.#maxPartBytes = maxPartBytes;
    this.#context = context;
  }

  open(): void {
    if (this.#opened) return;
    try {
      mkdirSync(this.#directory, { recursive: true });
      this.#nextPartIndex = firstFreePartIndex(readdirSync(this.#directory), this.#context.subtaskIndex);
    } catch (cause) {
      throw this.#error(`cannot prepare directory ${this.#directory}`, cause);
    }
    this.#opened = true;
  }

  write(record: T): void {
    if (this.#finished) throw this.#error('write after finish()');
    const line = this.#encode(record);
    if (this.#fd === undefined) this.#openPart();
    let bytes: number;
    // A UTF-16 code unit takes at most 3 UTF-8 bytes, so this many free bytes always suffice.
    const worstCase = line.length * 3;
    if (worstCase <= WRITE_BUFFER_BYTES - this.#buffered) {
      bytes = this.#buffer.write(line, this.#buffered, 'utf8');
      this.#buffered += bytes;
    } else {
      this.#flush();
      if (worstCase <= WRITE_BUFFER_BYTES) {
        bytes = this.#buffer.write(line, 0, 'utf8');
        this.#buffered = bytes;
      } else {
        const encoded = Buffer.from(line, 'utf8');
        bytes = encoded.length;
        this.#writeFully(encoded);
      }
    }
    this.#partBytes += bytes;
    if (this.#partBytes > this.#maxPartBytes) this.#rollPart();
  }

  /** End of input: turn the in-progress part into a pending one and commit everything pending. */
  finish(): void {
    if (this.#finished) return;
    if (!this.#opened) this.open();
    if (this.#fd !== undefined) this.#rollPart();
    this.#commit(this.#pending);
    this.#pending = [];
    this.#finished = true;
  }

  /**
   * Two-phase commit, phase one: roll the open part to pending and hand over every pending part.
   * They become visible when the checkpoint completes (FileSinkCommitter).
   */
  prepareCommit(_checkpointId: number): FileSinkCommittable[] {
    if (!this.#opened) this.open();
    if (this.#fd !== undefined) this.#rollPart();
    const committables = this.#pending.map((part) => ({
      pending: basename(part.pendingPath),
      committed: basename(part.committedPath),
    }));
    for (const part of this.#pending) this.#prepared.push(part.committedPath);
    this.#pending = [];
    return committables;
  }

  /**
   * Where this subtask's output went: the directory and its files — committed by this writer,
   * or (two-phase commit) prepared for the commit that follows the job's end.
   */
  result(): FileSinkResult {
    return { directory: this.#directory, files: [...this.#committed, ...this.#prepared] };
  }

  /** Releases the open file; without `finish()` everything written stays in hidden files. */
  close(): void {
    this.#buffered = 0;
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closeSync(fd);
  }

  #encode(record: T): string {
    let json: string | undefined;
    let cause: unknown;
    try {
      json = JSON.stringify(record);
    } catch (error) {
      cause = error;
    }
    if (typeof json !== 'string') {
      const reason = cause instanceof Error ? `: ${cause.message}` : '';
      throw new WeirError(
        'WEIR_SINK_FAILED',
        `FileSink subtask ${this.#context.subtaskIndex}: a record of type ${typeOf(record)} cannot be written as JSON${reason}`,
        { cause, retriable: false, context: this.#errorContext() },
      );
    }
    return json + '\n';
  }

  #openPart(): void {
    if (!this.#opened) this.open();
    this.#partIndex = this.#nextPartIndex++;
    const path = join(this.#directory, partFileNames(this.#context.subtaskIndex, this.#partIndex).inProgress);
    try {
      // 'wx': never truncate a file someone else owns; the index was chosen past every existing one.
      this.#fd = openSync(path, 'wx');
    } catch (cause) {
      throw this.#error(`cannot create ${path}`, cause);
    }
    this.#partBytes = 0;
    this.#buffered = 0;
  }

  /** Pre-commit of the in-progress part: flush, fsync, close, rename to pending. */
  #rollPart(): void {
    const fd = this.#fd!;
    const names = partFileNames(this.#context.subtaskIndex, this.#partIndex);
    const inProgressPath = join(this.#directory, names.inProgress);
    const pendingPath = join(this.#directory, names.pending);
    try {
      this.#flush();
      fsyncSync(fd);
      this.#fd = undefined;
      closeSync(fd);
      renameSync(inProgressPath, pendingPath);
    } catch (cause) {
      throw this.#error(`cannot roll ${inProgressPath}`, cause);
    }
    this.#pending.push({
      partIndex: this.#partIndex,
      pendingPath,
      committedPath: join(this.#directory, names.committed),
    });
  }

  /**
   * The commit step, the only place files become visible: rename each pending part to its
   * committed name, then fsync the directory so the renames survive a crash. Idempotent (a part
   * already renamed is skipped), as a recovery that re-commits must be.
   */
  #commit(parts: readonly PendingPart[]): void {
    if (parts.length === 0) return;
    for (const part of parts) {
      try {
        renameSync(part.pendingPath, part.committedPath);
      } catch (cause) {
        const alreadyCommitted =
          (cause as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(part.committedPath);
        if (!alreadyCommitted) throw this.#error(`cannot commit ${part.pendingPath}`, cause);
      }
      this.#committed.push(part.committedPath);
    }
    try {
      fsyncDirectory(this.#directory);
    } catch (cause) {
      throw this.#error(`cannot fsync directory ${this.#directory}`, cause);
    }
  }

  #flush(): void {
    if (this.#buffered === 0) return;
    const length = this.#buffered;
    this.#buffered = 0;
    this.#writeFully(this.#buffer.subarray(0, length));
  }

  #writeFully(bytes: Buffer): void {
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(this.#fd!, bytes, offset, bytes.length - offset);
    } catch (cause) {
      throw this.#error(`cannot write part ${this.#partIndex} in ${this.#directory}`, cause);
    }
  }

  #error(message: string, cause?: unknown): WeirError {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    return new WeirError('WEIR_SINK_FAILED', `FileSink subtask ${this.#context.subtaskIndex}: ${message}${reason}`, {
      cause,
      context: this.#errorContext(),
    });
  }

  #errorContext(): { operatorId: string; subtaskIndex: number } {
    return { operatorId: this.#context.operatorId, subtaskIndex: this.#context.subtaskIndex };
  }
}

/** Makes renames in `directory` durable. Windows cannot open a directory for fsync: skip there. */

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function invalid(message: string): WeirError {
  return new WeirError('WEIR_INVALID_OPTION', message);
}

/** A short rendering of a bad option value for an error message. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}
