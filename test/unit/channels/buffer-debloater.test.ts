import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BufferDebloater, type BufferDebloaterOptions } from '../../../src/channels/buffer-debloater.ts';
import { throwsCode } from '../../helpers/errors.ts';

function debloater(options: Partial<BufferDebloaterOptions> = {}): BufferDebloater {
  return new BufferDebloater({ channels: 1, minBytes: 256, maxBytes: 32768, startMs: 0, ...options });
}

/** Runs one period of `periodMs` ms in which the gate consumed `bytes` on channel 0; returns the announcement. */
function period(d: BufferDebloater, now: { ms: number }, bytes: number, channelsInUse?: number): number | undefined {
  d.recordConsumed(0, bytes);
  now.ms += d.periodMs;
  return d.maybeUpdate(now.ms, channelsInUse);
}

test('starts at maxBytes and computes nothing before a whole period has passed', () => {
  const d = debloater({ samples: 1, thresholdPercent: 0 });
  assert.is(d.currentSizeBytes, 32768);
  assert.is(d.throughputBytesPerSecond, 0);
  assert.is(d.estimatedTimeToConsumeMs, 0);
  d.recordConsumed(0, 2000);
  assert.is(d.maybeUpdate(199), undefined);
  assert.is(d.throughputBytesPerSecond, 0, 'no throughput before the period ends');
  // 2000 bytes in 200 ms = 10 000 B/s; × 1 s over one channel = 10 000 bytes (alpha 1: no smoothing).
  assert.is(d.maybeUpdate(200), 10_000);
  assert.is(d.throughputBytesPerSecond, 10_000);
  assert.is(d.currentSizeBytes, 10_000);
  assert.is(d.estimatedTimeToConsumeMs, 1000);
  assert.is(d.maybeUpdate(399), undefined, 'the next period starts at the last update');
});

test('without startMs the first maybeUpdate only starts the first period', () => {
  const d = new BufferDebloater({ channels: 1, minBytes: 256, maxBytes: 32768, samples: 1, thresholdPercent: 0 });
  d.recordConsumed(0, 5000);
  assert.is(d.maybeUpdate(1_000_000), undefined);
  d.recordConsumed(0, 2000);
  assert.is(d.maybeUpdate(1_000_200), 10_000, 'bytes from before the start do not count');
});

test('the size is an EMA with alpha 2/(samples+1), and grows by at most alpha × size per period', () => {
  const d = debloater({ thresholdPercent: 0 });
  const now = { ms: 0 };
  // No data: the desirable size is 0, so each period removes alpha = 2/21 of the size.
  const shrinking = [29647, 26824, 24269, 21958, 19867];
  for (const expected of shrinking) assert.is(period(d, now, 0), expected);
  // Far more data than maxBytes: capped at 2 × size, so each period adds alpha of it, up to max.
  const growing = [21759, 23831, 26100, 28586, 31309, 32768];
  for (const expected of growing) assert.is(period(d, now, 1_000_000_000), expected);
  assert.is(period(d, now, 1_000_000_000), undefined, 'no announcement when the size stays at max');
});

test('a new size is announced only when it differs by at least thresholdPercent, but the EMA keeps moving', () => {
  const d = debloater({ samples: 1, minBytes: 100, maxBytes: 100_000 });
  const now = { ms: 0 };
  // 16 000 B in 200 ms = 80 000 B/s → 80 000: 20 % below 100 000, under the 25 % threshold.
  assert.is(period(d, now, 16_000), undefined);
  assert.is(d.currentSizeBytes, 100_000);
  assert.is(d.throughputBytesPerSecond, 80_000);
  assert.is(d.estimatedTimeToConsumeMs, 1250, 'the size in force, not the unannounced one');
  // 75 000: exactly 25 % below the announced 100 000 → announced.
  assert.is(period(d, now, 15_000), 75_000);
  // 60 000 is 20 % below 75 000: skipped; 56 250 is exactly 25 % below: announced.
  assert.is(period(d, now, 12_000), undefined);
  assert.is(period(d, now, 11_250), 56_250);
  // Same size again: nothing to announce.
  assert.is(period(d, now, 11_250), undefined);
  // Growing: 70 000 is 24.4 % above 56 250, skipped; 70 500 is 25.3 % above, announced.
  assert.is(period(d, now, 14_000), undefined);
  assert.is(period(d, now, 14_100), 70_500);
});

test('sizes are clamped to [minBytes, maxBytes], and reaching a bound is announced even below the threshold', () => {
  const d = debloater({ samples: 1, minBytes: 1000, maxBytes: 10_000 });
  const now = { ms: 0 };
  assert.is(period(d, now, 1_000_000), undefined, 'above max: clamped to max, which is the current size');
  assert.is(d.currentSizeBytes, 10_000);
  assert.is(period(d, now, 220), 1100); // 1 100 B/s
  assert.is(period(d, now, 100), 1000, '500 clamps to min: a 9 % change, announced because it is the bound');
  assert.is(period(d, now, 0), undefined, 'already at min');
  assert.is(d.currentSizeBytes, 1000);
  assert.is(period(d, now, 1900), 2000, '9 500 B/s, but a size grows to at most 2 × its current value per period');
});

