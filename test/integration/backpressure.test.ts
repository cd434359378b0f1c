import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { run } from '../../src/index.ts';
import { fixtureJob, within } from '../helpers/jobs.ts';

const RECORD_BYTES = 100_000;

/** Runs the slow-sink job and returns the peak growth of resident memory during the run, in MiB. */
async function peakGrowth(count: number): Promise<{ growthMiB: number; backpressuredMs: number }> {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  try {
    const result = await within(
      120_000,
      run(fixtureJob('slow-sink.ts'), {
        parallelism: 1,
        ringBytes: 1 << 20,
        params: { count: String(count), padBytes: String(RECORD_BYTES) },
      }),
    );
    assert.equal(result.outputs.slow, [{ seen: count }]);
    return { growthMiB: (peak - baseline) / 2 ** 20, backpressuredMs: result.metrics.backpressuredMs };
  } finally {
    clearInterval(sampler);
  }
}

test('a slow sink backpressures the source and memory stays bounded by the rings, not by the data', async () => {
  const small = await peakGrowth(100); // ~10 MB through the channel
  const large = await peakGrowth(3000); // ~300 MB through the channel
  assert.ok(large.backpressuredMs > 0, 'the source waited for the sink');
  // If the channel buffered instead of blocking, the large run would hold most of its 300 MB.
  // With a 1 MiB ring it costs what the small run costs (thread start-up), give or take.
  const extra = large.growthMiB - small.growthMiB;
  assert.ok(extra < 100, `the 300 MB run grew resident memory by ${extra.toFixed(1)} MiB more than the 10 MB run`);
});

test.run();
