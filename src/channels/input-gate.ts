/**
 * InputGate: the consumer end of all channels feeding one subtask. Reads frames round robin
 * across channels (a bounded number per channel per turn, so no producer starves the rest),
 * decodes records and hands them to the task, aligns checkpoint barriers (BarrierAligner: a
 * blocked channel is not read) and tracks end-of-partition per channel.
 * Runs on the consumer subtask's worker thread.
 */
import { WeirError } from '../errors.ts';
import { BarrierAligner, type AlignmentMode } from './barrier-aligner.ts';
import { ChannelStateCapture, visitRecordFrame, type CapturedChannelState } from './channel-state-capture.ts';
import { DebloatDriver, type DebloatSettings } from './debloat-driver.ts';
import {
  FRAME_BARRIER,
  FRAME_END_OF_PARTITION,
  FRAME_KEYED_RECORD,
  encodeHeader,
  FRAME_HEADER_BYTES,
  FRAME_RECORD,
  FRAME_TIMESTAMPED_KEYED_RECORD,
  FRAME_TIMESTAMPED_RECORD,
  FRAME_WATERMARK,
  FRAME_WATERMARK_STATUS,
  forEachFrame,
  frameBytes,
  KEY_GROUP_PREFIX_BYTES,
  KEYED_TIMESTAMP_PREFIX_BYTES,
  readBarrier,
  readTimestamp,
  readWatermark,
  readWatermarkStatus,
  TIMESTAMP_PREFIX_BYTES,
  writeTimestamp,
  type Barrier,
} from './frame-codec.ts';
import type { RecordCodec, RecordDecoder, RecordEncoder } from './record-codec.ts';
import { RingReader } from './ring-buffer.ts';

/**
 * What the gate hands on. Records come with their event timestamp (NaN: none) and the number of
 * the input they arrived on (0, or 1 for the second input of a two-input operator).
 */
export interface InputHandler {
  processRecord(record: unknown, timestamp: number, input: number): void;
  /** A record of a hash edge, with the key group the producer computed for it. */
  processKeyedRecord(record: unknown, keyGroup: number, timestamp: number, input: number): void;
  /**
   * The gate's event time advanced: the minimum of the watermarks of its channels, leaving out
   * idle and ended ones (Flink's StatusWatermarkValve). Called only with increasing values.
   */
  processWatermark(timestamp: number): void;
  /** Every open channel went idle (true), or one became active again (false). */
  processWatermarkStatus(idle: boolean): void;
  /**
   * Take the checkpoint now: every open channel delivered this barrier (aligned), the last one
   * did (at-least-once), or the first one announced it (unaligned).
   */
  processBarrier(barrier: Barrier, alignment?: AlignmentStats): void;
  /** Unaligned checkpoints: the in-flight frames of every channel, once all barriers are placed. */
  channelStateComplete?(state: CapturedChannelState): void;
}

const EMPTY_BYTES = new Uint8Array(0);

/** How a checkpoint's barriers were aligned at this gate (Flink's alignment_duration, processed_data). */
export interface AlignmentStats {
  /** From the first channel's barrier to the snapshot (0 for unaligned). */
  readonly durationMs: number;
  /** Bytes of input processed meanwhile (channels not yet blocked). */
  readonly processedBytes: number;
}

/** Frames read from one channel before moving on to the next. */
const FRAMES_PER_TURN = 256;
/** Barrier announcements and output room are checked every this many frames (+1) within a turn. */
const CHECK_MASK = 15;

export class InputGate {
  readonly #readers: RingReader[];
  readonly #decoders: RecordDecoder[];
  readonly #ended: boolean[];
  readonly #aligner: BarrierAligner;
  readonly #capture: ChannelStateCapture;
  readonly #codec: RecordCodec;
  /** Per channel, re-encodes captured records into a self-contained stream (fresh per checkpoint). */
  #captureEncoders: Array<RecordEncoder | undefined>;
  #outputsAvailable: (() => boolean) | undefined;
  /** Bytes consumed from all channels so far; and where the current alignment started. */
  #consumedBytes = 0;
  #alignmentStart: { checkpointId: number; at: number; consumed: number } | undefined;
  /** Aligned checkpoints switch to unaligned this long after their trigger (undefined: never). */
  readonly #alignedTimeoutMs: number | undefined;
  /** Per channel, the latest announced aligned barrier (where it will be in the ring). */
  readonly #alignedAnnounced: Array<{ checkpointId: number; position: number; timestamp: number } | undefined>;
  #stalled = false;
  #deadline = Infinity;
  #timedOut = false;
  #open: number;
  #next = 0;
  /** Buffer debloating of this gate's channels (undefined: off); the run loop pauses it when the gate runs dry. */
  readonly debloat: DebloatDriver | undefined;
  /** Records read per channel, for metrics and tests. */
  readonly recordsPerChannel: number[];
  /** The input (0 or 1) each channel belongs to. */
  readonly #inputOf: readonly number[];
  /** Per channel, the last watermark it delivered, and whether it is idle. */
  readonly #watermarks: Float64Array;
  readonly #idle: boolean[];
  /** The combined watermark last handed on, and whether the gate as a whole is idle. */
  #watermark = -Infinity;
  #gateIdle = false;

