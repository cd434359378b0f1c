import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DebloatDriver } from '../../../src/channels/debloat-driver.ts';
import { createRingBuffer, usableCapacity } from '../../../src/channels/ring-buffer.ts';
import { throwsCode } from '../../helpers/errors.ts';

function fakeClock(): { ms: number; now: () => number } {
  const clock = { ms: 1000, now: () => clock.ms };
  return clock;
}

test('defaults: Flink timing, sizes between 1 KiB and the ring capacity, starting at the capacity', () => {
  const clock = fakeClock();
  const rings = [createRingBuffer(65536), createRingBuffer(65536)];
  const driver = new DebloatDriver(rings, {}, clock.now);
  assert.is(driver.currentSizeBytes, 65536);
  // Nothing consumed: each 200 ms period removes 2/21 of the size, down to 1 KiB.
  const announced: number[] = [];
  for (let i = 0; i < 100; i++) {
    clock.ms += 199;
    assert.is(driver.maybeUpdate(), undefined, 'not before 200 ms');
    clock.ms += 1;
    const size = driver.maybeUpdate();
    if (size !== undefined) announced.push(size);
  }
  assert.is(announced[0], 48_538, '65 536 × (19/21)^3: the first size at least 25 % below 65 536');
  assert.is(announced.at(-1), 1024);
  for (const ring of rings) assert.is(usableCapacity(ring), 1024);
  // A ring of 512 bytes cannot take a 1 KiB minimum: the minimum follows the capacity.
  const smallRing = createRingBuffer(1024);
  const small = new DebloatDriver([smallRing], { maxBytes: 512 }, clock.now);
  assert.is(small.currentSizeBytes, 512);
  assert.is(usableCapacity(smallRing), 512, 'the rings start at maxBytes too');
});

test('each announced size becomes the usable capacity of every open ring, divided over the open channels', () => {
  const clock = fakeClock();
  const rings = [createRingBuffer(1 << 20), createRingBuffer(1 << 20), createRingBuffer(1 << 20)];
  const driver = new DebloatDriver(rings, { samples: 1, thresholdPercent: 0, minBytes: 100 }, clock.now);
  // 30 000 bytes in 200 ms = 150 000 B/s; 1 s of it over 3 channels.
  driver.recordConsumed(0, 10_000);
  driver.recordConsumed(2, 20_000);
  clock.ms += 200;
  assert.is(driver.maybeUpdate(), 50_000);
  assert.equal(rings.map(usableCapacity), [50_000, 50_000, 50_000]);
  assert.is(driver.throughputBytesPerSecond, 150_000);
  assert.is(driver.estimatedTimeToConsumeMs, 0, 'the rings are empty: nothing in flight to consume');
  assert.is(driver.consumedBytes(2), 20_000);
  // Channel 1 ends: its ring keeps its last size, the two others share the target.
  driver.channelEnded(1);
  driver.channelEnded(1);
  driver.channelEnded(7);
  driver.recordConsumed(0, 30_000);
  clock.ms += 200;
  assert.is(driver.maybeUpdate(), 75_000);
  assert.equal(rings.map(usableCapacity), [75_000, 50_000, 75_000]);
});

test('idle time is not counted: a pause lasts until the gate consumes bytes again', () => {
  const clock = fakeClock();
  const ring = createRingBuffer(1 << 20);
  const driver = new DebloatDriver([ring], { samples: 1, thresholdPercent: 0 }, clock.now);
  driver.recordConsumed(0, 5_000);
  clock.ms += 50;
  driver.pauseMeasurement();
  clock.ms += 100;
  driver.recordConsumed(0, 0); // a poll that found nothing does not end the pause
  clock.ms += 50;
  assert.is(driver.maybeUpdate(), 100_000, '5 000 bytes in 50 busy ms');
  clock.ms += 100;
  driver.recordConsumed(0, 2_000); // resumes the measurement from now
  clock.ms += 100;
  assert.is(driver.maybeUpdate(), 20_000, '2 000 bytes in the 100 ms since');
  assert.is(usableCapacity(ring), 20_000);
  // A whole period paused keeps the last throughput, and with it the size.
  driver.pauseMeasurement();
  driver.pauseMeasurement();
  clock.ms += 200;
  assert.is(driver.maybeUpdate(), undefined);
  assert.is(driver.throughputBytesPerSecond, 20_000);
  driver.resumeMeasurement();
  clock.ms += 200;
  assert.is(driver.maybeUpdate(), 1024, 'busy without data: 0 B/s, so the minimum (alpha 1: no smoothing)');
});

test('settings are validated against the rings', () => {
  const rings = [createRingBuffer(4096), createRingBuffer(8192)];
  throwsCode(() => new DebloatDriver(rings, { maxBytes: 8192 }), 'WEIR_INVALID_OPTION', /^options\.debloat\.maxBytes must be at most the ring capacity 4096, got 8192$/);
  throwsCode(() => new DebloatDriver(rings, { minBytes: 5000 }), 'WEIR_INVALID_OPTION', /options\.debloat\.maxBytes must be an integer number of bytes ≥ minBytes \(5000\), got 4096/);
  throwsCode(() => new DebloatDriver(rings, { periodMs: 0 }), 'WEIR_INVALID_OPTION', /options\.debloat\.periodMs/);
  throwsCode(() => new DebloatDriver([]), 'WEIR_INVALID_ARGUMENT', /at least one input ring/);
  throwsCode(() => new DebloatDriver([new SharedArrayBuffer(64) as SharedArrayBuffer]), 'WEIR_INVALID_ARGUMENT', /createRingBuffer/);
});

test.run();
