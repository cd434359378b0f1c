/**
 * Flink's restart strategies (none, fixed-delay, exponential-delay, failure-rate) as pure decision
 * objects: given a job failure and the time, they say whether to restart and after how long.
 * Main thread; called by the job coordinator, which does the waiting (no timers here).
 */

import { WeirError } from '../errors.ts';

export type RestartStrategyOptions =
  | { type: 'none' }
  | { type: 'fixed-delay'; attempts?: number; delayMs?: number }
  | {
      type: 'exponential-delay';
      initialBackoffMs?: number;
      maxBackoffMs?: number;
      backoffMultiplier?: number;
      resetBackoffThresholdMs?: number;
      jitterFactor?: number;
      /** Restarts allowed before the backoff resets; unlimited when omitted. */
      attempts?: number;
    }
  | { type: 'failure-rate'; maxFailuresPerInterval?: number; failureRateIntervalMs?: number; delayMs?: number };

export type RestartStrategyType = RestartStrategyOptions['type'];

/** Flink 1.20's defaults (`restart-strategy.*` in the Flink configuration reference). */
export const RESTART_STRATEGY_DEFAULTS = {
  'fixed-delay': { attempts: 1, delayMs: 1000 },
  'exponential-delay': {
    initialBackoffMs: 1000,
    maxBackoffMs: 60_000,
    backoffMultiplier: 1.5,
    resetBackoffThresholdMs: 3_600_000,
    jitterFactor: 0.1,
    // Flink's `attempts-before-reset-backoff` defaults to Integer.MAX_VALUE: unlimited.
    attempts: Number.POSITIVE_INFINITY,
  },
  'failure-rate': { maxFailuresPerInterval: 1, failureRateIntervalMs: 60_000, delayMs: 1000 },
} as const;

export interface RestartDecision {
  readonly restart: boolean;
  /** How long to wait before restarting (0 when not restarting). */
  readonly delayMs: number;
  /** Why not, or which attempt this is: 'attempt 2 of 3'. */
  readonly reason: string;
}

export interface RestartStrategy {
  /** For logs and the REST API, e.g. "fixed-delay (3 attempts, 1000 ms)". */
  readonly description: string;
  /**
   * Called on each job failure at time `now` (ms, monotonic). A non-retriable error
   * (`error.retriable === false`, e.g. WEIR_INVALID_JOB) never restarts.
   */
  onFailure(error: unknown, now: number): RestartDecision;
}

/**
 * Builds the strategy for a job. With no options Flink's rule applies: exponential-delay with its
 * defaults when checkpointing is on, none when it is off. `random` (uniform in [0, 1)) drives the
 * exponential-delay jitter.
 */
export function createRestartStrategy(
  options: RestartStrategyOptions | undefined,
  checkpointingEnabled: boolean,
  random: () => number = Math.random,
): RestartStrategy {
  const resolved = options === undefined ? (checkpointingEnabled ? { type: 'exponential-delay' as const } : { type: 'none' as const }) : validateRestartStrategy(options);
  switch (resolved.type) {
    case 'none':
      return new NoRestartStrategy();
    case 'fixed-delay':
      return new FixedDelayRestartStrategy({ ...RESTART_STRATEGY_DEFAULTS['fixed-delay'], ...resolved });
    case 'exponential-delay':
      return new ExponentialDelayRestartStrategy({ ...RESTART_STRATEGY_DEFAULTS['exponential-delay'], ...resolved }, random);
    case 'failure-rate':
      return new FailureRateRestartStrategy({ ...RESTART_STRATEGY_DEFAULTS['failure-rate'], ...resolved });
  }
}

// ---------------------------------------------------------------------------------------------
// Strategies. The public `onFailure` checks what every strategy shares (the clock, retriability),
// then calls the small `decide` hook each strategy implements.

abstract class BaseRestartStrategy implements RestartStrategy {
  abstract readonly description: string;

  onFailure(error: unknown, now: number): RestartDecision {
    if (typeof now !== 'number' || !Number.isFinite(now)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `restart strategy: now must be a finite number of ms, got ${String(now)}`);
    }
    const why = nonRetriableReason(error);
    if (why !== undefined) return stop(why);
    return this.decide(now);
  }

  protected abstract decide(now: number): RestartDecision;
}

/** Never restarts: the first failure fails the job. */
class NoRestartStrategy extends BaseRestartStrategy {
  readonly description = 'none';

  protected decide(): RestartDecision {
    return stop('restart strategy is none');
  }
}

/** Restarts while failures ≤ attempts, each after the same delay (Flink's FixedDelayRestartBackoffTimeStrategy). */
class FixedDelayRestartStrategy extends BaseRestartStrategy {
  readonly description: string;
  readonly #attempts: number;
  readonly #delayMs: number;
  #failures = 0;