test('zero throughput shrinks the size to minBytes, through announcements at least 25 % apart', () => {
  const d = debloater({ minBytes: 1024, maxBytes: 65536 });
  const now = { ms: 0 };
  const announced: number[] = [];
  for (let i = 0; i < 100; i++) {
    const size = period(d, now, 0);
    if (size !== undefined) announced.push(size);
  }
  assert.is(d.currentSizeBytes, 1024);
  assert.is(announced.at(-1), 1024);
  let last = 65536;
  for (const size of announced.slice(0, -1)) {
    assert.ok(last - size >= last / 4, `${last} → ${size} is a step of at least 25 %`);
    last = size;
  }
  assert.ok(announced.length >= 5 && announced.length <= 15, `${announced.length} announcements`);
  assert.is(d.throughputBytesPerSecond, 0);
  assert.is(d.estimatedTimeToConsumeMs, 1024 * 1000, '1 024 bytes at the 1 B/s floor');
});

test('the desired in-flight bytes are divided over the channels in use', () => {
  const d = debloater({ channels: 4, samples: 1, thresholdPercent: 0, minBytes: 100, maxBytes: 100_000 });
  const now = { ms: 0 };
  // 16 000 B per 200 ms on channels 0 and 3 = 80 000 B/s in all, 1 s target.
  d.recordConsumed(3, 8000);
  assert.is(period(d, now, 8000), 20_000, '80 000 over 4 channels');
  assert.is(d.estimatedTimeToConsumeMs, 1000);
  d.recordConsumed(3, 8000);
  assert.is(period(d, now, 8000, 2), 40_000, 'over the 2 channels still open');
  assert.is(d.estimatedTimeToConsumeMs, 1000);
  d.recordConsumed(3, 8000);
  assert.is(period(d, now, 8000, 0), 80_000, 'at least one channel');
  assert.is(d.consumedBytes(0), 24_000);
  assert.is(d.consumedBytes(3), 24_000);
  assert.is(d.consumedBytes(1), 0);
});

test('targetMs scales the desired size, and throughput counts only busy (not paused) time', () => {
  const d = debloater({ samples: 1, thresholdPercent: 0, targetMs: 500, minBytes: 10, maxBytes: 1_000_000 });
  // 1 000 bytes while busy for 50 of 200 ms: 20 000 B/s; 500 ms of that is 10 000 bytes.
  d.pauseMeasurement(20);
  d.pauseMeasurement(30); // pausing twice changes nothing
  d.resumeMeasurement(170);
  d.recordConsumed(0, 1000);
  assert.is(d.maybeUpdate(200), 10_000);
  assert.is(d.throughputBytesPerSecond, 20_000);
  // A period spent wholly paused has no busy time: the last throughput stands (Flink), even with data.
  d.pauseMeasurement(200);
  d.recordConsumed(0, 5);
  assert.is(d.maybeUpdate(400), undefined);
  assert.is(d.throughputBytesPerSecond, 20_000);
  // Paused across a period boundary, resumed in the next one: only the time since resuming counts.
  d.resumeMeasurement(500);
  d.recordConsumed(0, 3000);
  assert.is(d.maybeUpdate(600), 15_000, '3 000 B in 100 busy ms = 30 000 B/s');
});

test('options are validated with WEIR_INVALID_OPTION naming the option', () => {
  const base = { channels: 1, minBytes: 256, maxBytes: 32768 };
  throwsCode(() => new BufferDebloater({ ...base, targetMs: 0 }), 'WEIR_INVALID_OPTION', /^options\.debloat\.targetMs must be a positive number of milliseconds, got 0$/);
  throwsCode(() => new BufferDebloater({ ...base, periodMs: -1 }), 'WEIR_INVALID_OPTION', /options\.debloat\.periodMs/);
  throwsCode(() => new BufferDebloater({ ...base, periodMs: Infinity }), 'WEIR_INVALID_OPTION', /options\.debloat\.periodMs/);
  throwsCode(() => new BufferDebloater({ ...base, samples: 1.5 }), 'WEIR_INVALID_OPTION', /options\.debloat\.samples must be a positive integer, got 1.5/);
  throwsCode(() => new BufferDebloater({ ...base, samples: 0 }), 'WEIR_INVALID_OPTION', /options\.debloat\.samples/);
  throwsCode(() => new BufferDebloater({ ...base, thresholdPercent: 101 }), 'WEIR_INVALID_OPTION', /options\.debloat\.thresholdPercent/);
  throwsCode(() => new BufferDebloater({ ...base, thresholdPercent: NaN }), 'WEIR_INVALID_OPTION', /options\.debloat\.thresholdPercent/);
  throwsCode(() => new BufferDebloater({ ...base, minBytes: 0 }), 'WEIR_INVALID_OPTION', /options\.debloat\.minBytes/);
  throwsCode(() => new BufferDebloater({ ...base, maxBytes: 100 }), 'WEIR_INVALID_OPTION', /^options\.debloat\.maxBytes must be an integer number of bytes ≥ minBytes \(256\), got 100$/);
  throwsCode(() => new BufferDebloater({ ...base, targetMs: '1s' as unknown as number }), 'WEIR_INVALID_OPTION', /got "1s"/);
  throwsCode(() => new BufferDebloater({ ...base, channels: 0 }), 'WEIR_INVALID_ARGUMENT', /channels/);
  const err = throwsCode(() => new BufferDebloater({ ...base, samples: -3 }), 'WEIR_INVALID_OPTION');
  assert.equal(err.context, { option: 'debloat.samples' });
  // Bounds may meet: a fixed size.
  assert.is(new BufferDebloater({ ...base, minBytes: 4096, maxBytes: 4096 }).currentSizeBytes, 4096);
});

test.run();
