/**
 * Leveled compaction: which files to merge next (a pure function of the version) and the merge
 * itself, which writes the outputs through a callback. Runs asynchronously on the subtask's
 * worker thread, on the same event loop as record processing for now (not yet on the background
 * pool): it yields to the loop every TIME_SLICE_MS so a put or get never waits behind it for long.
 * `LsmTree` schedules it after flushes and installs its result.
 *
 * Picking (LevelDB's scores): L0 scores files / l0CompactionTrigger; level n ≥ 1 scores
 * bytes / (baseBytes × multiplier^(n−1)). The highest score ≥ 1 is compacted:
 *   - L0 → L1: every L0 file (they overlap each other) plus the L1 files meeting their range;
 *   - Ln → Ln+1: one file, round-robin through the level (a per-level cursor, as LevelDB's
 *     compact pointer), plus the Ln+1 files meeting its range.
 * The merge keeps only the newest version of each key; it drops tombstones only when no deeper
 * level holds a file meeting the compaction's key range (then no older version can be
 * uncovered). Outputs are cut at `targetFileBytes` of keys and values.
 */
import { MAX_LEVELS } from './manifest.ts';
import { SstWriter, type SstWriterOptions } from './sst-format.ts';
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

export interface CompactionContext {
  readonly writerOptions: SstWriterOptions;
  /** Cut an output once its keys and values reach this many bytes. */
  readonly targetFileBytes: number;
  /** Writes one finished SST durably and opens it; the compaction's outputs, in key order. */
  writeTable(bytes: Uint8Array, level: number): Promise<SstHandle>;
  /** Throws to abandon the compaction (the tree is closing); checked at every yield. */
  checkContinue(): void;
  /** Records the length of each synchronous stretch, for the worst-pause figure. */
  recordSlice(ms: number): void;
}

export interface CompactionResult {
  readonly outputs: SstHandle[];
  readonly entriesIn: number;
  readonly entriesOut: number;
  readonly bytesWritten: number;
}

/** Merges the plan's files into new files of `outputLevel`. Outputs are written but not installed. */
export async function runCompaction(plan: CompactionPlan, context: CompactionContext): Promise<CompactionResult> {
  const sources: Iterator<Entry>[] = plan.inputs.map((f) => f.reader.entries());
  if (plan.overlaps.length > 0) sources.push(concatenated(plan.overlaps));
  const outputs: SstHandle[] = [];
  let writer: SstWriter | undefined;
  let writerBytes = 0;
  let entriesIn = 0;
  let entriesOut = 0;
  let bytesWritten = 0;
  let sliceStart = performance.now();
  const finishTable = async (): Promise<void> => {
    const bytes = writer!.finish();
    writer = undefined;
    writerBytes = 0;
    context.recordSlice(performance.now() - sliceStart);
    outputs.push(await context.writeTable(bytes, plan.outputLevel));
    bytesWritten += bytes.byteLength;
    context.checkContinue();
    sliceStart = performance.now();
  };
  for (const [key, value] of mergeNewestFirst(sources)) {
    entriesIn++;
    if (value !== null || !plan.bottommost) {
      writer ??= new SstWriter(context.writerOptions);
      writer.add(key, value);
      writerBytes += key.byteLength + (value?.byteLength ?? 0);
      entriesOut++;
      if (writerBytes >= context.targetFileBytes) await finishTable();
    }
    if ((entriesIn & 255) === 0 && performance.now() - sliceStart >= TIME_SLICE_MS) {
      context.recordSlice(performance.now() - sliceStart);
      await yieldToEventLoop();
      context.checkContinue();
      sliceStart = performance.now();
    }
  }
  if (writer !== undefined) await finishTable();
  context.recordSlice(performance.now() - sliceStart);
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
