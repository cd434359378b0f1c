// Keyed timers: per key and time at most one, fired in time order with their key set, deleted
// ones skipped, stored as keyed state so that a restore (also into another key-group range)
// brings them back; processing-time timers run from the processing-time service's clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HeapKeyedStateBackend } from '../../../../src/state/heap/heap-keyed-state-backend.ts';
import { canonicalKey, keyGroupOf, loadKeyHasher } from '../../../../src/state/key-groups.ts';
import { KeyedTimerService, type InternalTimer } from '../../../../src/task/time/keyed-timer-service.ts';
import { ProcessingTimeService } from '../../../../src/task/time/processing-time-service.ts';
import { WatermarkEmitter, WatermarkStrategy } from '../../../../src/task/time/watermark-strategy.ts';

const MAX_PARALLELISM = 128;

function harness(range = { start: 0, end: MAX_PARALLELISM - 1 }, clock = { now: 1_000 }) {
  const backend = new HeapKeyedStateBackend(range, MAX_PARALLELISM);
  const processing = new ProcessingTimeService(() => clock.now);
  let current: { key: unknown; canonical: ReturnType<typeof canonicalKey>; keyGroup: number } | undefined;
  const fired: string[] = [];
  const setKey = (key: unknown) => {
    const canonical = canonicalKey(key);
    current = { key, canonical, keyGroup: keyGroupOf(canonical, MAX_PARALLELISM) };
    backend.setCurrentKey(canonical, current.keyGroup);
  };
  const service = new KeyedTimerService(
    backend,
    processing,
    () => current!,
    (timer) => {
      current = { key: timer.key, canonical: timer.canonical, keyGroup: timer.keyGroup };
      backend.setCurrentKey(timer.canonical, timer.keyGroup);
    },
  );
  const log = (domain: string) => (timer: InternalTimer) => fired.push(`${domain} ${String(timer.key)}@${timer.time}${timer.namespace === '' ? '' : `/${timer.namespace}`} (current ${String(current!.key)})`);
  service.setTarget({ onEventTime: log('event'), onProcessingTime: log('processing') });
  return { backend, processing, service, fired, setKey, clock };
}

test.before(async () => {
  await loadKeyHasher();
});

test('event-time timers fire in time order once the watermark reaches them, with their key current', () => {
  const { service, fired, setKey } = harness();
  setKey('a');
  service.registerEventTimeTimer('', 30);
  service.registerEventTimeTimer('', 10);
  service.registerEventTimeTimer('', 10); // the same timer again: one timer
  setKey('b');
  service.registerEventTimeTimer('', 20);
  service.registerEventTimeTimer('w1', 20); // another namespace: another timer
  assert.is(service.size, 4);
  service.advanceWatermark(9);
  assert.equal(fired, []);
  service.advanceWatermark(20);
  assert.equal(fired, ['event a@10 (current a)', 'event b@20 (current b)', 'event b@20/w1 (current b)']);
  service.advanceWatermark(15); // a watermark never goes back
  service.advanceWatermark(Infinity);
  assert.equal(fired.at(-1), 'event a@30 (current a)');
  assert.is(service.size, 0);
});

test('a deleted timer does not fire; deleting an unknown one is a no-op', () => {
  const { service, fired, setKey } = harness();
  setKey(1);
  service.registerEventTimeTimer('', 5);
  service.registerEventTimeTimer('', 6);
  service.deleteEventTimeTimer('', 5);
  service.deleteEventTimeTimer('', 99);
  service.advanceWatermark(100);
  assert.equal(fired, ['event 1@6 (current 1)']);
});

test('timers are keyed state: a new service over the restored backend fires them, only in its key groups', () => {
  const a = harness();
  for (let k = 0; k < 40; k++) {
    a.setKey(`key${k}`);
    a.service.registerEventTimeTimer('', 1000 + k);
    a.service.registerProcessingTimeTimer('', 5000 + k);
  }
  a.setKey('key0');
  a.service.deleteEventTimeTimer('', 1000);
  const blocks = a.backend.snapshot();
  // Restore the lower half of the key groups into a fresh backend.
  const half = { start: 0, end: MAX_PARALLELISM / 2 - 1 };
  const b = harness(half, { now: 1_000 });
  b.backend.restore(blocks.filter((block) => block.keyGroup <= half.end));
  b.service.restore();
  const expectedKeys = Array.from({ length: 40 }, (_, k) => `key${k}`).filter((key) => keyGroupOf(canonicalKey(key), MAX_PARALLELISM) <= half.end);
  assert.ok(expectedKeys.length > 5 && expectedKeys.length < 35, 'both halves hold keys');
  b.service.advanceWatermark(Infinity);
  const expectedEvent = expectedKeys.filter((key) => key !== 'key0').map((key) => `event ${key}@${1000 + Number(key.slice(3))} (current ${key})`);
  assert.equal(b.fired, expectedEvent);
  b.clock.now = 10_000;
  b.processing.fireDue();
  assert.equal(b.fired.slice(expectedEvent.length), expectedKeys.map((key) => `processing ${key}@${5000 + Number(key.slice(3))} (current ${key})`));
});

