/**
 * The one error type Weir throws, with stable `WEIR_…` codes (documented in docs/errors.md).
 * Runs on every thread; errors cross threads as plain records (`toErrorRecord`) and are
 * rebuilt on the other side (`fromErrorRecord`), so `code` and context survive the trip.
 */

/** Every code Weir uses, with whether retrying (restarting the job) can help. */
export const ERROR_CODES = {
  WEIR_INVALID_OPTION: { retriable: false },
  WEIR_INVALID_ARGUMENT: { retriable: false },
  WEIR_INVALID_JOB: { retriable: false },
  WEIR_JOB_MODULE_LOAD_FAILED: { retriable: false },
  WEIR_USER_FUNCTION_FAILED: { retriable: true },
  WEIR_WORKER_CRASHED: { retriable: true },
  WEIR_JOB_CANCELED: { retriable: false },
  WEIR_RECORD_TOO_LARGE: { retriable: false },
  WEIR_RECORD_NOT_SERIALIZABLE: { retriable: false },
  WEIR_MALFORMED_FRAME: { retriable: false },
  WEIR_STATE_ACCESS_OUTSIDE_KEY: { retriable: false },
  /** A record's event timestamp is missing or not a finite number (a deterministic data error). */
  WEIR_INVALID_TIMESTAMP: { retriable: false },
  WEIR_SOURCE_FAILED: { retriable: true },
  WEIR_SINK_FAILED: { retriable: true },
  WEIR_CHECKPOINT_CORRUPT: { retriable: false },
  WEIR_CHECKPOINT_NOT_FOUND: { retriable: false },
  WEIR_CHECKPOINT_IO: { retriable: true },
  /** Too many consecutive checkpoint failures: the job fails over (restart strategy), as in Flink. */
  WEIR_CHECKPOINT_FAILED: { retriable: true },
  WEIR_CHECKPOINT_INCOMPATIBLE: { retriable: false },
  WEIR_INTERNAL: { retriable: false },
} as const;

export type WeirErrorCode = keyof typeof ERROR_CODES;

/** Where in the job an error happened. Every field is optional. */
export interface ErrorContext {
  operatorId?: string;
  operatorName?: string;
  subtaskIndex?: number;
  checkpointId?: number;
  [key: string]: unknown;
}

export interface WeirErrorOptions {
  cause?: unknown;
  context?: ErrorContext;
  retriable?: boolean;
}

export class WeirError extends Error {
  readonly code: WeirErrorCode;
  readonly retriable: boolean;
  readonly context: ErrorContext;

  constructor(code: WeirErrorCode, message: string, options: WeirErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WeirError';
    this.code = code;
    this.retriable = options.retriable ?? ERROR_CODES[code].retriable;
    this.context = options.context ?? {};
  }
}

/** A structured-clone-safe form of an error, for crossing a thread boundary. */
export interface ErrorRecord {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  retriable?: boolean;
  context?: ErrorContext;
  cause?: ErrorRecord;
}

export function toErrorRecord(error: unknown, depth = 0): ErrorRecord {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: `non-Error value thrown: ${describeThrown(error)}` };
  }
  const record: ErrorRecord = { name: error.name, message: error.message };
  if (error.stack !== undefined) record.stack = error.stack;
  if (error instanceof WeirError) {
    record.code = error.code;
    record.retriable = error.retriable;
    record.context = plainContext(error.context);
  }
  if (error.cause !== undefined && depth < 8) record.cause = toErrorRecord(error.cause, depth + 1);
  return record;
}

/** Rebuilds an error from its record: a WeirError when it had a known code. */
export function fromErrorRecord(record: ErrorRecord): Error {
  const cause = record.cause === undefined ? undefined : fromErrorRecord(record.cause);
  let error: Error;
  if (record.code !== undefined && Object.hasOwn(ERROR_CODES, record.code)) {
    const options: WeirErrorOptions = { context: record.context ?? {} };
    if (cause !== undefined) options.cause = cause;
    if (record.retriable !== undefined) options.retriable = record.retriable;
    error = new WeirError(record.code as WeirErrorCode, record.message, options);
  } else {
    error = new Error(record.message, cause === undefined ? undefined : { cause });
    error.name = record.name;
  }
  if (record.stack !== undefined) error.stack = record.stack;
  return error;
}

function plainContext(context: ErrorContext): ErrorContext {
  const out: ErrorContext = {};
  for (const [key, value] of Object.entries(context)) {
    const kind = typeof value;
    if (kind === 'string' || kind === 'number' || kind === 'boolean') out[key] = value;
    else if (value !== undefined) out[key] = String(value);
  }
  return out;
}

function describeThrown(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
