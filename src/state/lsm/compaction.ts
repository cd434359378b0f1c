/**
 * Leveled compaction: which files to merge next (a pure function of the version) and the merge
 * itself in slices on the subtask's event loop (`runCompaction`, used when the tree has no
 * compaction thread: it yields every TIME_SLICE_MS and at every write, so a put or get never
 * waits behind it for long), plus the slice timing that flushes share. The merge on a thread of
 * its own is compaction-worker.ts. `LsmTree` schedules compactions after flushes and installs
 * their results.
 *
 * Picking (LevelDB's scores): L0 scores files / l0CompactionTrigger; level n ≥ 1 scores
 * bytes / (baseBytes × multiplier^(n−1)). The highest score ≥ 1 is compacted:
 *   - L0 → L1: every L0 file (they overlap each other) plus the L1 files meeting their range;
 *   - Ln → Ln+1: one file, round-robin through the level (a per-level cursor, as LevelDB's
 *     compact pointer), plus the Ln+1 files meeting its range.
 * The merge keeps only the newest version of each key; it drops tombstones only when no deeper
 * level holds a file meeting the compaction's key range (then no older version can be
 * uncovered). Outputs are cut once their file reaches `targetFileBytes`.
 */
import { MAX_LEVELS } from './manifest.ts';
import { compareKeys } from './sst-block.ts';
import { concatenated, mergeNewestFirst, type Entry, type SstHandle, type Version } from './version.ts';

/** Longest stretch of synchronous merge work before yielding to the event loop. */
export const TIME_SLICE_MS = 4;

export interface CompactionPolicy {
  readonly l0CompactionTrigger: number;
  /** Target bytes of L1; level n holds baseLevelBytes × levelSizeMultiplier^(n−1). */
  readonly baseLevelBytes: number;
  readonly levelSizeMultiplier: number;
}

export interface CompactionPlan {
  readonly level: number;
  readonly outputLevel: number;
  /** Files of `level`, newest first for L0. */
  readonly inputs: readonly SstHandle[];
  /** Files of `outputLevel` meeting the inputs' range, ascending. */
  readonly overlaps: readonly SstHandle[];
  /** No deeper file meets the range: tombstones can be dropped. */
  readonly bottommost: boolean;
}

export function levelTargetBytes(policy: CompactionPolicy, level: number): number {
  return policy.baseLevelBytes * policy.levelSizeMultiplier ** (level - 1);
}

/**
 * The next compaction, or undefined when every level is within its budget. `cursors[level]` is
 * the largest key of the last file compacted out of that level (updated by the caller).
 */
export function pickCompaction(version: Version, policy: CompactionPolicy, cursors: readonly (Uint8Array | undefined)[]): CompactionPlan | undefined {
  let bestLevel = -1;
  let bestScore = 1;
  for (let level = 0; level < MAX_LEVELS - 1; level++) {
    const score = level === 0 ? version.levels[0]!.length / policy.l0CompactionTrigger : version.levelBytes(level) / levelTargetBytes(policy, level);
    if (score >= bestScore) {
      bestScore = score;
      bestLevel = level;
    }
  }
  if (bestLevel < 0) return undefined;
  const level = bestLevel;
  let inputs: SstHandle[];
  if (level === 0) {
    inputs = [...version.levels[0]!];
  } else {
    const files = version.levels[level]!;
    const cursor = cursors[level];
    const next = cursor === undefined ? undefined : files.find((f) => compareKeys(f.smallest, cursor) > 0);
    inputs = [next ?? files[0]!];
  }
  const [smallest, largest] = keyRange(inputs);
  const overlaps = version.overlapping(level + 1, smallest, largest);
  const [allSmallest, allLargest] = keyRange([...inputs, ...overlaps]);
  let bottommost = true;
  for (let deeper = level + 2; deeper < MAX_LEVELS && bottommost; deeper++) {
    if (version.overlapping(deeper, allSmallest, allLargest).length > 0) bottommost = false;
  }
  return { level, outputLevel: level + 1, inputs, overlaps, bottommost };
}

/**
 * Times the synchronous stretches of one background job (a flush or a compaction): every leaf
 * await of the job (on I/O, a yield, another job) goes through `wait`, which closes the current
 * slice before waiting and opens the next after, so `record` sees each stretch the job kept the
 * event loop. Awaits on the job's own async helpers (which time their leaf awaits themselves) are
 * not wrapped: the helper's synchronous start runs in the caller's slice, and its synchronous end
 * and the caller's continuation run in the slice its last leaf wait opened (one macrotask).
 */
export class SliceTimer {
  readonly #record: (ms: number) => void;
  #start = performance.now();

  constructor(record: (ms: number) => void) {
    this.#record = record;
  }

