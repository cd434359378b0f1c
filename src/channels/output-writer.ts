/**
 * OutputWriter: the producer end of one job edge. Picks the channel(s) for each record,
 * encodes it with the channel's encoder and appends the frame to that channel's ring; a full
 * ring is backpressure, so the writer blocks the subtask thread until the consumer frees room.
 * Runs on the producer subtask's worker thread; one per output edge of a chain.
 */
import { WeirError } from '../errors.ts';
import {
  BARRIER_PAYLOAD_BYTES,
  FRAME_BARRIER,
  FRAME_END_OF_PARTITION,
  FRAME_KEYED_RECORD,
  FRAME_RECORD,
  FRAME_TIMESTAMPED_KEYED_RECORD,
  FRAME_TIMESTAMPED_RECORD,
  FRAME_WATERMARK,
  FRAME_WATERMARK_STATUS,
  frameBytes,
  KEY_GROUP_PREFIX_BYTES,
  KEYED_TIMESTAMP_PREFIX_BYTES,
  TIMESTAMP_PREFIX_BYTES,
  WATERMARK_PAYLOAD_BYTES,
  WATERMARK_STATUS_PAYLOAD_BYTES,
  writeBarrier,
  writeTimestamp,
  writeWatermark,
  type Barrier,
} from './frame-codec.ts';
import type { RecordCodec, RecordEncoder } from './record-codec.ts';
import { Doorbell } from './doorbell.ts';
import { RingWriter } from './ring-buffer.ts';

/** `selectChannel` returns this when a record goes to every channel (broadcast). */
export const ALL_CHANNELS = -1;

export interface ChannelSelector {
  selectChannel(record: unknown): number;
  /** For key-hash selectors: the key group behind the last selection; otherwise −1. */
  readonly lastKeyGroup: number;
}

/**
 * The event timestamp of the record being emitted (NaN: it has none), shared by a subtask's
 * operators and writers: whoever hands a record on sets it first (the input gate's handler, a
 * source's timestamp assigner, a window or timer emitting), and writers read it.
 */
export interface RecordTime {
  value: number;
}

export interface OutputChannel {
  readonly ring: SharedArrayBuffer;
  /** The consumer subtask's doorbell. */
  readonly doorbell: SharedArrayBuffer;
}

/** Free bytes per channel for the outputs to count as available (see hasRoom). */
const AVAILABILITY_BYTES = 1024;
/** How long one blocking wait for space lasts before the writer checks for cancellation. */
const BLOCK_SLICE_MS = 50;
const EMPTY = new Uint8Array(0);

export class OutputWriter {
  readonly #writers: RingWriter[];
  readonly #encoders: RecordEncoder[];
  readonly #selector: ChannelSelector;
  /** Records carry their key group (KEYED_RECORD frames), so consumers need not hash again. */
  readonly #keyed: boolean;
  readonly #isCanceled: () => boolean;
  /** Called before blocking on a full ring: publish everything else so no consumer starves. */
  readonly #beforeBlock: () => void;
  readonly #barrierScratch = new Uint8Array(BARRIER_PAYLOAD_BYTES);
  readonly #watermarkScratch = new Uint8Array(WATERMARK_PAYLOAD_BYTES);
  readonly #statusScratch = new Uint8Array(WATERMARK_STATUS_PAYLOAD_BYTES);
  readonly #time: RecordTime;
  /** Side output this writer's edge reads (undefined: the main output). */
  readonly tag: string | undefined;
  /** Milliseconds spent blocked on full rings (backpressure), for metrics. */
  backpressuredMs = 0;

  constructor(
    channels: readonly OutputChannel[],
    selector: ChannelSelector,
    codec: RecordCodec,
    isCanceled: () => boolean,
    beforeBlock: () => void,
    keyed = false,
    time: RecordTime = { value: Number.NaN },
    tag?: string,
  ) {
    this.#keyed = keyed;
    this.#time = time;
    this.tag = tag;
    this.#writers = channels.map((c) => new RingWriter(c.ring, new Doorbell(c.doorbell)));
    this.#encoders = channels.map(() => codec.createEncoder());
    this.#selector = selector;
    this.#isCanceled = isCanceled;
    this.#beforeBlock = beforeBlock;
  }

  get numberOfChannels(): number {
    return this.#writers.length;
  }

