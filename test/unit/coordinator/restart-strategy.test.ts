import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import {
  createRestartStrategy,
  parseDuration,
  parseRestartStrategyFlag,
  validateRestartStrategy,
  type RestartDecision,
  type RestartStrategy,
} from '../../../src/coordinator/restart-strategy.ts';

const failure = new WeirError('WEIR_WORKER_CRASHED', 'worker 2 exited');

/** Feeds a retriable failure at each time and returns [restart, delayMs, reason] per decision. */
function script(strategy: RestartStrategy, times: number[]): Array<[boolean, number, string]> {
  return times.map((t) => {
    const d: RestartDecision = strategy.onFailure(failure, t);
    return [d.restart, d.delayMs, d.reason];
  });
}

/** A `random` that plays back the given values in order. */
function randoms(...values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error('test random exhausted');
    return values[i++]!;
  };
}

function throwsOption(fn: () => unknown, messageStart: string, option?: string): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, WeirError);
    const weir = error as WeirError;
    assert.is(weir.code, 'WEIR_INVALID_OPTION');
    assert.ok(weir.message.startsWith(messageStart), `message ${JSON.stringify(weir.message)} should start with ${JSON.stringify(messageStart)}`);
    if (option !== undefined) assert.is(weir.context.option, option);
    return;
  }
  assert.unreachable(`expected WEIR_INVALID_OPTION starting with ${JSON.stringify(messageStart)}`);
}

// --- defaults ------------------------------------------------------------------------------

test('with no options, a job with checkpointing gets exponential-delay with Flink defaults', () => {
  const s = createRestartStrategy(undefined, true, () => 0.5);
  assert.is(s.description, 'exponential-delay (initial 1000 ms, max 60000 ms, multiplier 1.5, jitter 0.1, reset after 3600000 ms)');
  assert.equal(script(s, [0]), [[true, 1000, 'attempt 1']]);
});

test('with no options, a job without checkpointing never restarts', () => {
  const s = createRestartStrategy(undefined, false);
  assert.is(s.description, 'none');
  assert.equal(script(s, [0, 10]), [
    [false, 0, 'restart strategy is none'],
    [false, 0, 'restart strategy is none'],
  ]);
});

test('fixed-delay and failure-rate default to Flink values', () => {
  assert.is(createRestartStrategy({ type: 'fixed-delay' }, true).description, 'fixed-delay (1 attempt, 1000 ms)');
  assert.is(createRestartStrategy({ type: 'failure-rate' }, true).description, 'failure-rate (at most 1 failure per 60000 ms, delay 1000 ms)');
  assert.is(createRestartStrategy({ type: 'none' }, true).description, 'none');
});

// --- fixed-delay ---------------------------------------------------------------------------

test('fixed-delay restarts while failures are at most attempts, each after the delay', () => {
  const s = createRestartStrategy({ type: 'fixed-delay', attempts: 3, delayMs: 500 }, false);
  assert.is(s.description, 'fixed-delay (3 attempts, 500 ms)');
  assert.equal(script(s, [0, 10, 20_000, 30_000, 40_000]), [
    [true, 500, 'attempt 1 of 3'],
    [true, 500, 'attempt 2 of 3'],
    [true, 500, 'attempt 3 of 3'],
    [false, 0, 'restart attempts exhausted (3 allowed)'],
    [false, 0, 'restart attempts exhausted (3 allowed)'],
  ]);
});

test('fixed-delay with the default single attempt restarts once', () => {
  const s = createRestartStrategy({ type: 'fixed-delay' }, false);
  assert.equal(script(s, [0, 100_000]), [
    [true, 1000, 'attempt 1 of 1'],
    [false, 0, 'restart attempts exhausted (1 allowed)'],
  ]);
});

test('fixed-delay with zero attempts fails on the first failure', () => {
  const s = createRestartStrategy({ type: 'fixed-delay', attempts: 0 }, false);
  assert.equal(script(s, [0]), [[false, 0, 'restart attempts exhausted (0 allowed)']]);
});

