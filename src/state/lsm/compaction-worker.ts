/**
 * The compaction merge, run on a worker thread of its own: file paths in, SST files out. One such
 * thread per LSM tree (started by compaction-thread.ts on the tree's first compaction, ended when
 * the tree closes), so a merge of many megabytes never runs on the subtask's event loop. It
 * reads its inputs with its own descriptors (no block cache: each block is read once), writes
 * the outputs at the paths the tree reserved, and answers with their lengths and checksums; the
 * tree opens and installs them.
 *
 * Messages (structured clone): in `CompactionRequest` or `{ type: 'abort', id }`; out
 * `CompactionReply`. An abort is seen at the next write (every WRITE_BATCH_BYTES of output).
 */
import { basename } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { loadChecksum } from '../../storage/state-file.ts';
import { WRITE_BATCH_BYTES } from './compaction.ts';
import { FdSource, SstFileWriter, loadStreamingChecksum, syncFile } from './sst-file.ts';
import { SstReader, type SstWriterOptions } from './sst-format.ts';
import { concatenated, mergeNewestFirst, type Entry } from './version.ts';

export interface CompactionRequest {
  readonly type: 'compact';
  readonly id: number;
  /** Files of the compacted level, in the plan's order (L0 newest first). */
  readonly inputs: readonly string[];
  /** Files of the output level meeting them, ascending. */
  readonly overlaps: readonly string[];
  readonly bottommost: boolean;
  /** Paths reserved for outputs, in key order; the last one takes whatever is left. */
  readonly outputs: readonly string[];
  readonly targetFileBytes: number;
  readonly writerOptions: SstWriterOptions;
}

export interface WrittenOutput {
  readonly path: string;
  readonly byteLength: number;
  readonly checksum: string;
}

export type CompactionReply =
  | { readonly id: number; readonly outputs: readonly WrittenOutput[]; readonly entries: number }
  | { readonly id: number; readonly aborted: true }
  | { readonly id: number; readonly error: { readonly message: string; readonly code?: string } };

class Aborted extends Error {}

const aborted = new Set<number>();
const ready = Promise.all([loadChecksum(), loadStreamingChecksum()]);

parentPort?.on('message', (message: CompactionRequest | { type: 'abort'; id: number }) => {
  if (message.type === 'abort') {
    aborted.add(message.id);
    return;
  }
  void ready
    .then(() => compact(message))
    .then(
      (result): CompactionReply => ({ id: message.id, ...result }),
      (error: unknown): CompactionReply =>
        error instanceof Aborted
          ? { id: message.id, aborted: true }
          : { id: message.id, error: { message: (error as Error)?.message ?? String(error), code: (error as { code?: string })?.code } },
    )
    .then((reply) => {
      aborted.delete(message.id);
      parentPort!.postMessage(reply);
    });
});

async function compact(request: CompactionRequest): Promise<{ outputs: WrittenOutput[]; entries: number }> {
  const open = (path: string): SstReader => SstReader.open(new FdSource(path), basename(path));
  const inputs: SstReader[] = [];
  const outputs: WrittenOutput[] = [];
  let writer: SstFileWriter | undefined;
  let entries = 0;
  try {
    for (const path of request.inputs) inputs.push(open(path));
    const overlaps: SstReader[] = [];
    for (const path of request.overlaps) {
      const reader = open(path);
      inputs.push(reader);
      overlaps.push(reader);
    }
    const sources: Iterator<Entry>[] = inputs.slice(0, request.inputs.length).map((r) => r.entries(undefined, undefined, false, true));
    if (overlaps.length > 0) sources.push(concatenated(overlaps.map((reader) => ({ reader })), undefined, undefined, false, true));
    const merged = mergeNewestFirst(sources, request.bottommost);
    try {
      for (const [key, value] of merged) {
        writer ??= await SstFileWriter.create(request.outputs[outputs.length]!, request.writerOptions);
        writer.add(key, value);
        entries++;
        const last = outputs.length === request.outputs.length - 1;
        if (!last && writer.fileBytes >= request.targetFileBytes) {
          outputs.push({ path: writer.path, ...(await writer.finish(false)) });
          writer = undefined;
          checkAbort(request.id);
        } else if (writer.bufferedBytes >= WRITE_BATCH_BYTES) {
          await writer.writeBuffered();
          checkAbort(request.id);
        }
      }
      if (writer !== undefined) {
        outputs.push({ path: writer.path, ...(await writer.finish(false)) });
        writer = undefined;
      }
    } finally {
      merged.return?.();
    }
    // All outputs durable before the reply (the tree lists them in its manifest right after).
    await Promise.all(outputs.map((o) => syncFile(o.path)));
    return { outputs, entries };
  } catch (error) {
    // Finished outputs are left for the tree, which removes every reserved path it does not install.
    await writer?.discard();
    throw error;
  } finally {
    for (const reader of inputs) reader.close();
  }
}

function checkAbort(id: number): void {
  if (aborted.has(id)) throw new Aborted();
}
