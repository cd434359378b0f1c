/**
 * What an unaligned checkpoint stores of an input gate's in-flight data (Flink's channel state).
 * The checkpoint starts at the first barrier the gate hears of — announced through a ring header
 * ahead of the data queued before it (RingWriter.announceBarrier), or met in band. From then on,
 * per input channel, the frames that precede that channel's barrier and are processed after the
 * snapshot belong to the checkpoint: the unread ones are copied out of the ring when the barrier's
 * position becomes known, the ones read before that are copied as they are read ("spilled").
 * Nothing blocks: the records are processed as usual, and on restore the stored frames are
 * replayed before any new input (`replayChannelState`). Consumer subtask's worker thread; used
 * by InputGate and the subtask runner.
 */
import {
  FRAME_KEYED_RECORD,
  FRAME_RECORD,
  FRAME_TIMESTAMPED_KEYED_RECORD,
  FRAME_TIMESTAMPED_RECORD,
  forEachFrame,
  KEY_GROUP_PREFIX_BYTES,
  KEYED_TIMESTAMP_PREFIX_BYTES,
  readTimestamp,
  TIMESTAMP_PREFIX_BYTES,
  type Barrier,
} from './frame-codec.ts';
import type { RecordCodec, RecordDecoder } from './record-codec.ts';

/** Where replayed records go (the InputGate's handler). Timestamp NaN: the record has none. */
export interface ReplayTarget {
  processRecord(record: unknown, timestamp: number, input: number): void;
  processKeyedRecord(record: unknown, keyGroup: number, timestamp: number, input: number): void;
}

/**
 * Decodes the record of a record frame of any kind (plain, keyed, timestamped) and hands it to
 * `visit` with its key group (−1: none) and timestamp (NaN: none); other frames are skipped.
 * Off the hot path: used for stored channel state, not by the gate's read loop.
 */
export function visitRecordFrame(
  type: number,
  bytes: Uint8Array,
  offset: number,
  length: number,
  decoder: RecordDecoder,
  visit: (record: unknown, keyGroup: number, timestamp: number) => void,
): void {
  switch (type) {
    case FRAME_RECORD:
      visit(decoder.decode(bytes, offset, length), -1, Number.NaN);
      return;
    case FRAME_KEYED_RECORD:
      visit(decoder.decode(bytes, offset + KEY_GROUP_PREFIX_BYTES, length - KEY_GROUP_PREFIX_BYTES), keyGroupAt(bytes, offset), Number.NaN);
      return;
    case FRAME_TIMESTAMPED_RECORD:
      visit(decoder.decode(bytes, offset + TIMESTAMP_PREFIX_BYTES, length - TIMESTAMP_PREFIX_BYTES), -1, readTimestamp(bytes, offset));
      return;
    case FRAME_TIMESTAMPED_KEYED_RECORD:
      visit(
        decoder.decode(bytes, offset + KEYED_TIMESTAMP_PREFIX_BYTES, length - KEYED_TIMESTAMP_PREFIX_BYTES),
        keyGroupAt(bytes, offset),
        readTimestamp(bytes, offset + KEY_GROUP_PREFIX_BYTES),
      );
  }
}

