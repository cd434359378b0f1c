/**
 * FileSource: the lines of one or more files (or directories of files), split across source
 * subtasks by byte range so every line is read exactly once at any parallelism. The constructor
 * runs wherever the job module is evaluated and touches no file; each reader lists the files in
 * `open()` and reads them with synchronous `fs` calls on its source subtask's worker thread.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { WeirError } from '../../errors.ts';
import type {
  PollStatus,
  Source,
  SourceOutput,
  SourceReader,
  SourceReaderContext,
} from '../../task/source.ts';
import { fileSplitRange, listInputFiles, toSplit, type FileSplit, type FileSplitEntry } from './file-split.ts';

export { fileSplitRange, listInputFiles, type FileSplit, type FileSplitEntry };

export type FileSourceFormat = 'text' | 'json';

export interface FileSourceOptions {
  /**
   * A file or directory, or a list of them. A directory stands for the regular files directly
   * in it (not recursive, names starting with `.` skipped), sorted by name.
   */
  path: string | readonly string[];
  /** `'text'` (default): each line is a string record. `'json'`: each non-blank line is parsed. */
  format?: FileSourceFormat;
  /** Bytes per `readSync`, 64 KiB by default. @internal small values let tests cross chunk boundaries. */
  chunkSize?: number;
}

/** Records emitted per `pollNext` at most. */
export const FILE_SOURCE_BATCH_SIZE = 1024;
const DEFAULT_CHUNK_SIZE = 64 * 1024;
const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * Reads lines of text or JSON. `T` is `string` for text; pass the record type for `'json'`
 * (the parsed values are not checked against it).
 */
export class FileSource<T = string> implements Source<T> {
  readonly #paths: readonly string[];
  readonly #format: FileSourceFormat;
  readonly #chunkSize: number;

  constructor(options: FileSourceOptions) {
    if (options === null || typeof options !== 'object') {
      throw invalid(`FileSource options must be an object, got ${describe(options)}`);
    }
    const { path, format = 'text', chunkSize = DEFAULT_CHUNK_SIZE } = options;
    const paths = typeof path === 'string' ? [path] : path;
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p !== '')) {
      throw invalid(
        `FileSource options.path must be a non-empty string or a non-empty array of them, got ${describe(path)}`,
      );
    }
    if (format !== 'text' && format !== 'json') {
      throw invalid(`FileSource options.format must be 'text' or 'json', got ${describe(format)}`);
    }
    if (!(Number.isSafeInteger(chunkSize) && chunkSize > 0)) {
      throw invalid(`FileSource options.chunkSize must be a positive integer, got ${describe(chunkSize)}`);
    }
    this.#paths = [...paths];
    this.#format = format;
    this.#chunkSize = chunkSize;
  }

  createReader(context: SourceReaderContext): FileSourceReader<T> {
    return new FileSourceReader<T>(this.#paths, this.#format, this.#chunkSize, context);
  }
}

/**
 * Reads the lines that start in this subtask's byte range. A line is read to its end even
 * when that lies past the range (or in later chunks); a range that starts mid-line first skips
 * to the next line start, because the previous subtask reads that line.
 *
 * Buffer ownership: `#chunk` is reused for every read, so bytes of a line that is still open
 * when a chunk ends are copied into `#pieces`. Lines are decoded only once complete, so a UTF-8
 * character split across chunks is whole when decoded (0x0a never occurs inside one).
 */
export class FileSourceReader<T> implements SourceReader<T> {
  readonly #paths: readonly string[];
  readonly #json: boolean;
  readonly #chunkSize: number;
  readonly #context: SourceReaderContext;

  #files: FileSplitEntry[] | undefined;
  #rangeStart = 0;
  #rangeEnd = 0;
  #pendingSeek: number | undefined;
  #done = false;
  /** Splits still to read after the current one (after a restore a subtask may hold several). */
  #queue: FileSplit[] = [];

  #fileIndex = 0;
  #fd: number | undefined;
  #chunk: Buffer | undefined;
  /** The valid bytes of `#chunk`, and the next one not yet scanned. */
  #view: Buffer = Buffer.alloc(0);
  #viewPos = 0;
  /** File-local offset of `#view[0]`, and of the next byte to read. */
  #chunkOffset = 0;
  #readOffset = 0;
  /** Copied bytes of the current line from earlier chunks. */
  #pieces: Buffer[] = [];
  /** Global offset of the current line's first byte. */
  #lineStart = 0;
  /** True while discarding the tail of a line that started before this subtask's range. */
  #skipping = false;

  constructor(paths: readonly string[], format: FileSourceFormat, chunkSize: number, context: SourceReaderContext) {
    this.#paths = paths;
    this.#json = format === 'json';
    this.#chunkSize = chunkSize;
    this.#context = context;
  }

