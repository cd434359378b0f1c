/**
 * The LSM tree's side of compaction-worker.ts: starts the worker thread on the tree's first
 * compaction, sends it requests, matches replies, and ends it when the tree closes. Runs on the
 * subtask's worker thread; `LsmTree` calls it.
 *
 * The worker's main script is a small CommonJS bootstrap evaluated from a string, so nothing
 * needs to be copied next to the compiled files: it imports compaction-worker.js, or, when Weir
 * runs from TypeScript sources, first registers tsx's ESM hooks (which Node 20 does not carry
 * into worker threads; see src/task/worker-entry.ts) and imports compaction-worker.ts.
 */
import { Worker } from 'node:worker_threads';
import { WeirError, type WeirErrorCode } from '../../errors.ts';
import type { CompactionReply, CompactionRequest } from './compaction-worker.ts';

const FROM_SOURCES = import.meta.url.endsWith('.ts');

const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx !== undefined) (await import(workerData.tsx)).register();
  await import(workerData.module);
})().catch((error) => setImmediate(() => { throw error; }));
`;

interface Pending {
  resolve(reply: CompactionReply): void;
  reject(error: unknown): void;
}

/** One compaction worker thread, started lazily; requests run one after another in it. */
export class CompactionThread {
  #worker: Worker | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  /** Sends a compaction; `done` resolves with the worker's reply (rejects if the thread dies). */
  run(request: Omit<CompactionRequest, 'type' | 'id'>): { id: number; done: Promise<CompactionReply> } {
    const worker = this.#start();
    const id = this.#nextId++;
    const done = new Promise<CompactionReply>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    // Referenced while a request is out, so the process waits for it; idle, it keeps nothing alive.
    if (this.#pending.size === 1) worker.ref();
    worker.postMessage({ ...request, type: 'compact', id } satisfies CompactionRequest);
    return { id, done };
  }

  /** Asks the worker to stop request `id` at its next write; it then replies `aborted`. */
  abort(id: number): void {
    if (this.#pending.has(id)) this.#worker?.postMessage({ type: 'abort', id });
  }

  /** Ends the thread (after the caller awaited its requests). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const module = new URL(`./compaction-worker${FROM_SOURCES ? '.ts' : '.js'}`, import.meta.url).href;
    const tsx = FROM_SOURCES ? import.meta.resolve('tsx/esm/api') : undefined;
    // execArgv []: the bootstrap registers tsx itself; an inherited --import tsx would do it twice.
    const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { module, tsx }, execArgv: [] });
    worker.unref();
    worker.on('message', (reply: CompactionReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      pending.resolve(reply);
    });
    const failAll = (error: unknown): void => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    worker.on('error', (error) => failAll(new WeirError('WEIR_INTERNAL', `the LSM compaction thread failed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => failAll(new WeirError('WEIR_INTERNAL', `the LSM compaction thread exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }
}

/** The error a worker reply carries, rebuilt on this thread. */
export function replyError(error: { readonly message: string; readonly code?: string }): WeirError {
  const code = (error.code?.startsWith('WEIR_') === true ? error.code : 'WEIR_CHECKPOINT_IO') as WeirErrorCode;
  return new WeirError(code, `compaction failed: ${error.message}`);
}
