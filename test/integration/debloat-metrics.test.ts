import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type JobProgress, type RunOptions, type SubtaskDebloatMetrics } from '../../src/index.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';

// Buffer-debloating metrics reach onProgress and JobResult.metrics: per subtask with an input
// gate, the size in force (debloatedBufferSize) and the time to consume the data in flight
// (estimatedTimeToConsumeBuffersMs), on a job whose slow stage keeps its rings full.

const RING_BYTES = 65_536;

function options(out: string, extra: Partial<RunOptions>): RunOptions {
  return {
    parallelism: 2,
    ringBytes: RING_BYTES,
    params: { count: '12000', keys: '50', rate: '8000', slowMicros: '300', out },
    ...extra,
  };
}

/** The relation every set of metrics holds: the estimate is the data in flight at the measured rate (≥ 1 B/s). */
function assertConsistent(m: SubtaskDebloatMetrics, where: string): void {
  assert.ok(m.debloatedBufferSize >= 1024 && m.debloatedBufferSize <= RING_BYTES, `${where}: size ${m.debloatedBufferSize}`);
  assert.ok(Number.isInteger(m.inFlightBytes) && m.inFlightBytes >= 0, `${where}: in flight ${m.inFlightBytes}`);
  const expected = (m.inFlightBytes * 1000) / Math.max(1, m.throughputBytesPerSecond);
  assert.ok(Math.abs(m.estimatedTimeToConsumeBuffersMs - expected) <= 1e-6 * Math.max(1, expected), `${where}: estimate ${m.estimatedTimeToConsumeBuffersMs} vs ${expected}`);
  assert.ok(m.maxEstimatedTimeToConsumeBuffersMs >= m.estimatedTimeToConsumeBuffersMs, `${where}: max below current`);
}

test('with debloat, progress and the result carry each input gate’s debloated size and time to consume in-flight data', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-debloat-metrics-'));
  const samples: JobProgress[] = [];
  try {
    const result = await within(
      90_000,
      run(fixtureJob('running-count.ts'), {
        ...options(join(dir, 'out'), {}),
        debloat: { periodMs: 50, targetMs: 100 },
        onProgress: (p) => samples.push(p),
      }),
    );
    assert.is(result.status, 'FINISHED');
    // Sources have no input gate; the keyed count and the slow stage (2 subtasks each) have one.
    const final = result.metrics.debloat;
    assert.ok(final !== undefined, 'JobResult.metrics.debloat is there');
    assert.equal(final.map((m) => m.subtask).sort(), ['1/0', '1/1', '2/0', '2/1']);
    // Vertex 1: the keyed count; vertex 2: the slow map chained with the sink.
    assert.equal(final.map((m) => `${m.subtask} ${m.name}`).sort(), ['1/0 KeyedProcess', '1/1 KeyedProcess', '2/0 Map -> out', '2/1 Map -> out']);
    assert.equal(final.map((m) => m.subtaskIndex).sort(), [0, 0, 1, 1]);
    for (const m of final) {
      assertConsistent(m, `result ${m.subtask}`);
      assert.ok(m.throughputBytesPerSecond > 0, `${m.subtask} measured a throughput`);
    }
    // While it ran: the slow stage's rings shrank below their capacity and held data worth some time.
    const running = samples.flatMap((p) => p.debloat ?? []);
    assert.ok(running.length > 0, `${samples.length} progress samples carried debloat metrics`);
    for (const m of running) assertConsistent(m, `progress ${m.subtask}`);
    const slow = running.filter((m) => m.subtask.startsWith('2/'));
    const slowFinal = final.filter((m) => m.subtask.startsWith('2/'));
    assert.ok([...slow, ...slowFinal].some((m) => m.debloatedBufferSize < RING_BYTES), 'the slow stage’s buffers were debloated');
    assert.ok(slow.some((m) => m.inFlightBytes > 0 && m.estimatedTimeToConsumeBuffersMs > 0), 'data in flight, with a time to consume it');
    assert.ok(final.some((m) => m.maxEstimatedTimeToConsumeBuffersMs > 0), 'the peak estimate survives the drained end');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without debloat there are no debloat metrics in progress or result', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-debloat-metrics-'));
  const samples: JobProgress[] = [];
  try {
    const result = await within(90_000, run(fixtureJob('running-count.ts'), { ...options(join(dir, 'out'), {}), onProgress: (p) => samples.push(p) }));
    assert.is(result.status, 'FINISHED');
    assert.not.ok('debloat' in result.metrics);
    assert.ok(samples.length > 0 && samples.every((p) => !('debloat' in p)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
