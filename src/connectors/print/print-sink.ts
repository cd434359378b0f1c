/**
 * PrintSink: prints every record to stdout (or stderr), one line each, prefixed like Flink's
 * `print()`. The constructor runs wherever the job module is evaluated; each writer runs on its
 * sink subtask's worker thread, where Node forwards stdout to the main thread.
 */

import { WeirError } from '../../errors.ts';
import type { Sink, SinkContext, SinkWriter } from '../../task/sink.ts';

export interface PrintSinkOptions {
  /** Printed before the subtask number (or alone with parallelism 1), followed by ':' or '> '. */
  prefix?: string;
  /** Print to stderr instead of stdout. Default false. */
  stderr?: boolean;
}

/** Characters buffered before a write; a pending microtask flushes whatever is left. */
const FLUSH_CHARS = 64 * 1024;

export class PrintSink<T> implements Sink<T> {
  readonly #prefix: string;
  readonly #stderr: boolean;

  constructor(options: PrintSinkOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw invalid(`PrintSink options must be an object, got ${describe(options)}`);
    }
    const { prefix = '', stderr = false } = options;
    if (typeof prefix !== 'string') {
      throw invalid(`PrintSink options.prefix must be a string, got ${describe(prefix)}`);
    }
    if (typeof stderr !== 'boolean') {
      throw invalid(`PrintSink options.stderr must be a boolean, got ${describe(stderr)}`);
    }
    this.#prefix = prefix;
    this.#stderr = stderr;
  }

  createWriter(context: SinkContext): PrintSinkWriter<T> {
    return new PrintSinkWriter<T>(printLinePrefix(this.#prefix, context), this.#stderr);
  }
}

/**
 * The text before each record, as Flink's PrintSinkOutputWriter builds it:
 * `prefix:3> ` (parallelism > 1), `3> `, `prefix> ` (parallelism 1), or nothing.
 */
export function printLinePrefix(prefix: string, context: Pick<SinkContext, 'subtaskIndex' | 'parallelism'>): string {
  let head = prefix;
  if (context.parallelism > 1) head += (head === '' ? '' : ':') + String(context.subtaskIndex + 1);
  return head === '' ? '' : head + '> ';
}

/** Strings as they are; everything else as JSON, or `String(value)` where JSON has no form. */
export function formatPrintRecord(record: unknown): string {
  if (typeof record === 'string') return record;
  try {
    const json = JSON.stringify(record);
    if (json !== undefined) return json;
  } catch {
    // bigint or a cycle: fall through to the toString form, as Flink prints toString().
  }
  return String(record);
}

/**
 * Buffers lines and writes them in one call per batch: when the buffer is large, or from a
 * microtask, which runs once the runtime's synchronous batch loop yields.
 */
export class PrintSinkWriter<T> implements SinkWriter<T> {
  readonly #linePrefix: string;
  readonly #stderr: boolean;
  #buffer = '';
  #flushScheduled = false;

  constructor(linePrefix: string, stderr: boolean) {
    this.#linePrefix = linePrefix;
    this.#stderr = stderr;
  }

  write(record: T): void {
    this.#buffer += this.#linePrefix + formatPrintRecord(record) + '\n';
    if (this.#buffer.length >= FLUSH_CHARS) {
      this.#flush();
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  finish(): void {
    this.#flush();
  }

  close(): void {
    this.#flush();
  }

  #flush(): void {
    if (this.#buffer === '') return;
    const text = this.#buffer;
    this.#buffer = '';
    // Looked up per flush, not captured, so a replaced stream (tests, redirection) is honoured.
    (this.#stderr ? process.stderr : process.stdout).write(text);
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
