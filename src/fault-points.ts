/**
 * @internal Chaos testing: named points inside a subtask's work (an LSM flush, a compaction, a
 * checkpoint's upload) where the fault-injection tests crash the subtask's thread exactly there.
 * The coordinator's FaultInjector arms at most one point per thread and attempt (through the
 * subtask's checkpoint port); an armed point ends the thread at its n-th occurrence, as a kill
 * would. Unarmed, a point is one comparison. Runs on subtask worker threads.
 */

export type WorkerFaultPoint = 'lsm-flush' | 'lsm-compaction' | 'lsm-upload';

export const WORKER_FAULT_POINTS: readonly WorkerFaultPoint[] = ['lsm-flush', 'lsm-compaction', 'lsm-upload'];

let armed: { point: WorkerFaultPoint; remaining: number } | undefined;

/** Arms `point` on this thread: the `occurrence`-th time it is reached, the thread exits. */
export function armFaultPoint(point: WorkerFaultPoint, occurrence: number): void {
  armed = { point, remaining: Math.max(1, occurrence) };
}

/** Marks a fault point; ends the thread when it is the armed one's turn. */
export function faultPoint(point: WorkerFaultPoint): void {
  if (armed === undefined || armed.point !== point) return;
  if (--armed.remaining > 0) return;
  armed = undefined;
  process.exit(70); // in a worker thread: ends this thread only, mid-operation, like a kill
}
