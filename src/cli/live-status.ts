/**
 * The CLI's one-line live status while a job runs (elapsed time, the sources' records/s, the
 * last completed checkpoint with its duration and size, restarts), redrawn in place on a terminal; on a pipe or a log file
 * it prints nothing periodic, only warnings (restarts, skipped checkpoints), one line each.
 * Main thread of the CLI process.
 */
import type { CheckpointStats } from '../checkpoint/checkpoint-coordinator.ts';

const REDRAW_MS = 500;

export class LiveStatus {
  readonly #out: NodeJS.WriteStream;
  readonly #live: boolean;
  readonly #started = performance.now();
  #last: CheckpointStats | undefined;
  #restarts = 0;
  #recordsPerSecond: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #drawn = false;

  constructor(out: NodeJS.WriteStream, enabled: boolean) {
    this.#out = out;
    this.#live = enabled && out.isTTY === true;
    if (this.#live) {
      this.#timer = setInterval(() => this.#draw(), REDRAW_MS);
      this.#timer.unref();
    }
  }

  checkpoint(stats: CheckpointStats): void {
    this.#last = stats;
  }

  progress(recordsPerSecond: number): void {
    this.#recordsPerSecond = recordsPerSecond;
  }

  warn(message: string): void {
    if (/restarting/.test(message)) this.#restarts++;
    this.#clear();
    this.#out.write(`weir: ${message}\n`);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
  }

  #draw(): void {
    const seconds = ((performance.now() - this.#started) / 1000).toFixed(1);
    const last = this.#last;
    const checkpoint =
      last === undefined ? 'no checkpoint yet' : `checkpoint ${last.id} (${last.endToEndDurationMs} ms, ${formatBytes(last.stateSize)})`;
    const restarts = this.#restarts > 0 ? ` · ${this.#restarts} restart(s)` : '';
    const rate = this.#recordsPerSecond === undefined ? '' : ` · ${formatRate(this.#recordsPerSecond)} records/s`;
    this.#out.write(`\r\x1b[Krunning ${seconds} s${rate} · ${checkpoint}${restarts}`);
    this.#drawn = true;
  }

  #clear(): void {
    if (!this.#drawn) return;
    this.#out.write('\r\x1b[K');
    this.#drawn = false;
  }
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k`;
  return perSecond.toFixed(0);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