// --- failure-rate --------------------------------------------------------------------------

test('failure-rate fails the job once more than max failures fall in the interval', () => {
  const s = createRestartStrategy({ type: 'failure-rate', maxFailuresPerInterval: 2, failureRateIntervalMs: 10_000, delayMs: 100 }, false);
  assert.equal(script(s, [0, 1000, 5000]), [
    [true, 100, 'attempt 1 (1 of at most 2 failures per 10000 ms)'],
    [true, 100, 'attempt 2 (2 of at most 2 failures per 10000 ms)'],
    [false, 0, '3 failures within 10000 ms (at most 2 allowed)'],
  ]);
});

test('failure-rate uses a sliding window: old failures stop counting', () => {
  const s = createRestartStrategy({ type: 'failure-rate', maxFailuresPerInterval: 2, failureRateIntervalMs: 10_000, delayMs: 100 }, false);
  assert.equal(script(s, [0, 1000, 11_000, 11_001, 11_002]), [
    [true, 100, 'attempt 1 (1 of at most 2 failures per 10000 ms)'],
    [true, 100, 'attempt 2 (2 of at most 2 failures per 10000 ms)'],
    // 0 is 11000 ms old (out); 1000 is exactly 10000 ms old (still in, as in Flink).
    [true, 100, 'attempt 3 (2 of at most 2 failures per 10000 ms)'],
    [true, 100, 'attempt 4 (2 of at most 2 failures per 10000 ms)'],
    [false, 0, '3 failures within 10000 ms (at most 2 allowed)'],
  ]);
});

test('failure-rate defaults allow one failure per minute, the boundary counting as inside', () => {
  const atBoundary = createRestartStrategy({ type: 'failure-rate' }, false);
  assert.equal(script(atBoundary, [0, 60_000]), [
    [true, 1000, 'attempt 1 (1 of at most 1 failure per 60000 ms)'],
    [false, 0, '2 failures within 60000 ms (at most 1 allowed)'],
  ]);
  const pastBoundary = createRestartStrategy({ type: 'failure-rate' }, false);
  assert.equal(script(pastBoundary, [0, 60_001, 120_002]).map((d) => d[0]), [true, true, true]);
});

// --- exponential-delay ---------------------------------------------------------------------

const noJitter = { type: 'exponential-delay', jitterFactor: 0 } as const;

test('exponential-delay multiplies the delay per restart up to the max', () => {
  const s = createRestartStrategy({ ...noJitter, initialBackoffMs: 1000, maxBackoffMs: 10_000, backoffMultiplier: 2 }, true);
  // Each failure comes after the previous restart, well within the reset threshold.
  assert.equal(script(s, [0, 2000, 5000, 10_000, 20_000, 31_000]), [
    [true, 1000, 'attempt 1'],
    [true, 2000, 'attempt 2'],
    [true, 4000, 'attempt 3'],
    [true, 8000, 'attempt 4'],
    [true, 10_000, 'attempt 5'],
    [true, 10_000, 'attempt 6'],
  ]);
});

test('exponential-delay resets to the initial delay after running healthily for the threshold since the last restart', () => {
  const s = createRestartStrategy({ ...noJitter, backoffMultiplier: 2, resetBackoffThresholdMs: 60_000 }, true);
  // t=0 → restart at 1000; t=2000 → restart at 4000; t=10000 → restart at 14000.
  // 73999 is 59999 ms after that restart (no reset) → restart at 81999; 141999 is exactly 60000 after it (reset).
  assert.equal(script(s, [0, 2000, 10_000, 73_999, 141_999, 143_000]), [
    [true, 1000, 'attempt 1'],
    [true, 2000, 'attempt 2'],
    [true, 4000, 'attempt 3'],
    [true, 8000, 'attempt 4'],
    [true, 1000, 'attempt 1'],
    [true, 2000, 'attempt 2'],
  ]);
});