  /** Ends the current slice, waits for `promise`, starts the next slice. */
  async wait<T>(promise: Promise<T>): Promise<T> {
    this.end();
    try {
      return await promise;
    } finally {
      this.#start = performance.now();
    }
  }

  /** Yields to the event loop once the current slice has run TIME_SLICE_MS; true if it yielded. */
  async maybeYield(): Promise<boolean> {
    if (performance.now() - this.#start < TIME_SLICE_MS) return false;
    await this.wait(yieldToEventLoop());
    return true;
  }

  /** Records the current slice (at the job's end, or before a wait). */
  end(): void {
    this.#record(performance.now() - this.#start);
  }
}

/**
 * One output table being built: entries in (synchronously, ascending), a durable, opened file out.
 * `LsmTree` writes it to disk as it goes (`SstFileWriter`); tests may build it in memory. Its
 * async methods time their own waits on the job's SliceTimer (callers do not wrap them).
 */
export interface TableBuilder {
  add(key: Uint8Array, value: Uint8Array | null): void;
  /** Bytes of the table so far (finished data blocks). */
  readonly fileBytes: number;
  /** Finished data blocks not yet written. */
  readonly bufferedBytes: number;
  /** Writes the finished blocks so far. */
  writeBuffered(): Promise<void>;
  /** Writes the rest, makes the file durable and opens it. Listed nowhere until installed. */
  finish(): Promise<SstHandle>;
  /** Closes and removes a table that will not be finished. */
  discard(): Promise<void>;
}

/** Finished blocks are written once this many bytes are buffered (each write is also a yield). */
export const WRITE_BATCH_BYTES = 512 * 1024;

export interface CompactionContext {
  /** Cut an output once its file reaches this many bytes. */
  readonly targetFileBytes: number;
  /** Starts an output table of `level` (timing its own waits, like the table's methods). */
  createTable(level: number): Promise<TableBuilder>;
  /** Throws to abandon the compaction (the tree is closing); checked after every wait. */
  checkContinue(): void;
  /** Times the compaction's slices; every await goes through it. */
  readonly timer: SliceTimer;
}

export interface CompactionResult {
  readonly outputs: SstHandle[];
  readonly entriesIn: number;
  readonly entriesOut: number;
  readonly bytesWritten: number;
}

/**
 * Merges the plan's files into new files of `outputLevel`, cut at `targetFileBytes`. Outputs are
 * written but not installed; on failure the unfinished output is discarded and the error
 * rethrown (finished outputs are the caller's to remove: it created them).
 */
export async function runCompaction(plan: CompactionPlan, context: CompactionContext): Promise<CompactionResult> {
  const { timer } = context;
  // Compaction reads each block once: keep them out of the block cache (fillCache false).
  const sources: Iterator<Entry>[] = plan.inputs.map((f) => f.reader.entries(undefined, undefined, false, true));
  if (plan.overlaps.length > 0) sources.push(concatenated(plan.overlaps, undefined, undefined, false, true));
  const merged = mergeNewestFirst(sources, plan.bottommost);
  const outputs: SstHandle[] = [];
  let table: TableBuilder | undefined;
  let entriesIn = 0;
  let entriesOut = 0;
  let bytesWritten = 0;
  const finishTable = async (): Promise<void> => {
    const finished = table!;
    table = undefined;
    const handle = await finished.finish();
    outputs.push(handle);
    bytesWritten += handle.byteLength;
    context.checkContinue();
  };
  try {
    for (const [key, value] of merged) {
      entriesIn++;
      table ??= await context.createTable(plan.outputLevel);
      table.add(key, value);
      entriesOut++;
      if (table.fileBytes >= context.targetFileBytes) {
        await finishTable();
      } else if ((entriesOut & 63) === 0) {
        if (table.bufferedBytes >= WRITE_BATCH_BYTES) {
          await table.writeBuffered();
          context.checkContinue();
        } else if (await timer.maybeYield()) {
          context.checkContinue();
        }
      }
    }
    if (table !== undefined) await finishTable();
  } catch (error) {
    merged.return?.();
    if (table !== undefined) await table.discard();
    throw error;
  }
  timer.end();
  return { outputs, entriesIn, entriesOut, bytesWritten };
}

/** Lets pending I/O callbacks and record processing run (setImmediate: after the poll phase). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function keyRange(files: readonly SstHandle[]): [Uint8Array, Uint8Array] {
  let smallest = files[0]!.smallest;
  let largest = files[0]!.largest;
  for (const f of files) {
    if (compareKeys(f.smallest, smallest) < 0) smallest = f.smallest;
    if (compareKeys(f.largest, largest) > 0) largest = f.largest;
  }
  return [smallest, largest];
}