  constructor(options: { attempts: number; delayMs: number }) {
    super();
    this.#attempts = options.attempts;
    this.#delayMs = options.delayMs;
    this.description = `fixed-delay (${plural(options.attempts, 'attempt')}, ${options.delayMs} ms)`;
  }

  protected decide(): RestartDecision {
    this.#failures++;
    if (this.#failures > this.#attempts) return stop(`restart attempts exhausted (${this.#attempts} allowed)`);
    return go(this.#delayMs, `attempt ${this.#failures} of ${this.#attempts}`);
  }
}

/**
 * Restarts unless more than `maxFailuresPerInterval` failures, this one included, happened within
 * the last `failureRateIntervalMs` (Flink's FailureRateRestartBackoffTimeStrategy). Like Flink it
 * keeps only the newest max + 1 failure times: the window is exceeded exactly when the oldest of
 * those is at most the interval old (a failure exactly `interval` ago still counts).
 */
class FailureRateRestartStrategy extends BaseRestartStrategy {
  readonly description: string;
  readonly #max: number;
  readonly #intervalMs: number;
  readonly #delayMs: number;
  readonly #failureTimes: number[] = [];
  #restarts = 0;

  constructor(options: { maxFailuresPerInterval: number; failureRateIntervalMs: number; delayMs: number }) {
    super();
    this.#max = options.maxFailuresPerInterval;
    this.#intervalMs = options.failureRateIntervalMs;
    this.#delayMs = options.delayMs;
    this.description = `failure-rate (at most ${plural(this.#max, 'failure')} per ${this.#intervalMs} ms, delay ${this.#delayMs} ms)`;
  }

  protected decide(now: number): RestartDecision {
    if (this.#failureTimes.length > this.#max) this.#failureTimes.shift();
    this.#failureTimes.push(now);
    const inWindow = this.#failureTimes.filter((t) => now - t <= this.#intervalMs).length;
    if (inWindow > this.#max) {
      return stop(`${plural(inWindow, 'failure')} within ${this.#intervalMs} ms (at most ${this.#max} allowed)`);
    }
    this.#restarts++;
    return go(this.#delayMs, `attempt ${this.#restarts} (${inWindow} of at most ${plural(this.#max, 'failure')} per ${this.#intervalMs} ms)`);
  }
}

interface ExponentialDelaySettings {
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
  resetBackoffThresholdMs: number;
  jitterFactor: number;
  attempts: number;
}

/**
 * Flink 1.20's ExponentialDelayRestartBackoffTimeStrategy (after FLIP-364), step for step:
 * - the k-th restart since the last reset (k from 0) waits trunc(initial × multiplier^k), plus an
 *   integer jitter uniform in [-n, n] with n = trunc(that × jitterFactor), then clamped to
 *   [initial, max] (so the first delay never drops below `initial`);
 * - the backoff resets (k = 0) when the time since the last *scheduled restart* is at least
 *   `resetBackoffThresholdMs`: it measures how long the job ran healthily, not failure to failure;
 * - a failure arriving before the scheduled restart is merged into it: same attempt, the remaining
 *   wait (several subtasks failing from one cause are one restart);
 * - more than `attempts` restarts without a reset fail the job.
 */
class ExponentialDelayRestartStrategy extends BaseRestartStrategy {
  readonly description: string;
  readonly #s: ExponentialDelaySettings;
  readonly #random: () => number;
  /** Restarts since the last backoff reset. */
  #attempt = 0;
  #nextRestartAt = Number.NEGATIVE_INFINITY;

  constructor(settings: ExponentialDelaySettings, random: () => number) {
    super();
    this.#s = settings;
    this.#random = random;
    const s = settings;
    const limit = Number.isFinite(s.attempts) ? `, ${plural(s.attempts, 'attempt')}` : '';
    this.description =
      `exponential-delay (initial ${s.initialBackoffMs} ms, max ${s.maxBackoffMs} ms, multiplier ${s.backoffMultiplier}, ` +
      `jitter ${s.jitterFactor}, reset after ${s.resetBackoffThresholdMs} ms${limit})`;
  }

  protected decide(now: number): RestartDecision {
    if (now <= this.#nextRestartAt) {
      return this.#verdict(this.#nextRestartAt - now, ' (merged into the restart already scheduled)');
    }
    if (now - this.#nextRestartAt >= this.#s.resetBackoffThresholdMs) this.#attempt = 0;
    const delayMs = this.#backoff(this.#attempt);
    this.#attempt++;
    this.#nextRestartAt = now + delayMs;
    return this.#verdict(delayMs, '');
  }

  #verdict(delayMs: number, note: string): RestartDecision {
    const { attempts } = this.#s;
    if (this.#attempt > attempts) return stop(`restart attempts exhausted (${attempts} allowed before the backoff resets)`);
    const of = Number.isFinite(attempts) ? ` of ${attempts}` : '';
    return go(delayMs, `attempt ${this.#attempt}${of}${note}`);
  }

  #backoff(k: number): number {
    const { initialBackoffMs: initial, maxBackoffMs: max, backoffMultiplier, jitterFactor } = this.#s;
    const base = Math.trunc(initial * backoffMultiplier ** k);
    // Past ~1e308 the power overflows; Flink saturates to Long.MAX_VALUE, which clamps to max.
    if (!Number.isFinite(base)) return max;
    const n = Math.trunc(base * jitterFactor);
    // min() guards a `random` that returns exactly 1.
    const jitter = n === 0 ? 0 : Math.min(Math.floor(this.#random() * (2 * n + 1)), 2 * n) - n;
    return Math.max(initial, Math.min(base + jitter, max));
  }
}

function nonRetriableReason(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { retriable, code } = error as { retriable?: unknown; code?: unknown };
  if (retriable !== false) return undefined;
  return `non-retriable error${typeof code === 'string' ? ` ${code}` : ''}`;
}

function go(delayMs: number, reason: string): RestartDecision {
  return { restart: true, delayMs, reason };
}

function stop(reason: string): RestartDecision {
  return { restart: false, delayMs: 0, reason };
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

// ---------------------------------------------------------------------------------------------
// Validation, shared by the `restartStrategy` option and the `--restart-strategy` flag; only the
// way a field is named differs.

type Check = (value: number) => string | undefined;

const nonNegativeInteger: Check = (v) => (Number.isSafeInteger(v) && v >= 0 ? undefined : 'a non-negative integer');
const positiveInteger: Check = (v) => (Number.isSafeInteger(v) && v >= 1 ? undefined : 'a positive integer');
const nonNegativeMs: Check = (v) => (Number.isFinite(v) && v >= 0 ? undefined : 'a non-negative number of ms');
const positiveMs: Check = (v) => (Number.isFinite(v) && v >= 1 ? undefined : 'a number of ms, at least 1');
const above1: Check = (v) => (Number.isFinite(v) && v > 1 ? undefined : 'a number greater than 1');
const fraction: Check = (v) => (Number.isFinite(v) && v >= 0 && v <= 1 ? undefined : 'a number between 0 and 1');

/** Each strategy's fields, their checks (Flink's preconditions) and their key in the CLI flag. */
const FIELDS: Record<RestartStrategyType, Record<string, { check: Check; flag: string }>> = {
  none: {},
  'fixed-delay': {
    attempts: { check: nonNegativeInteger, flag: 'attempts' },
    delayMs: { check: nonNegativeMs, flag: 'delay' },
  },
  'exponential-delay': {
    initialBackoffMs: { check: positiveMs, flag: 'initial' },
    maxBackoffMs: { check: positiveMs, flag: 'max' },
    backoffMultiplier: { check: above1, flag: 'multiplier' },
    resetBackoffThresholdMs: { check: positiveMs, flag: 'reset' },
    jitterFactor: { check: fraction, flag: 'jitter' },
    attempts: { check: positiveInteger, flag: 'attempts' },
  },
  'failure-rate': {
    maxFailuresPerInterval: { check: positiveInteger, flag: 'max' },
    failureRateIntervalMs: { check: positiveMs, flag: 'interval' },
    delayMs: { check: nonNegativeMs, flag: 'delay' },
  },
};

const TYPES = Object.keys(FIELDS) as RestartStrategyType[];

/** How a field is named in an error: `options.restartStrategy.delayMs` or `--restart-strategy delay`. */
type Namer = (type: RestartStrategyType, field: string) => { name: string; option: string };

const optionName: Namer = (_type, field) => ({
  name: `options.restartStrategy${field === '' ? '' : `.${field}`}`,
  option: `restartStrategy${field === '' ? '' : `.${field}`}`,
});

const flagName: Namer = (type, field) => ({
  name: `--restart-strategy${field === '' ? '' : ` ${FIELDS[type][field]?.flag ?? field}`}`,
  option: '--restart-strategy',
});

function invalid(named: { name: string; option: string }, expected: string, got: unknown): WeirError {
  const shown = typeof got === 'string' ? JSON.stringify(got) : String(got);
  return new WeirError('WEIR_INVALID_OPTION', `${named.name} must be ${expected}, got ${shown}`, {
    context: { option: named.option },
  });
}

/** Checks the `restartStrategy` option; returns a copy holding only the fields given. */
export function validateRestartStrategy(value: unknown): RestartStrategyOptions {
  return check(value, optionName);
}

function check(value: unknown, naming: Namer): RestartStrategyOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(naming('none', ''), `an object with a type (${TYPES.join(', ')})`, value);
  }
  const record = value as Record<string, unknown>;
  const type = record.type as RestartStrategyType;
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) {
    throw invalid(naming('none', 'type'), `one of ${TYPES.join(', ')}`, record.type);
  }
  const fields = FIELDS[type];
  const out: Record<string, unknown> = { type };
  for (const [key, v] of Object.entries(record)) {
    if (key === 'type' || v === undefined) continue;
    const field = fields[key];
    if (field === undefined) {
      const known = Object.keys(fields);
      const { name, option } = naming(type, key);
      throw new WeirError(
        'WEIR_INVALID_OPTION',
        `${name} is not a setting of the ${type} restart strategy (known: ${known.length === 0 ? 'none' : known.join(', ')})`,
        { context: { option } },
      );
    }
    const expected = typeof v === 'number' ? field.check(v) : field.check(Number.NaN);
    if (expected !== undefined) throw invalid(naming(type, key), expected, v);
    out[key] = v;
  }
  if (type === 'exponential-delay') {
    const { initialBackoffMs: dInitial, maxBackoffMs: dMax } = RESTART_STRATEGY_DEFAULTS['exponential-delay'];
    const initial = (out.initialBackoffMs as number | undefined) ?? dInitial;
    const max = (out.maxBackoffMs as number | undefined) ?? dMax;
    if (initial > max) {
      const field = out.maxBackoffMs === undefined ? 'initialBackoffMs' : 'maxBackoffMs';
      const bound = field === 'maxBackoffMs' ? `at least the initial backoff (${initial} ms)` : `at most the max backoff (${max} ms)`;
      throw invalid(naming(type, field), bound, out[field]);
    }
  }
  return out as RestartStrategyOptions;
}

// ---------------------------------------------------------------------------------------------
// The CLI flag: `type[:key=value,…]`, e.g. `fixed-delay:attempts=3,delay=1s`.

const FLAG_EXAMPLE = 'none, fixed-delay:attempts=3,delay=1s, exponential-delay:initial=1s,max=1m or failure-rate:max=3,interval=1m,delay=1s';

/** Parses `--restart-strategy`; durations take ms, s, m or h. Errors name the flag. */
export function parseRestartStrategyFlag(text: string): RestartStrategyOptions {
  const flag = { name: '--restart-strategy', option: '--restart-strategy' };
  if (typeof text !== 'string') throw invalid(flag, `one of ${FLAG_EXAMPLE}`, text);
  const colon = text.indexOf(':');
  const type = (colon === -1 ? text : text.slice(0, colon)).trim() as RestartStrategyType;
  if (!Object.hasOwn(FIELDS, type)) throw invalid(flag, `one of ${FLAG_EXAMPLE}`, text);
  const options: Record<string, unknown> = { type };
  if (colon !== -1) {
    const byFlag = new Map(Object.entries(FIELDS[type]).map(([field, spec]) => [spec.flag, field]));
    for (const pair of text.slice(colon + 1).split(',')) {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? '' : pair.slice(0, eq).trim();
      const field = byFlag.get(key);
      if (field === undefined) {
        const known = [...byFlag.keys()];
        const expected = known.length === 0 ? `just "${type}" (it takes no settings)` : `${type}:key=value,… with keys ${known.join(', ')}`;
        throw invalid(flag, expected, text);
      }
      if (Object.hasOwn(options, field)) throw invalid(flag, `free of repeated keys (${key} given twice)`, text);
      const raw = pair.slice(eq + 1).trim();
      const what = `--restart-strategy ${key}`;
      options[field] = field.endsWith('Ms') ? parseDuration(raw, what) : parseNumber(raw, what);
    }
  }
  return check(options, flagName);
}

function parseNumber(text: string, what: string): number {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text)) throw invalid({ name: what, option: what }, 'a number', text);
  return Number(text);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** '500ms' | '1s' | '1.5s' | '2m' | '1h' | a plain number (ms), rounded to whole ms. Errors name `what`. */
export function parseDuration(text: string, what: string): number {
  const match = typeof text === 'string' ? /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?$/.exec(text.trim()) : null;
  if (match === null) {
    throw invalid({ name: what, option: what }, 'a duration like 500ms, 1s, 1.5s, 2m or 1h (a plain number is ms)', text);
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!);
}