function keyGroupAt(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

/**
 * After a restore from an unaligned checkpoint, before any new input: feeds the stored in-flight
 * records of every channel to the operators, channel by channel in stored order. Returns the
 * number of records replayed.
 */
export function replayChannelState(
  channels: readonly Uint8Array[],
  codec: RecordCodec,
  target: ReplayTarget,
  inputOf: readonly number[] = [],
): number {
  let records = 0;
  channels.forEach((bytes, channel) => {
    const decoder = codec.createDecoder();
    const input = inputOf[channel] ?? 0;
    forEachFrame(bytes, (type, offset, length) => {
      visitRecordFrame(type, bytes, offset, length, decoder, (record, keyGroup, timestamp) => {
        if (keyGroup >= 0) target.processKeyedRecord(record, keyGroup, timestamp, input);
        else target.processRecord(record, timestamp, input);
        records++;
      });
    });
  });
  return records;
}

/** The completed channel state of one checkpoint: per input channel, raw frames (frame-codec). */
export interface CapturedChannelState {
  readonly checkpointId: number;
  readonly channels: Uint8Array[];
}

const enum Phase {
  /** No checkpoint in progress, or this channel's barrier has been placed. */
  Done,
  /** After the snapshot, before this channel's barrier: frames read now are copied. */
  Spilling,
}

export class ChannelStateCapture {
  readonly #phase: Phase[];
  readonly #chunks: Uint8Array[][];
  readonly #ended: boolean[];
  #current: Barrier | undefined;
  /** Highest checkpoint id started; barriers at or below it are stale (or already handled). */
  #started = -1;
  #spilling = 0;

  constructor(channels: number) {
    this.#phase = new Array<Phase>(channels).fill(Phase.Done);
    this.#chunks = Array.from({ length: channels }, () => []);
    this.#ended = new Array<boolean>(channels).fill(false);
  }

  /** True while `channel`'s frames must be copied as they are read. */
  isSpilling(channel: number): boolean {
    return this.#phase[channel] === Phase.Spilling;
  }

  /** The checkpoint whose channel state is being captured, if any. */
  get current(): Barrier | undefined {
    return this.#current;
  }

  /**
   * True when a barrier of this id on `channel` still matters: it starts a checkpoint or places
   * this channel's (channel −1: only whether it starts one).
   */
  wants(channel: number, checkpointId: number): boolean {
    return checkpointId > this.#started || (checkpointId === this.#current?.checkpointId && this.#phase[channel] === Phase.Spilling);
  }

  /**
   * `channel`'s barrier is known and `unread` holds the frames between the read position and it
   * (call `begin` first for a new checkpoint).
   */
  onBarrier(channel: number, barrier: Barrier, unread: Uint8Array): void {
    if (this.#current === undefined || barrier.checkpointId !== this.#current.checkpointId) return;
    if (this.#phase[channel] === Phase.Spilling) {
      if (unread.length > 0) this.#chunks[channel]!.push(unread);
      this.#phase[channel] = Phase.Done;
      this.#spilling--;
    }
  }

  /** A frame read from a spilling channel (its bytes, header included). */
  spill(channel: number, frame: Uint8Array): void {
    this.#chunks[channel]!.push(frame);
  }

  /** `channel` ended: it carries nothing more before any barrier. */
  onEndOfPartition(channel: number): void {
    this.#ended[channel] = true;
    if (this.#phase[channel] === Phase.Spilling) {
      this.#phase[channel] = Phase.Done;
      this.#spilling--;
    }
  }

  /** The finished capture, once every channel's barrier was placed (returned once). */
  takeComplete(): CapturedChannelState | undefined {
    if (this.#current === undefined || this.#spilling > 0) return undefined;
    const checkpointId = this.#current.checkpointId;
    const channels = this.#chunks.map((chunks) => concat(chunks));
    for (const chunks of this.#chunks) chunks.length = 0;
    this.#current = undefined;
    return { checkpointId, channels };
  }

  /**
   * Starts capturing checkpoint `barrier` (a newer one drops an unfinished older capture).
   * `placed`: channels whose barrier is already behind the reader (an alignment that switched).
   */
  begin(barrier: Barrier, placed?: readonly boolean[]): void {
    this.#current = barrier;
    this.#started = barrier.checkpointId;
    this.#spilling = 0;
    for (let c = 0; c < this.#phase.length; c++) {
      this.#chunks[c]!.length = 0;
      const done = this.#ended[c] === true || placed?.[c] === true;
      this.#phase[c] = done ? Phase.Done : Phase.Spilling;
      if (!done) this.#spilling++;
    }
  }

  /** The newest checkpoint id whose capture started. */
  get startedId(): number {
    return this.#started;
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