test('exponential-delay merges a failure that arrives before the scheduled restart into it', () => {
  const s = createRestartStrategy({ ...noJitter, backoffMultiplier: 2 }, true);
  assert.equal(script(s, [0, 400, 1000, 1001]), [
    [true, 1000, 'attempt 1'],
    [true, 600, 'attempt 1 (merged into the restart already scheduled)'],
    [true, 0, 'attempt 1 (merged into the restart already scheduled)'],
    [true, 2000, 'attempt 2'],
  ]);
});

test('exponential-delay adds jitter uniform in [-n, n] with n = jitter × delay, clamped to [initial, max]', () => {
  // Defaults: initial 1000, multiplier 1.5, jitter 0.1.
  const s = createRestartStrategy({ type: 'exponential-delay' }, true, randoms(0, 0.5, 0.9999, 1));
  assert.equal(script(s, [0, 2000, 5000, 10_000]), [
    [true, 1000, 'attempt 1'], // 1000 - 100 clamps up to the initial 1000
    [true, 1500, 'attempt 2'], // floor(0.5 × 301) - 150 = 0
    [true, 2475, 'attempt 3'], // 2250 + 225
    [true, 3712, 'attempt 4'], // trunc(3375 × 1.1): n = 337, random 1 treated as the top of the range
  ]);
  const low = createRestartStrategy({ type: 'exponential-delay' }, true, randoms(0, 0));
  assert.equal(script(low, [0, 2000]).map((d) => d[1]), [1000, 1350]);
  const capped = createRestartStrategy({ type: 'exponential-delay', maxBackoffMs: 2000, backoffMultiplier: 2, jitterFactor: 0.5 }, true, randoms(0.99, 0.99));
  assert.equal(script(capped, [0, 2000]).map((d) => d[1]), [1490, 2000]);
});

test('exponential-delay attempts count restarts since the last backoff reset', () => {
  const s = createRestartStrategy({ ...noJitter, attempts: 2 }, true);
  assert.is(s.description, 'exponential-delay (initial 1000 ms, max 60000 ms, multiplier 1.5, jitter 0, reset after 3600000 ms, 2 attempts)');
  // t=0 → restart at 1000; t=5000 → restart at 6500; an hour after that the backoff and count reset.
  assert.equal(script(s, [0, 5000, 3_606_500, 3_610_000, 3_620_000]), [
    [true, 1000, 'attempt 1 of 2'],
    [true, 1500, 'attempt 2 of 2'],
    [true, 1000, 'attempt 1 of 2'],
    [true, 1500, 'attempt 2 of 2'],
    [false, 0, 'restart attempts exhausted (2 allowed before the backoff resets)'],
  ]);
});

test('exponential-delay saturates at the max instead of overflowing after many restarts', () => {
  const s = createRestartStrategy({ type: 'exponential-delay', initialBackoffMs: 1, maxBackoffMs: 5000, backoffMultiplier: 10 }, true, () => 0.5);
  let now = 0;
  let last: RestartDecision | undefined;
  for (let i = 0; i < 400; i++) {
    last = s.onFailure(failure, now);
    now += last.delayMs + 1;
  }
  assert.equal(last, { restart: true, delayMs: 5000, reason: 'attempt 400' });
});

// --- the non-retriable rule ----------------------------------------------------------------

test('a non-retriable error never restarts, whatever the strategy', () => {
  const invalidJob = new WeirError('WEIR_INVALID_JOB', 'no sources');
  const overridden = new WeirError('WEIR_SINK_FAILED', 'bad credentials', { retriable: false });
  const record = { name: 'WeirError', message: 'x', code: 'WEIR_INVALID_OPTION', retriable: false };
  const all = [
    createRestartStrategy({ type: 'fixed-delay', attempts: 5 }, true),
    createRestartStrategy({ type: 'exponential-delay' }, true, () => 0.5),
    createRestartStrategy({ type: 'failure-rate', maxFailuresPerInterval: 5 }, true),
    createRestartStrategy({ type: 'none' }, true),
  ];
  for (const s of all) {
    assert.equal(s.onFailure(invalidJob, 0), { restart: false, delayMs: 0, reason: 'non-retriable error WEIR_INVALID_JOB' }, s.description);
    assert.equal(s.onFailure(overridden, 1), { restart: false, delayMs: 0, reason: 'non-retriable error WEIR_SINK_FAILED' }, s.description);
    assert.equal(s.onFailure(record, 2).reason, 'non-retriable error WEIR_INVALID_OPTION', s.description);
    assert.equal(s.onFailure({ retriable: false }, 3).reason, 'non-retriable error', s.description);
  }
});