  constructor(
    rings: readonly SharedArrayBuffer[],
    codec: RecordCodec,
    alignment: AlignmentMode = 'aligned',
    debloat?: DebloatSettings,
    alignedTimeoutMs?: number,
    inputOf: readonly number[] = [],
  ) {
    this.#inputOf = rings.map((_, c) => inputOf[c] ?? 0);
    this.#watermarks = new Float64Array(rings.length).fill(-Infinity);
    this.#idle = rings.map(() => false);
    this.#alignedTimeoutMs = alignedTimeoutMs;
    this.#alignedAnnounced = rings.map(() => undefined);
    this.#aligner = new BarrierAligner(rings.length, alignment);
    this.#capture = new ChannelStateCapture(rings.length);
    this.#codec = codec;
    this.#captureEncoders = rings.map(() => undefined);
    this.debloat = debloat === undefined || rings.length === 0 ? undefined : new DebloatDriver(rings, debloat);
    this.#readers = rings.map((ring) => new RingReader(ring));
    this.#decoders = rings.map(() => codec.createDecoder());
    this.#ended = rings.map(() => false);
    this.#open = rings.length;
    this.recordsPerChannel = rings.map(() => 0);
  }

  /** The event time of this gate: the last combined watermark handed on (−∞ before the first). */
  get currentWatermark(): number {
    return this.#watermark;
  }

  /** True once every channel delivered end-of-partition. */
  get finished(): boolean {
    return this.#open === 0;
  }

  /**
   * Processes up to about `maxFrames` frames, starting where the last call stopped, and
   * returns how many it processed (0: nothing is available now).
   */
  poll(handler: InputHandler, maxFrames: number, outputsAvailable?: () => boolean, deadline = Infinity): number {
    const channels = this.#readers.length;
    this.#outputsAvailable = outputsAvailable;
    this.#deadline = deadline;
    this.#readAnnouncements(handler);
    this.#checkAlignmentTimeout(handler);
    let processed = 0;
    let idleChannels = 0;
    this.#stalled = false;
    this.#timedOut = false;
    while (processed < maxFrames && idleChannels < channels && this.#open > 0 && !this.#stalled && !this.#timedOut) {
      const channel = this.#next;
      this.#next = channel + 1 === channels ? 0 : channel + 1;
      const n = this.#ended[channel] || this.#aligner.blocked[channel] ? 0 : this.#drain(channel, handler);
      processed += n;
      idleChannels = n === 0 ? idleChannels + 1 : 0;
    }
    this.#completeCapture(handler);
    this.debloat?.maybeUpdate();
    return processed;
  }

  /**
   * True when the last poll stopped early because the outputs were full: wait for room
   * (checking announcements), not for input.
   */
  get stalledOnOutput(): boolean {
    return this.#stalled;
  }

  /** Takes part in unaligned checkpoints while the subtask waits for output room. */
  checkAnnouncements(handler: InputHandler): void {
    this.#readAnnouncements(handler);
    this.#checkAlignmentTimeout(handler);
  }

  /**
   * Unaligned barriers announced ahead of the data: the first starts the checkpoint at once;
   * each places its channel's barrier, copying the frames queued before it.
   */
  #readAnnouncements(handler: InputHandler): void {
    for (let c = 0; c < this.#readers.length; c++) {
      if (this.#ended[c]) continue;
      const reader = this.#readers[c]!;
      const announced = reader.readAnnouncement();
      if (announced === undefined) continue;
      if (!announced.unaligned) {
        // Kept in case this checkpoint's alignment times out (or already did).
        this.#alignedAnnounced[c] = { checkpointId: announced.checkpointId, position: announced.position, timestamp: announced.timestamp };
        const current = this.#capture.current;
        if (current === undefined || current.checkpointId !== announced.checkpointId || !this.#capture.isSpilling(c)) continue;
        this.#capture.onBarrier(c, current, this.#recode(c, reader.copyUnreadUntil(announced.position)));
        continue;
      }
      if (!this.#capture.wants(c, announced.checkpointId)) continue;
      const barrier: Barrier = { checkpointId: announced.checkpointId, timestamp: announced.timestamp, kind: 0, unaligned: true };
      this.#startIfNew(barrier, handler);
      this.#capture.onBarrier(c, barrier, this.#recode(c, reader.copyUnreadUntil(announced.position)));
    }
    this.#completeCapture(handler);
  }

  #completeCapture(handler: InputHandler): void {
    const complete = this.#capture.takeComplete();
    if (complete !== undefined) handler.channelStateComplete?.(complete);
  }

  #alignmentOf(barrier: Barrier, reader: RingReader, drainStart: number): AlignmentStats {
    const started = this.#alignmentStart;
    if (started === undefined || started.checkpointId !== barrier.checkpointId) return { durationMs: 0, processedBytes: 0 };
    const consumed = this.#consumedBytes + ((reader.position - drainStart) >>> 0);
    return { durationMs: performance.now() - started.at, processedBytes: Math.max(0, consumed - started.consumed) };
  }