  open(): void {
    if (this.#files !== undefined) return;
    let files: FileSplitEntry[];
    try {
      files = listInputFiles(this.#paths);
    } catch (error) {
      if (error instanceof WeirError) Object.assign(error.context, this.#errorContext());
      throw error;
    }
    const last = files[files.length - 1];
    const total = last === undefined ? 0 : last.start + last.size;
    this.#files = files;
    this.#chunk = Buffer.allocUnsafe(this.#chunkSize);
    const restored = this.#context.restoredState;
    if (restored !== undefined) {
      this.#queue = restored.map((value) => toSplit(value, total));
      this.#loadNextSplit();
      return;
    }
    [this.#rangeStart, this.#rangeEnd] = fileSplitRange(total, this.#context.subtaskIndex, this.#context.parallelism);
    if (this.#pendingSeek === undefined) this.#startAt(this.#rangeStart, true);
    else this.#startAt(this.#pendingSeek, this.#pendingSeek === this.#rangeStart);
    this.#pendingSeek = undefined;
  }

  /**
   * Global byte offset from which reading resumes: the start of the next line to emit (or this
   * subtask's range start before it found its first line). What a checkpoint stores.
   */
  get position(): number {
    if (this.#pendingSeek !== undefined) return this.#pendingSeek;
    if (this.#files === undefined || this.#skipping) return this.#rangeStart;
    return this.#done ? Math.max(this.#lineStart, this.#rangeEnd) : this.#lineStart;
  }

  /**
   * Resumes at a `position` this reader reported earlier (a line start in its range, its range
   * start, or its end). Before `open()` the seek is applied when the reader opens.
   */
  seek(position: number): void {
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `FileSource reader cannot seek to ${describe(position)}: expected a byte offset`,
      );
    }
    if (this.#files === undefined) {
      this.#pendingSeek = position;
      return;
    }
    this.#closeFile();
    this.#done = false;
    this.#startAt(position, position === this.#rangeStart);
  }

  /**
   * Checkpoint state: the byte ranges still to read, each with the offset of the next line to
   * emit. The input files must not change between the checkpoint and a restore.
   */
  snapshotState(): FileSplit[] {
    if (this.#files === undefined) this.open();
    const current = this.#done ? [] : [{ start: this.#rangeStart, end: this.#rangeEnd, position: this.position }];
    return [...current, ...this.#queue.map((split) => ({ ...split }))];
  }

  #loadNextSplit(): void {
    this.#closeFile();
    const split = this.#queue.shift();
    if (split === undefined) {
      this.#done = true;
      return;
    }
    this.#rangeStart = split.start;
    this.#rangeEnd = split.end;
    this.#done = false;
    this.#startAt(split.position, split.position === split.start);
  }

  pollNext(output: SourceOutput<T>): PollStatus {
    const status = this.#pollRange(output);
    if (status === 'end' && this.#queue.length > 0) {
      this.#loadNextSplit();
      return 'more';
    }
    return status;
  }

  #pollRange(output: SourceOutput<T>): PollStatus {
    if (this.#files === undefined) this.open();
    const files = this.#files!;
    let emitted = 0;
    while (emitted < FILE_SOURCE_BATCH_SIZE && !this.#done) {
      if (emitted > 0 && output.hasRoom?.() === false) break; // downstream full: wait between lines
      const file = files[this.#fileIndex]!;
      if (this.#viewPos >= this.#view.length) {
        if (this.#readOffset < file.size) {
          this.#readChunk(file);
          continue;
        }
        // End of file: a last line without a newline is still a line.
        if (!this.#skipping && this.#lineStart < file.start + file.size) {
          const bytes = Buffer.concat(this.#pieces);
          this.#pieces = [];
          this.#emit(output, file, bytes, 0, bytes.length);
          emitted++;
        }
        this.#nextFile(this.#fileIndex + 1);
        continue;
      }
      const newline = this.#view.indexOf(NEWLINE, this.#viewPos);
      if (newline < 0) {
        if (!this.#skipping) this.#pieces.push(Buffer.from(this.#view.subarray(this.#viewPos)));
        this.#viewPos = this.#view.length;
        continue;
      }
      if (this.#skipping) {
        this.#skipping = false;
      } else {
        this.#emitTerminatedLine(output, file, newline);
        emitted++;
      }
      this.#viewPos = newline + 1;
      this.#lineStart = file.start + this.#chunkOffset + newline + 1;
      if (this.#lineStart >= this.#rangeEnd) this.#finish();
    }
    return this.#done ? 'end' : 'more';
  }

  close(): void {
    this.#closeFile();
    this.#pieces = [];
  }

  /** Positions the reader at global `offset`; with `skipPartialLine`, a mid-line offset skips to the next line. */
  #startAt(offset: number, skipPartialLine: boolean): void {
    if (offset >= this.#rangeEnd) {
      // No line starting at or after `offset` is ours (this covers an empty range too).
      this.#lineStart = offset;
      this.#finish();
      return;
    }
    const files = this.#files!;
    let index = 0;
    while (index < files.length && files[index]!.start + files[index]!.size <= offset) index++;
    this.#nextFile(index);
    if (this.#done) return;
    const file = files[index]!;
    const local = offset - file.start;
    if (local > 0 && skipPartialLine) {
      // Hadoop's trick: back up one byte and drop everything through the first newline, so an
      // offset that is already a line start (previous byte is '\n') loses nothing.
      this.#readOffset = local - 1;
      this.#skipping = true;
    } else {
      this.#readOffset = local;
      this.#lineStart = offset;
      if (offset >= this.#rangeEnd) this.#finish();
    }
  }

  /** Moves to the first non-empty file at or after `index` (or finishes); its first line starts there. */
  #nextFile(index: number): void {
    this.#closeFile();
    const files = this.#files!;
    while (index < files.length && files[index]!.size === 0) index++;
    this.#fileIndex = index;
    this.#view = Buffer.alloc(0);
    this.#viewPos = 0;
    this.#pieces = [];
    this.#readOffset = 0;
    this.#chunkOffset = 0;
    this.#skipping = false;
    const file = files[index];
    if (file === undefined) {
      this.#lineStart = this.#rangeEnd;
      this.#finish();
      return;
    }
    this.#lineStart = file.start;
    if (file.start >= this.#rangeEnd) this.#finish();
  }

  #readChunk(file: FileSplitEntry): void {
    if (this.#fd === undefined) {
      try {
        this.#fd = openSync(file.path, 'r');
      } catch (cause) {
        throw this.#ioError(`cannot open ${file.path}`, cause);
      }
    }
    const chunk = this.#chunk!;
    const length = Math.min(chunk.length, file.size - this.#readOffset);
    let read: number;
    try {
      read = readSync(this.#fd, chunk, 0, length, this.#readOffset);
    } catch (cause) {
      throw this.#ioError(`cannot read ${file.path} at byte ${this.#readOffset}`, cause);
    }
    if (read === 0) {
      // Every subtask split the input by the sizes seen at open(); reading on would break that.
      throw this.#ioError(
        `${file.path} shrank while being read (was ${file.size} bytes, ends at ${this.#readOffset})`,
      );
    }
    this.#view = chunk.subarray(0, read);
    this.#viewPos = 0;
    this.#chunkOffset = this.#readOffset;
    this.#readOffset += read;
  }

  /** Emits the line that ends at `#view[newline]`, without its '\n' or "\r\n". */
  #emitTerminatedLine(output: SourceOutput<T>, file: FileSplitEntry, newline: number): void {
    if (this.#pieces.length === 0) {
      const end = newline > this.#viewPos && this.#view[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
      this.#emit(output, file, this.#view, this.#viewPos, end);
      return;
    }
    this.#pieces.push(this.#view.subarray(this.#viewPos, newline));
    const bytes = Buffer.concat(this.#pieces);
    this.#pieces = [];
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CARRIAGE_RETURN ? bytes.length - 1 : bytes.length;
    this.#emit(output, file, bytes, 0, end);
  }

  /** Decodes bytes [start, end) of the line starting at `#lineStart` and hands it to `output`. */
  #emit(output: SourceOutput<T>, file: FileSplitEntry, bytes: Buffer, start: number, end: number): void {
    // A UTF-8 byte order mark at the start of a file is not part of the first line.
    if (
      this.#lineStart === file.start &&
      end - start >= 3 &&
      bytes[start] === 0xef &&
      bytes[start + 1] === 0xbb &&
      bytes[start + 2] === 0xbf
    ) {
      start += 3;
    }
    const line = bytes.toString('utf8', start, end);
    if (!this.#json) {
      output.collect(line as T);
      return;
    }
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new WeirError(
        'WEIR_SOURCE_FAILED',
        `FileSource: malformed JSON at ${file.path} byte ${this.#lineStart - file.start}: ${reason}`,
        { cause, retriable: false, context: this.#errorContext() },
      );
    }
    output.collect(value as T);
  }

  #finish(): void {
    this.#done = true;
    this.#closeFile();
  }

  #closeFile(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    closeSync(fd);
  }

  #ioError(message: string, cause?: unknown): WeirError {
    const reason = cause instanceof Error ? `: ${cause.message}` : '';
    return new WeirError('WEIR_SOURCE_FAILED', `FileSource: ${message}${reason}`, {
      cause,
      context: this.#errorContext(),
    });
  }

  #errorContext(): { operatorId: string; subtaskIndex: number } {
    return { operatorId: this.#context.operatorId, subtaskIndex: this.#context.subtaskIndex };
  }
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