test('errors without retriable: false (plain errors, retriable codes, non-objects) go to the strategy', () => {
  const s = createRestartStrategy({ type: 'fixed-delay', attempts: 4, delayMs: 10 }, false);
  assert.equal(s.onFailure(new Error('boom'), 0).reason, 'attempt 1 of 4');
  assert.equal(s.onFailure(new WeirError('WEIR_USER_FUNCTION_FAILED', 'map threw'), 1).reason, 'attempt 2 of 4');
  assert.equal(s.onFailure('a string', 2).reason, 'attempt 3 of 4');
  assert.equal(s.onFailure(undefined, 3).reason, 'attempt 4 of 4');
});

test('a non-retriable failure does not use up an attempt', () => {
  const s = createRestartStrategy({ type: 'fixed-delay', attempts: 1 }, false);
  assert.is(s.onFailure(new WeirError('WEIR_INVALID_JOB', 'x'), 0).restart, false);
  assert.equal(s.onFailure(failure, 1), { restart: true, delayMs: 1000, reason: 'attempt 1 of 1' });
});

test('onFailure rejects a time that is not a finite number', () => {
  const s = createRestartStrategy({ type: 'none' }, false);
  assert.throws(() => s.onFailure(failure, Number.NaN), (e: unknown) => e instanceof WeirError && e.code === 'WEIR_INVALID_ARGUMENT');
});

// --- validation ----------------------------------------------------------------------------

test('validateRestartStrategy returns a copy with only the fields given', () => {
  const given = { type: 'fixed-delay', attempts: 3, delayMs: undefined } as const;
  const out = validateRestartStrategy(given);
  assert.equal(out, { type: 'fixed-delay', attempts: 3 });
  assert.is.not(out, given);
  assert.equal(validateRestartStrategy({ type: 'none' }), { type: 'none' });
  assert.equal(
    validateRestartStrategy({ type: 'exponential-delay', initialBackoffMs: 1, maxBackoffMs: 1, backoffMultiplier: 1.01, resetBackoffThresholdMs: 1, jitterFactor: 1, attempts: 1 }),
    { type: 'exponential-delay', initialBackoffMs: 1, maxBackoffMs: 1, backoffMultiplier: 1.01, resetBackoffThresholdMs: 1, jitterFactor: 1, attempts: 1 },
  );
});