  /**
   * The first barrier of a newer checkpoint: fresh capture encoders (channel state is a
   * self-contained stream per channel), then the snapshot (the caller then places the barrier).
   */
  #startIfNew(barrier: Barrier, handler: InputHandler): void {
    if (this.#capture.current?.checkpointId === barrier.checkpointId || !this.#capture.wants(-1, barrier.checkpointId)) return;
    // An alignment of this checkpoint in progress (upstream switched to unaligned): channels that
    // delivered the aligned barrier are placed already.
    const placed = this.#aligner.current?.checkpointId === barrier.checkpointId ? this.#aligner.abandon() : undefined;
    this.#captureEncoders = this.#captureEncoders.map(() => this.#codec.createEncoder());
    this.#capture.begin(barrier, placed);
    handler.processBarrier(barrier);
    this.#placeAnnouncedAligned(barrier);
  }

  /**
   * Aligned checkpoints with a timeout: once the alignment has run `alignedTimeout` past the
   * trigger, this subtask switches the checkpoint to unaligned (Flink's aligned-checkpoint-timeout):
   * snapshot now, forward the barrier as unaligned, store what precedes the barrier on the channels
   * that had not delivered it — up to its announced position where known.
   */
  #checkAlignmentTimeout(handler: InputHandler): void {
    const timeout = this.#alignedTimeoutMs;
    if (timeout === undefined) return;
    // The barrier being aligned, or else one announced but still behind queued data (the timer
    // runs from the trigger either way, as in Flink).
    let pending: Barrier | undefined = this.#aligner.aligning ? this.#aligner.current : undefined;
    if (pending === undefined) {
      for (const announced of this.#alignedAnnounced) {
        if (announced === undefined || announced.checkpointId <= this.#aligner.done || announced.checkpointId <= this.#capture.startedId) continue;
        if (pending === undefined || announced.checkpointId > pending.checkpointId) {
          pending = { checkpointId: announced.checkpointId, timestamp: announced.timestamp, kind: 0, unaligned: false };
        }
      }
    }
    if (pending === undefined || Date.now() - pending.timestamp < timeout) return;
    this.#startIfNew({ ...pending, unaligned: true }, handler);
  }

  /** After a switch: the undelivered channels whose aligned barrier was announced are placed now. */
  #placeAnnouncedAligned(barrier: Barrier): void {
    for (let c = 0; c < this.#readers.length; c++) {
      const announced = this.#alignedAnnounced[c];
      if (announced?.checkpointId !== barrier.checkpointId || !this.#capture.isSpilling(c)) continue;
      this.#capture.onBarrier(c, barrier, this.#recode(c, this.#readers[c]!.copyUnreadUntil(announced.position)));
    }
  }

  /** A record read from a channel being captured: stored re-encoded (keyGroup −1: none; timestamp NaN: none). */
  #spillIfCapturing(channel: number, record: unknown, keyGroup: number, timestamp: number): void {
    if (!this.#capture.isSpilling(channel)) return;
    this.#capture.spill(channel, this.#encodeFrame(channel, record, keyGroup, timestamp));
  }

