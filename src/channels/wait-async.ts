/**
 * `Atomics.waitAsync` as a plain promise, for the channel code on subtask worker threads (the
 * doorbell and the ring writer wait with it so the thread's event loop keeps running).
 */

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

/**
 * Atomics.waitAsync (typed only from lib ES2024). Resolves on notify, change or timeout. Node 20
 * does not count a pending waitAsync as event-loop work, so a thread with nothing else to do
 * would exit mid-wait: a referenced interval timer keeps the loop alive for the wait's duration.
 */
export async function waitAsync(words: Int32Array, index: number, value: number, timeoutMs: number): Promise<void> {
  const atomics = Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number, t: number): WaitAsyncResult;
  };
  const result = atomics.waitAsync(words, index, value, timeoutMs);
  if (!result.async) return;
  const keepAlive = setInterval(noop, 2 ** 30);
  try {
    await result.value;
  } finally {
    clearInterval(keepAlive);
  }
}

function noop(): void {}