  emit(record: unknown): void {
    if (this.#keyed) {
      const channel = this.#selector.selectChannel(record);
      this.#emitKeyed(channel, record, this.#selector.lastKeyGroup);
      return;
    }
    const channel = this.#writers.length === 1 ? 0 : this.#selector.selectChannel(record);
    if (channel === ALL_CHANNELS) {
      for (let c = 0; c < this.#writers.length; c++) this.#emitTo(c, record);
    } else {
      this.#emitTo(channel, record);
    }
  }

  /** Sends a checkpoint barrier on every channel, behind the records already written. */
  emitBarrier(barrier: Barrier): void {
    const length = writeBarrier(barrier, this.#barrierScratch, 0);
    // Every consumer hears of the barrier now, ahead of the frames queued before it (all announced
    // before any in-band frame, which may have to wait for room): an unaligned barrier starts its
    // checkpoint there; an aligned one lets a consumer whose alignment times out switch to
    // unaligned knowing where this channel's barrier is.
    for (const writer of this.#writers) writer.announceBarrier(barrier.checkpointId, barrier.timestamp, barrier.unaligned);
    for (let c = 0; c < this.#writers.length; c++) this.#write(c, FRAME_BARRIER, this.#barrierScratch, length);
  }

  /** Event time has reached `timestamp` on this producer: sent to every channel. */
  emitWatermark(timestamp: number): void {
    const length = writeWatermark(timestamp, this.#watermarkScratch, 0);
    for (let c = 0; c < this.#writers.length; c++) this.#write(c, FRAME_WATERMARK, this.#watermarkScratch, length);
  }

  /** This producer went idle (holds no watermark back) or active again: sent to every channel. */
  emitWatermarkStatus(idle: boolean): void {
    this.#statusScratch[0] = idle ? 1 : 0;
    for (let c = 0; c < this.#writers.length; c++) this.#write(c, FRAME_WATERMARK_STATUS, this.#statusScratch, WATERMARK_STATUS_PAYLOAD_BYTES);
  }

  /** Tells every consumer this producer is done: no frame follows. */
  endOfPartition(): void {
    for (let c = 0; c < this.#writers.length; c++) this.#write(c, FRAME_END_OF_PARTITION, EMPTY, 0);
  }

  /**
   * True when every channel has room for a frame of AVAILABILITY_BYTES: the subtask then takes
   * its next input, and a record rarely has to block half-way through its output. A subtask
   * whose outputs are full waits between records (waitForRoomAsync) instead, where it can still
   * take part in checkpoints (Flink's output availability).
   */
  hasRoom(): boolean {
    for (const writer of this.#writers) if (!writer.hasRoom(Math.min(AVAILABILITY_BYTES, frameBytes(writer.maxPayload)))) return false;
    return true;
  }

  /** Waits (without blocking the event loop) up to `timeoutMs` for the first full channel to free room. */
  async waitForRoomAsync(timeoutMs: number): Promise<void> {
    for (const writer of this.#writers) {
      const bytes = Math.min(AVAILABILITY_BYTES, frameBytes(writer.maxPayload));
      if (!writer.hasRoom(bytes)) {
        const started = performance.now();
        await writer.waitForSpaceAsync(bytes, timeoutMs);
        this.backpressuredMs += performance.now() - started;
        return;
      }
    }
  }

  /** Publishes everything written so far. */
  flush(): void {
    for (const writer of this.#writers) writer.flush();
  }

  #emitTo(channel: number, record: unknown): void {
    const encoder = this.#encoders[channel]!;
    const timestamp = this.#time.value;
    if (timestamp !== timestamp) {
      // NaN: no event timestamp.
      const length = encoder.encode(record);
      this.#write(channel, FRAME_RECORD, encoder.buffer, length);
      return;
    }
    const length = encoder.encode(record, TIMESTAMP_PREFIX_BYTES);
    writeTimestamp(timestamp, encoder.buffer, 0);
    this.#write(channel, FRAME_TIMESTAMPED_RECORD, encoder.buffer, length);
  }

  #emitKeyed(channel: number, record: unknown, keyGroup: number): void {
    const encoder = this.#encoders[channel]!;
    const timestamp = this.#time.value;
    const timed = timestamp === timestamp;
    const length = encoder.encode(record, timed ? KEYED_TIMESTAMP_PREFIX_BYTES : KEY_GROUP_PREFIX_BYTES);
    const buffer = encoder.buffer;
    // u32 little-endian key group; maxParallelism ≤ 32768, so the upper bytes are zero.
    buffer[0] = keyGroup & 0xff;
    buffer[1] = keyGroup >>> 8;
    buffer[2] = 0;
    buffer[3] = 0;
    if (!timed) {
      this.#write(channel, FRAME_KEYED_RECORD, buffer, length);
      return;
    }
    writeTimestamp(timestamp, buffer, KEY_GROUP_PREFIX_BYTES);
    this.#write(channel, FRAME_TIMESTAMPED_KEYED_RECORD, buffer, length);
  }

  #write(channel: number, type: number, payload: Uint8Array, length: number): void {
    const writer = this.#writers[channel]!;
    if (writer.tryWrite(type, payload, 0, length)) return;
    if (length > writer.maxPayload) {
      throw new WeirError(
        'WEIR_RECORD_TOO_LARGE',
        `a record of ${length} encoded bytes exceeds the largest frame of a ${writer.capacity}-byte channel ring (${writer.maxPayload} bytes): raise options.ringBytes`,
        { context: { bytes: length, ringBytes: writer.capacity } },
      );
    }
    this.#beforeBlock();
    const started = performance.now();
    const needed = frameBytes(length);
    while (!writer.tryWrite(type, payload, 0, length)) {
      if (this.#isCanceled()) throw new WeirError('WEIR_JOB_CANCELED', 'the job was canceled while a subtask waited for output space');
      writer.waitForSpaceSync(needed, BLOCK_SLICE_MS);
    }
    this.backpressuredMs += performance.now() - started;
  }
}
