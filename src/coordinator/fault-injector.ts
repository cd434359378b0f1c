/**
 * @internal Chaos testing for the fault-injection tests: kills one subtask thread per job attempt,
 * at a moment drawn from a seeded schedule — a random moment, just after a checkpoint trigger
 * (barriers and snapshot writes in flight), or between a checkpoint's `_metadata` and the sinks'
 * commit. Main thread, armed by the job coordinator for each attempt.
 */
import { WORKER_FAULT_POINTS, type WorkerFaultPoint } from '../fault-points.ts';
import type { Execution } from './execution.ts';

/** @internal Chaos testing: terminate subtask threads at random moments, seeded. */
export interface FaultInjection {
  /** Seed of the random schedule (print it so a failure can be replayed). */
  readonly seed: number;
  /** How many kills in total over the job's life. */
  readonly kills: number;
  /** Upper bound of the random delay before each kill within an attempt, ms. */
  readonly maxDelayMs: number;
  /**
   * Where kills may land, one picked at random per attempt: 'random' (a random moment),
   * 'after-trigger' (0–30 ms after a checkpoint trigger: barriers in flight, snapshots being
   * written), 'before-notify' (a checkpoint's `_metadata` is durable, no sink has committed), or
   * inside a subtask's work — 'lsm-flush', 'lsm-compaction', 'lsm-upload' (src/fault-points.ts):
   * the victim's thread ends at the 1st–3rd time it reaches the point (killed anyway after
   * 3 × maxDelayMs if it never does, e.g. a subtask without LSM state). Default ['random'].
   */
  readonly points?: readonly FaultPoint[];
  /**
   * Kill the whole process (SIGKILL to itself) at the n-th registry write or shared-file
   * deletion of the shared-state registry: for tests that resume afterwards in a new process.
   */
  readonly processCrash?: { readonly point: ProcessCrashPoint; readonly occurrence: number };
}

export type ProcessCrashPoint = 'registry-update' | 'shared-delete';

export type FaultPoint = 'random' | 'after-trigger' | 'before-notify' | WorkerFaultPoint;

export const FAULT_POINTS: readonly FaultPoint[] = ['random', 'after-trigger', 'before-notify', ...WORKER_FAULT_POINTS];


/** Arms at most one kill per attempt while kills are left. */
export class FaultInjector {
  readonly #config: FaultInjection;
  readonly #random: () => number;
  #killsLeft: number;
  #armed: { point: FaultPoint; kill: () => void } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #processSteps = 0;

  constructor(config: FaultInjection) {
    this.#config = config;
    this.#random = seededRandom(config.seed);
    this.#killsLeft = config.kills;
  }

  /**
   * Arms the kill of one random subtask of this attempt. A checkpoint-bound kill waits for the
   * next trigger or completion, and lands anyway if none comes in time.
   */
  arm(execution: Execution, subtasks: number, armWorker: (subtask: number, point: WorkerFaultPoint, occurrence: number) => void): void {
    this.disarm();
    if (this.#killsLeft <= 0) return;
    const points = this.#config.points ?? ['random'];
    const point = points[Math.floor(this.#random() * points.length)]!;
    const victim = Math.floor(this.#random() * subtasks);
    if (isWorkerPoint(point)) {
      this.#killsLeft--;
      armWorker(victim, point, 1 + Math.floor(this.#random() * 3));
      this.#timer = setTimeout(() => execution.kill(victim), 3 * this.#config.maxDelayMs);
      return;
    }
    const kill = () => {
      if (this.#armed === undefined || this.#killsLeft <= 0) return;
      this.#armed = undefined;
      this.#killsLeft--;
      execution.kill(victim);
    };
    this.#armed = { point, kill };
    const delay = Math.floor(this.#random() * this.#config.maxDelayMs) + (point === 'random' ? 0 : this.#config.maxDelayMs);
    this.#timer = setTimeout(kill, delay);
  }

  disarm(): void {
    clearTimeout(this.#timer);
    this.#armed = undefined;
  }

  /** Hook: the shared-state registry is about to write its catalog or delete a file. */
  onRegistryStep(step: ProcessCrashPoint): void {
    const crash = this.#config.processCrash;
    if (crash === undefined || crash.point !== step) return;
    if (++this.#processSteps < crash.occurrence) return;
    process.kill(process.pid, 'SIGKILL');
  }

  /** Hook: a checkpoint was triggered. */
  onTriggered(): void {
    const armed = this.#armed;
    if (armed?.point === 'after-trigger') setTimeout(armed.kill, Math.floor(this.#random() * 30));
  }

  /** Hook: a checkpoint's `_metadata` is durable, no subtask notified yet. */
  beforeNotify(): void {
    if (this.#armed?.point === 'before-notify') this.#armed.kill();
  }
}

function isWorkerPoint(point: FaultPoint): point is WorkerFaultPoint {
  return (WORKER_FAULT_POINTS as readonly string[]).includes(point);
}

/** A small seeded PRNG (mulberry32) for reproducible fault injection. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