test('processing-time timers fire from the service clock, earliest first, and reschedule', () => {
  const { service, processing, fired, setKey, clock } = harness();
  setKey('x');
  service.registerProcessingTimeTimer('', 1_500);
  setKey('y');
  service.registerProcessingTimeTimer('', 1_200);
  assert.is(processing.msUntilNext(), 200);
  clock.now = 1_300;
  processing.fireDue();
  assert.equal(fired, ['processing y@1200 (current y)']);
  assert.is(processing.msUntilNext(), 200);
  clock.now = 2_000;
  processing.fireDue();
  assert.equal(fired, ['processing y@1200 (current y)', 'processing x@1500 (current x)']);
  assert.is(processing.msUntilNext(), Infinity);
});

test('a timer at a time that is not a number is WEIR_INVALID_TIMESTAMP', () => {
  const { service, setKey } = harness();
  setKey('k');
  assert.throws(() => service.registerEventTimeTimer('', Number.NaN), (e: unknown) => (e as { code: string }).code === 'WEIR_INVALID_TIMESTAMP');
});

test('WatermarkEmitter: bounded out-of-orderness, periodic emission only on progress, idleness, final +∞', () => {
  const out: Array<number | string> = [];
  const clock = { now: 0 };
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<{ t: number }>(10).withTimestampAssigner((r) => r.t).withIdleness(100);
  const emitter = new WatermarkEmitter(
    strategy,
    { emitWatermark: (w) => out.push(w), emitWatermarkStatus: (idle) => out.push(idle ? 'idle' : 'active') },
    () => clock.now,
    () => 'test',
  );
  emitter.onPeriodicEmit();
  assert.equal(out, [], 'nothing seen yet');
  assert.is(emitter.onRecord({ t: 50 }, Number.NaN), 50);
  emitter.onRecord({ t: 40 }, Number.NaN);
  emitter.onPeriodicEmit();
  emitter.onPeriodicEmit();
  assert.equal(out, [39], 'max 50 − 10 − 1, emitted once');
  clock.now = 150;
  emitter.onPeriodicEmit();
  assert.equal(out, [39, 'idle']);
  emitter.onRecord({ t: 70 }, Number.NaN);
  emitter.onPeriodicEmit();
  emitter.onEnd();
  emitter.onEnd();
  assert.equal(out, [39, 'idle', 'active', 59, Infinity]);
});

test('WatermarkEmitter: a record without timestamp and an assigner returning NaN are WEIR_INVALID_TIMESTAMP', () => {
  const sink = { emitWatermark() {}, emitWatermarkStatus() {} };
  const none = new WatermarkEmitter(WatermarkStrategy.forMonotonousTimestamps<number>(), sink, () => 0, () => 'source s');
  assert.throws(() => none.onRecord(1, Number.NaN), (e: unknown) => (e as { code: string; message: string }).code === 'WEIR_INVALID_TIMESTAMP' && /withTimestampAssigner/.test((e as Error).message));
  assert.is(none.onRecord(1, 77), 77, 'a timestamp the record already carries is used');
  const bad = new WatermarkEmitter(WatermarkStrategy.noWatermarks<number>().withTimestampAssigner(() => Number.NaN), sink, () => 0, () => 'source s');
  assert.throws(() => bad.onRecord(1, Number.NaN), /returned NaN/);
});

test('WatermarkStrategy rejects bad arguments by name', () => {
  assert.throws(() => WatermarkStrategy.forBoundedOutOfOrderness(-1), /forBoundedOutOfOrderness\(\) expects a non-negative/);
  assert.throws(() => WatermarkStrategy.forMonotonousTimestamps().withIdleness(0), /withIdleness\(\) expects a positive/);
  assert.throws(() => WatermarkStrategy.forMonotonousTimestamps().withTimestampAssigner(5 as never), /withTimestampAssigner\(\) expects a function/);
});

test.run();
