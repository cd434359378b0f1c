// DebloatDriver's metrics: the size in force (debloatedBufferSize), the bytes in flight in the
// gate's rings and the time the last period's throughput needs to consume them
// (estimatedTimeToConsumeBuffersMs), measured once per period and published to a sink.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DebloatDriver, type DebloatMetrics } from '../../../src/channels/debloat-driver.ts';
import { createDoorbell, Doorbell } from '../../../src/channels/doorbell.ts';
import { FRAME_RECORD, frameBytes } from '../../../src/channels/frame-codec.ts';
import { createRingBuffer, RingReader, RingWriter, ringFill } from '../../../src/channels/ring-buffer.ts';

function fakeClock(): { ms: number; now: () => number } {
  const clock = { ms: 1000, now: () => clock.ms };
  return clock;
}

/** Publishes `frames` RECORD frames of `payload` bytes into `ring`; returns the bytes they take. */
function produce(ring: SharedArrayBuffer, frames: number, payload: number): number {
  const writer = new RingWriter(ring, new Doorbell(createDoorbell()));
  const bytes = new Uint8Array(payload);
  for (let i = 0; i < frames; i++) assert.ok(writer.tryWrite(FRAME_RECORD, bytes, 0, payload), 'room for every frame');
  writer.flush();
  return frames * frameBytes(payload);
}

/** Reads `frames` frames from `ring` and releases them, as the input gate does. */
function consume(ring: SharedArrayBuffer, frames: number): void {
  const reader = new RingReader(ring);
  for (let i = 0; i < frames; i++) assert.ok(reader.next() >= 0, 'a frame to read');
  reader.release();
}

function sink(): { reports: DebloatMetrics[]; reportDebloat(m: DebloatMetrics): void } {
  const reports: DebloatMetrics[] = [];
  return { reports, reportDebloat: (m) => reports.push(m) };
}

test('ringFill is the published, unreleased bytes of a ring, seen from any thread', () => {
  const ring = createRingBuffer(4096);
  assert.is(ringFill(ring), 0);
  const bytes = produce(ring, 10, 60);
  assert.is(ringFill(ring), bytes);
  consume(ring, 4);
  assert.is(ringFill(ring), 6 * frameBytes(60));
});

test('before the first period: the size is maxBytes, nothing is measured, and publishTo reports that at once', () => {
  const clock = fakeClock();
  const driver = new DebloatDriver([createRingBuffer(65536), createRingBuffer(65536)], { maxBytes: 32768 }, clock.now);
  const expected = { debloatedBufferSize: 32768, estimatedTimeToConsumeBuffersMs: 0, maxEstimatedTimeToConsumeBuffersMs: 0, inFlightBytes: 0, throughputBytesPerSecond: 0 };
  assert.equal(driver.metrics, expected);
  const s = sink();
  driver.publishTo(s);
  assert.equal(s.reports, [expected]);
  clock.ms += 199;
  driver.maybeUpdate();
  assert.is(s.reports.length, 1, 'nothing new before the period ends');
});

test('each period measures the bytes in the rings and the time the last period’s throughput needs for them', () => {
  const clock = fakeClock();
  const rings = [createRingBuffer(1 << 16), createRingBuffer(1 << 16)];
  const driver = new DebloatDriver(rings, { samples: 1, thresholdPercent: 0, minBytes: 100 }, clock.now);
  const s = sink();
  driver.publishTo(s);
  const inFlight = produce(rings[0]!, 10, 96) + produce(rings[1]!, 5, 200);
  driver.recordConsumed(0, 20_000); // 20 000 bytes in a busy 200 ms: 100 000 B/s
  clock.ms += 200;
  assert.is(driver.maybeUpdate(), 50_000, '1 s of 100 000 B/s over 2 channels');
  const metrics = {
    debloatedBufferSize: 50_000,
    estimatedTimeToConsumeBuffersMs: (inFlight * 1000) / 100_000,
    maxEstimatedTimeToConsumeBuffersMs: (inFlight * 1000) / 100_000,
    inFlightBytes: inFlight,
    throughputBytesPerSecond: 100_000,
  };
  assert.equal(driver.metrics, metrics);
  assert.equal(s.reports.at(-1), metrics, 'published when measured');
  assert.is(driver.inFlightBytes, inFlight);
  assert.is(driver.estimatedTimeToConsumeMs, metrics.estimatedTimeToConsumeBuffersMs);
  assert.is(s.reports.length, 2);
});

test('metrics are published every period, announced or not; the size is the one in force and the maximum stays', () => {
  const clock = fakeClock();
  const ring = createRingBuffer(1 << 16);
  const driver = new DebloatDriver([ring], { samples: 1, thresholdPercent: 25, minBytes: 100 }, clock.now);
  const s = sink();
  driver.publishTo(s);
  const inFlight = produce(ring, 100, 60); // 6 400 bytes
  driver.recordConsumed(0, 2_000);
  clock.ms += 200;
  assert.is(driver.maybeUpdate(), 10_000, '10 000 B/s: 1 s of it');
  assert.is(driver.metrics.estimatedTimeToConsumeBuffersMs, 640, '6 400 bytes at 10 000 B/s');
  // The next period's size differs by less than 25 %: not announced, but measured and published.
  consume(ring, 50);
  driver.recordConsumed(0, 2_200);
  clock.ms += 200;
  assert.is(driver.maybeUpdate(), undefined);
  assert.is(s.reports.length, 3);
  assert.equal(driver.metrics, {
    debloatedBufferSize: 10_000,
    estimatedTimeToConsumeBuffersMs: (inFlight / 2) * 1000 / 11_000,
    maxEstimatedTimeToConsumeBuffersMs: 640,
    inFlightBytes: inFlight / 2,
    throughputBytesPerSecond: 11_000,
  });
  // A period without busy time keeps the throughput: the estimate follows the rings alone.
  produce(ring, 100, 60); // 9 600 bytes now: within the 10 000 usable
  driver.pauseMeasurement();
  clock.ms += 200;
  driver.maybeUpdate();
  assert.is(driver.metrics.inFlightBytes, 150 * 64);
  assert.is(driver.metrics.maxEstimatedTimeToConsumeBuffersMs, (150 * 64 * 1000) / 11_000);
  assert.is(s.reports.length, 4);
  // Calls within the same period measure nothing more.
  driver.maybeUpdate();
  assert.is(s.reports.length, 4);
});

test('with data in flight and no throughput measured yet, the estimate takes 1 B/s as Flink does', () => {
  const clock = fakeClock();
  const ring = createRingBuffer(4096);
  const driver = new DebloatDriver([ring], {}, clock.now);
  produce(ring, 2, 4);
  driver.pauseMeasurement(); // idle the whole period: no throughput
  clock.ms += 200;
  driver.maybeUpdate();
  assert.is(driver.metrics.throughputBytesPerSecond, 0);
  assert.is(driver.metrics.estimatedTimeToConsumeBuffersMs, 16 * 1000, '16 bytes at 1 B/s');
});

test.run();
