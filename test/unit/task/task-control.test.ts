import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTaskControl, TaskControl } from '../../../src/task/task-control.ts';
import { startTsWorker } from '../../fixtures/ts-worker.ts';

test('debloat metrics: none until the subtask reports, then the last set it reported', () => {
  const sab = createTaskControl();
  const subtask = new TaskControl(sab);
  const coordinator = new TaskControl(sab);
  assert.is(coordinator.debloat, undefined);
  const first = { debloatedBufferSize: 65536, estimatedTimeToConsumeBuffersMs: 0, maxEstimatedTimeToConsumeBuffersMs: 0, inFlightBytes: 0, throughputBytesPerSecond: 0 };
  const second = { debloatedBufferSize: 12_345, estimatedTimeToConsumeBuffersMs: 812.5, maxEstimatedTimeToConsumeBuffersMs: 1_900.25, inFlightBytes: 99_000, throughputBytesPerSecond: 121_846.15 };
  subtask.reportDebloat(first);
  assert.equal(coordinator.debloat, first);
  subtask.reportDebloat(second);
  assert.equal(coordinator.debloat, second);
});

test('debloat metrics do not disturb the cancel flag or the progress word', () => {
  const sab = createTaskControl();
  const control = new TaskControl(sab);
  control.reportProgress(42);
  control.reportDebloat({ debloatedBufferSize: 1, estimatedTimeToConsumeBuffersMs: 2, maxEstimatedTimeToConsumeBuffersMs: 3, inFlightBytes: 4, throughputBytesPerSecond: 5 });
  assert.is(control.progress, 42);
  assert.is(control.cancelRequested, false);
  control.requestCancel();
  assert.is(control.cancelRequested, true);
  assert.is(control.debloat?.throughputBytesPerSecond, 5);
});

test('a reader on another thread never sees a torn set while the subtask keeps reporting', async () => {
  const sab = createTaskControl();
  const reader = new TaskControl(sab);
  const count = 2_000_000;
  const worker = startTsWorker(new URL('../../fixtures/debloat-reporter.ts', import.meta.url), { workerData: { control: sab, count } });
  let done = false;
  worker.once('message', () => (done = true));
  const exited = new Promise((resolve, reject) => {
    worker.once('exit', resolve);
    worker.once('error', reject);
  });
  let reads = 0;
  let last = 0;
  for (let loop = 1; !done; loop++) {
    const m = reader.debloat;
    if (m !== undefined) {
      const i = m.debloatedBufferSize;
      assert.equal([m.estimatedTimeToConsumeBuffersMs, m.maxEstimatedTimeToConsumeBuffersMs, m.inFlightBytes, m.throughputBytesPerSecond], [2 * i, 3 * i, 4 * i, 5 * i], `a consistent set (${i})`);
      assert.ok(i >= last, 'never older than a set read before');
      last = i;
      reads++;
    }
    if (loop % 1000 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the 'message' event in
  }
  await exited;
  assert.ok(reads > 100, `read while writing (${reads} reads)`);
  assert.is(reader.debloat?.debloatedBufferSize, count);
});

test.run();