  /**
   * Frames copied out of the ring ahead of the reader: decoded with a copy of the channel's
   * decoder (its dictionary as of the read position) and re-encoded into the channel state.
   */
  #recode(channel: number, raw: Uint8Array): Uint8Array {
    if (raw.length === 0 || !this.#capture.isSpilling(channel)) return EMPTY_BYTES;
    const live = this.#decoders[channel]!;
    const ahead = live.clone?.() ?? this.#codec.createDecoder();
    const frames: Uint8Array[] = [];
    let length = 0;
    // Watermarks and status frames are not stored: event time restarts from the sources' new
    // watermarks after a restore (Flink does not checkpoint watermarks either).
    forEachFrame(raw, (type, offset, size) => {
      visitRecordFrame(type, raw, offset, size, ahead, (record, keyGroup, timestamp) => {
        const frame = this.#encodeFrame(channel, record, keyGroup, timestamp);
        frames.push(frame);
        length += frame.length;
      });
    });
    const out = new Uint8Array(length);
    let at = 0;
    for (const frame of frames) {
      out.set(frame, at);
      at += frame.length;
    }
    return out;
  }

  #encodeFrame(channel: number, record: unknown, keyGroup: number, timestamp: number): Uint8Array {
    const encoder = this.#captureEncoders[channel]!;
    const keyed = keyGroup >= 0;
    const timed = timestamp === timestamp; // not NaN
    const prefix = keyed ? (timed ? KEYED_TIMESTAMP_PREFIX_BYTES : KEY_GROUP_PREFIX_BYTES) : timed ? TIMESTAMP_PREFIX_BYTES : 0;
    const end = encoder.encode(record, prefix);
    const type = keyed ? (timed ? FRAME_TIMESTAMPED_KEYED_RECORD : FRAME_KEYED_RECORD) : timed ? FRAME_TIMESTAMPED_RECORD : FRAME_RECORD;
    const frame = new Uint8Array(frameBytes(end));
    new DataView(frame.buffer).setUint32(0, encodeHeader(type, end), true);
    frame.set(encoder.buffer.subarray(0, end), FRAME_HEADER_BYTES);
    if (keyed) {
      frame[FRAME_HEADER_BYTES] = keyGroup & 0xff;
      frame[FRAME_HEADER_BYTES + 1] = keyGroup >>> 8;
      frame[FRAME_HEADER_BYTES + 2] = 0;
      frame[FRAME_HEADER_BYTES + 3] = 0;
    }
    if (timed) writeTimestamp(timestamp, frame, FRAME_HEADER_BYTES + (keyed ? KEY_GROUP_PREFIX_BYTES : 0));
    return frame;
  }

  /** A channel's watermark or status changed (or it ended): hand on the new combined event time. */
  #updateWatermark(handler: InputHandler): void {
    let min = Infinity;
    let active = 0;
    for (let c = 0; c < this.#watermarks.length; c++) {
      if (this.#ended[c] || this.#idle[c]) continue;
      active++;
      const w = this.#watermarks[c]!;
      if (w < min) min = w;
    }
    if (active === 0) {
      // Every open channel idle: the gate is idle and holds no watermark back. (All ended: the
      // final watermark, +∞ from every source, came in band before end-of-partition.)
      if (this.#open > 0 && !this.#gateIdle) {
        this.#gateIdle = true;
        handler.processWatermarkStatus(true);
      }
      return;
    }
    if (this.#gateIdle) {
      this.#gateIdle = false;
      handler.processWatermarkStatus(false);
    }
    if (min > this.#watermark) {
      this.#watermark = min;
      handler.processWatermark(min);
    }
  }

  /** True when some open channel has a published frame (the last check before sleeping). */
  hasData(): boolean {
    for (let c = 0; c < this.#readers.length; c++) {
      if (!this.#ended[c] && !this.#aligner.blocked[c] && this.#readers[c]!.hasData()) return true;
    }
    return false;
  }

  #drain(channel: number, handler: InputHandler): number {
    const reader = this.#readers[channel]!;
    const decoder = this.#decoders[channel]!;
    const bytes = reader.bytes;
    let count = 0;
    const start = reader.position;
    try {
      while (count < FRAMES_PER_TURN) {
        // A slow operator may take long over a turn: between records, hear of unaligned barriers,
        // and stop while the outputs are full (the subtask then waits for room, not mid-record).
        if ((count & CHECK_MASK) === CHECK_MASK) {
          this.#readAnnouncements(handler);
          this.#checkAlignmentTimeout(handler);
          if (this.#outputsAvailable !== undefined && !this.#outputsAvailable()) {
            this.#stalled = true;
            break;
          }
          // Slow operators: return within the time slice, so the event loop gets its turn.
          if (this.#deadline !== Infinity && performance.now() >= this.#deadline) {
            this.#timedOut = true;
            break;
          }
        }
        const type = reader.next();
        if (type === -1) break;
        count++;
        if (type === FRAME_KEYED_RECORD) {
          this.recordsPerChannel[channel]!++;
          const at = reader.payloadOffset;
          const keyGroup = bytes[at]! | (bytes[at + 1]! << 8);
          const record = decoder.decode(bytes, at + KEY_GROUP_PREFIX_BYTES, reader.payloadLength - KEY_GROUP_PREFIX_BYTES);
          this.#spillIfCapturing(channel, record, keyGroup, Number.NaN);
          handler.processKeyedRecord(record, keyGroup, Number.NaN, this.#inputOf[channel]!);
        } else if (type === FRAME_RECORD) {
          this.recordsPerChannel[channel]!++;
          const record = decoder.decode(bytes, reader.payloadOffset, reader.payloadLength);
          this.#spillIfCapturing(channel, record, -1, Number.NaN);
          handler.processRecord(record, Number.NaN, this.#inputOf[channel]!);
        } else if (type === FRAME_TIMESTAMPED_KEYED_RECORD) {
          this.recordsPerChannel[channel]!++;
          const at = reader.payloadOffset;
          const keyGroup = bytes[at]! | (bytes[at + 1]! << 8);
          const timestamp = readTimestamp(bytes, at + KEY_GROUP_PREFIX_BYTES);
          const record = decoder.decode(bytes, at + KEYED_TIMESTAMP_PREFIX_BYTES, reader.payloadLength - KEYED_TIMESTAMP_PREFIX_BYTES);
          this.#spillIfCapturing(channel, record, keyGroup, timestamp);
          handler.processKeyedRecord(record, keyGroup, timestamp, this.#inputOf[channel]!);
        } else if (type === FRAME_TIMESTAMPED_RECORD) {
          this.recordsPerChannel[channel]!++;
          const at = reader.payloadOffset;
          const timestamp = readTimestamp(bytes, at);
          const record = decoder.decode(bytes, at + TIMESTAMP_PREFIX_BYTES, reader.payloadLength - TIMESTAMP_PREFIX_BYTES);
          this.#spillIfCapturing(channel, record, -1, timestamp);
          handler.processRecord(record, timestamp, this.#inputOf[channel]!);
        } else if (type === FRAME_WATERMARK) {
          const watermark = readWatermark(bytes, reader.payloadOffset, reader.payloadLength);
          if (watermark > this.#watermarks[channel]!) {
            this.#watermarks[channel] = watermark;
            if (!this.#idle[channel]) this.#updateWatermark(handler);
          }
        } else if (type === FRAME_WATERMARK_STATUS) {
          const idle = readWatermarkStatus(bytes, reader.payloadOffset, reader.payloadLength);
          if (idle !== this.#idle[channel]) {
            this.#idle[channel] = idle;
            this.#updateWatermark(handler);
          }
        } else if (type === FRAME_BARRIER) {
          const barrier = readBarrier(bytes, reader.payloadOffset, reader.payloadLength);
          if (barrier.unaligned) {
            // Usually announced already (then stale here); in band when the announcement was missed.
            if (!this.#capture.wants(channel, barrier.checkpointId)) continue;
            this.#startIfNew(barrier, handler);
            this.#capture.onBarrier(channel, barrier, EMPTY_BYTES);
            continue;
          }
          if (barrier.checkpointId <= this.#capture.startedId) {
            // This checkpoint switched to unaligned here: its aligned barrier only places the channel.
            const current = this.#capture.current;
            if (current !== undefined && current.checkpointId === barrier.checkpointId) this.#capture.onBarrier(channel, current, EMPTY_BYTES);
            continue;
          }
          const complete = this.#aligner.onBarrier(channel, barrier);
          if (this.#alignmentStart === undefined || this.#alignmentStart.checkpointId < barrier.checkpointId) {
            this.#alignmentStart = { checkpointId: barrier.checkpointId, at: performance.now(), consumed: this.#consumedBytes + ((reader.position - start) >>> 0) };
          }
          if (complete !== undefined) handler.processBarrier(complete, this.#alignmentOf(complete, reader, start));
          if (this.#aligner.blocked[channel]) break;
        } else if (type === FRAME_END_OF_PARTITION) {
          this.#ended[channel] = true;
          this.#open--;
          this.#updateWatermark(handler);
          this.#capture.onEndOfPartition(channel);
          this.debloat?.channelEnded(channel);
          const complete = this.#aligner.onEndOfPartition(channel);
          if (complete !== undefined) handler.processBarrier(complete, this.#alignmentOf(complete, reader, start));
          break;
        } else {
          throw new WeirError('WEIR_MALFORMED_FRAME', `input channel ${channel} delivered a frame of unexpected type ${type}`);
        }
      }
    } finally {
      reader.release();
      const consumed = (reader.position - start) >>> 0;
      this.#consumedBytes += consumed;
      this.debloat?.recordConsumed(channel, consumed);
    }
    return count;
  }
}