test('validation errors name options.restartStrategy and the field', () => {
  throwsOption(() => validateRestartStrategy('fixed-delay'), 'options.restartStrategy must be an object with a type', 'restartStrategy');
  throwsOption(() => validateRestartStrategy(null), 'options.restartStrategy must be an object');
  throwsOption(() => validateRestartStrategy({}), 'options.restartStrategy.type must be one of none, fixed-delay, exponential-delay, failure-rate, got undefined', 'restartStrategy.type');
  throwsOption(() => validateRestartStrategy({ type: 'sometimes' }), 'options.restartStrategy.type must be one of', 'restartStrategy.type');
  throwsOption(() => validateRestartStrategy({ type: 'fixed-delay', attempts: -1 }), 'options.restartStrategy.attempts must be a non-negative integer, got -1', 'restartStrategy.attempts');
  throwsOption(() => validateRestartStrategy({ type: 'fixed-delay', attempts: 1.5 }), 'options.restartStrategy.attempts must be a non-negative integer');
  throwsOption(() => validateRestartStrategy({ type: 'fixed-delay', delayMs: '1s' }), 'options.restartStrategy.delayMs must be a non-negative number of ms, got "1s"', 'restartStrategy.delayMs');
  throwsOption(() => validateRestartStrategy({ type: 'exponential-delay', initialBackoffMs: 0 }), 'options.restartStrategy.initialBackoffMs must be a number of ms, at least 1');
  throwsOption(() => validateRestartStrategy({ type: 'exponential-delay', backoffMultiplier: 1 }), 'options.restartStrategy.backoffMultiplier must be a number greater than 1, got 1');
  throwsOption(() => validateRestartStrategy({ type: 'exponential-delay', jitterFactor: 1.5 }), 'options.restartStrategy.jitterFactor must be a number between 0 and 1');
  throwsOption(() => validateRestartStrategy({ type: 'exponential-delay', resetBackoffThresholdMs: Infinity }), 'options.restartStrategy.resetBackoffThresholdMs must be');
  throwsOption(() => validateRestartStrategy({ type: 'exponential-delay', attempts: 0 }), 'options.restartStrategy.attempts must be a positive integer, got 0');
  throwsOption(() => validateRestartStrategy({ type: 'exponential-delay', maxBackoffMs: 500 }), 'options.restartStrategy.maxBackoffMs must be at least the initial backoff (1000 ms), got 500', 'restartStrategy.maxBackoffMs');
  throwsOption(() => validateRestartStrategy({ type: 'exponential-delay', initialBackoffMs: 70_000 }), 'options.restartStrategy.initialBackoffMs must be at most the max backoff (60000 ms), got 70000');
  throwsOption(() => validateRestartStrategy({ type: 'failure-rate', maxFailuresPerInterval: 0 }), 'options.restartStrategy.maxFailuresPerInterval must be a positive integer');
  throwsOption(() => validateRestartStrategy({ type: 'failure-rate', failureRateIntervalMs: 0 }), 'options.restartStrategy.failureRateIntervalMs must be a number of ms, at least 1');
});

test('a setting that belongs to another strategy is rejected by name', () => {
  throwsOption(() => validateRestartStrategy({ type: 'none', attempts: 3 }), 'options.restartStrategy.attempts is not a setting of the none restart strategy (known: none)', 'restartStrategy.attempts');
  throwsOption(
    () => validateRestartStrategy({ type: 'fixed-delay', maxFailuresPerInterval: 3 }),
    'options.restartStrategy.maxFailuresPerInterval is not a setting of the fixed-delay restart strategy (known: attempts, delayMs)',
  );
});

test('createRestartStrategy validates the options it is given', () => {
  throwsOption(() => createRestartStrategy({ type: 'fixed-delay', attempts: -2 }, true), 'options.restartStrategy.attempts');
});

// --- the --restart-strategy flag -----------------------------------------------------------

test('parseRestartStrategyFlag reads every strategy with its settings', () => {
  assert.equal(parseRestartStrategyFlag('none'), { type: 'none' });
  assert.equal(parseRestartStrategyFlag('fixed-delay'), { type: 'fixed-delay' });
  assert.equal(parseRestartStrategyFlag('fixed-delay:attempts=3,delay=1s'), { type: 'fixed-delay', attempts: 3, delayMs: 1000 });
  assert.equal(parseRestartStrategyFlag('exponential-delay'), { type: 'exponential-delay' });
  assert.equal(parseRestartStrategyFlag('exponential-delay:initial=500ms,max=1m,multiplier=2,jitter=0,reset=1h,attempts=10'), {
    type: 'exponential-delay',
    initialBackoffMs: 500,
    maxBackoffMs: 60_000,
    backoffMultiplier: 2,
    jitterFactor: 0,
    resetBackoffThresholdMs: 3_600_000,
    attempts: 10,
  });
  assert.equal(parseRestartStrategyFlag('failure-rate:max=3,interval=1m,delay=1s'), {
    type: 'failure-rate',
    maxFailuresPerInterval: 3,
    failureRateIntervalMs: 60_000,
    delayMs: 1000,
  });
  assert.equal(parseRestartStrategyFlag(' fixed-delay : attempts = 2 , delay = 250 '), { type: 'fixed-delay', attempts: 2, delayMs: 250 });
});

test('a parsed flag drives the same strategy as the equivalent options', () => {
  const s = createRestartStrategy(parseRestartStrategyFlag('fixed-delay:attempts=2,delay=1.5s'), false);
  assert.is(s.description, 'fixed-delay (2 attempts, 1500 ms)');
});

test('bad --restart-strategy text is WEIR_INVALID_OPTION naming the flag', () => {
  const flag = '--restart-strategy';
  throwsOption(() => parseRestartStrategyFlag(''), '--restart-strategy must be one of none, fixed-delay', flag);
  throwsOption(() => parseRestartStrategyFlag('sometimes'), '--restart-strategy must be one of', flag);
  throwsOption(() => parseRestartStrategyFlag('fixed-delay:tries=3'), '--restart-strategy must be fixed-delay:key=value,… with keys attempts, delay, got "fixed-delay:tries=3"', flag);
  throwsOption(() => parseRestartStrategyFlag('fixed-delay:'), '--restart-strategy must be fixed-delay:key=value', flag);
  throwsOption(() => parseRestartStrategyFlag('fixed-delay:attempts'), '--restart-strategy must be fixed-delay:key=value', flag);
  throwsOption(() => parseRestartStrategyFlag('none:attempts=1'), '--restart-strategy must be just "none" (it takes no settings)', flag);
  throwsOption(() => parseRestartStrategyFlag('fixed-delay:attempts=3,attempts=4'), '--restart-strategy must be free of repeated keys (attempts given twice)', flag);
  throwsOption(() => parseRestartStrategyFlag('fixed-delay:attempts=three'), '--restart-strategy attempts must be a number, got "three"');
  throwsOption(() => parseRestartStrategyFlag('fixed-delay:delay=soon'), '--restart-strategy delay must be a duration like 500ms');
  throwsOption(() => parseRestartStrategyFlag('fixed-delay:attempts=-1'), '--restart-strategy attempts must be a non-negative integer, got -1', flag);
  throwsOption(() => parseRestartStrategyFlag('exponential-delay:multiplier=1'), '--restart-strategy multiplier must be a number greater than 1, got 1', flag);
  throwsOption(() => parseRestartStrategyFlag('exponential-delay:max=500ms'), '--restart-strategy max must be at least the initial backoff (1000 ms), got 500', flag);
  throwsOption(() => parseRestartStrategyFlag('failure-rate:max=0'), '--restart-strategy max must be a positive integer, got 0', flag);
});

// --- parseDuration -------------------------------------------------------------------------

test('parseDuration reads ms, s, m, h and plain milliseconds', () => {
  assert.is(parseDuration('500ms', 'x'), 500);
  assert.is(parseDuration('1s', 'x'), 1000);
  assert.is(parseDuration('1.5s', 'x'), 1500);
  assert.is(parseDuration('1.1s', 'x'), 1100);
  assert.is(parseDuration('2m', 'x'), 120_000);
  assert.is(parseDuration('1h', 'x'), 3_600_000);
  assert.is(parseDuration('250', 'x'), 250);
  assert.is(parseDuration('0', 'x'), 0);
  assert.is(parseDuration(' 3 s ', 'x'), 3000);
  assert.is(parseDuration('.5s', 'x'), 500);
});

test('parseDuration rejects anything else, naming what was being parsed', () => {
  for (const bad of ['', 's', '-1s', '1d', '1.5.2s', '1 sec', 'abc', '1e3', '1s500ms']) {
    throwsOption(() => parseDuration(bad, 'options.checkpointing.interval'), 'options.checkpointing.interval must be a duration like 500ms, 1s, 1.5s, 2m or 1h', 'options.checkpointing.interval');
  }
  throwsOption(() => parseDuration(5 as unknown as string, '--timeout'), '--timeout must be a duration');
});

test.run();
