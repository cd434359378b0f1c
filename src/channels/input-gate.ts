/**
 * InputGate: the consumer end of all channels feeding one subtask. Reads frames round robin
 * across channels (a bounded number per channel per turn, so no producer starves the rest),
 * decodes records and hands them to the task, aligns checkpoint barriers (BarrierAligner: a
 * blocked channel is not read) and tracks end-of-partition per channel.
 * Runs on the consumer subtask's worker thread.
 */
import { WeirError } from '../errors.ts';
import { BarrierAligner, type AlignmentMode } from './barrier-aligner.ts';
import {
  FRAME_BARRIER,
  FRAME_END_OF_PARTITION,
  FRAME_KEYED_RECORD,
  FRAME_RECORD,
  KEY_GROUP_PREFIX_BYTES,
  readBarrier,
  type Barrier,
} from './frame-codec.ts';
import type { RecordCodec, RecordDecoder } from './record-codec.ts';
import { RingReader } from './ring-buffer.ts';

export interface InputHandler {
  processRecord(record: unknown): void;
  /** A record of a hash edge, with the key group the producer computed for it. */
  processKeyedRecord(record: unknown, keyGroup: number): void;
  /** Every open channel delivered this barrier (aligned), or the last one did (at-least-once). */
  processBarrier(barrier: Barrier): void;
}

/** Frames read from one channel before moving on to the next. */
const FRAMES_PER_TURN = 256;

export class InputGate {
  readonly #readers: RingReader[];
  readonly #decoders: RecordDecoder[];
  readonly #ended: boolean[];
  readonly #aligner: BarrierAligner;
  #open: number;
  #next = 0;
  /** Records read per channel, for metrics and tests. */
  readonly recordsPerChannel: number[];

  constructor(rings: readonly SharedArrayBuffer[], codec: RecordCodec, alignment: AlignmentMode = 'aligned') {
    this.#aligner = new BarrierAligner(rings.length, alignment);
    this.#readers = rings.map((ring) => new RingReader(ring));
    this.#decoders = rings.map(() => codec.createDecoder());
    this.#ended = rings.map(() => false);
    this.#open = rings.length;
    this.recordsPerChannel = rings.map(() => 0);
  }

  /** True once every channel delivered end-of-partition. */
  get finished(): boolean {
    return this.#open === 0;
  }

  /**
   * Processes up to about `maxFrames` frames, starting where the last call stopped, and
   * returns how many it processed (0: nothing is available now).
   */
  poll(handler: InputHandler, maxFrames: number): number {
    const channels = this.#readers.length;
    let processed = 0;
    let idleChannels = 0;
    while (processed < maxFrames && idleChannels < channels && this.#open > 0) {
      const channel = this.#next;
      this.#next = channel + 1 === channels ? 0 : channel + 1;
      const n = this.#ended[channel] || this.#aligner.blocked[channel] ? 0 : this.#drain(channel, handler);
      processed += n;
      idleChannels = n === 0 ? idleChannels + 1 : 0;
    }
    return processed;
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
    try {
      while (count < FRAMES_PER_TURN) {
        const type = reader.next();
        if (type === -1) break;
        count++;
        if (type === FRAME_KEYED_RECORD) {
          this.recordsPerChannel[channel]!++;
          const at = reader.payloadOffset;
          const keyGroup = bytes[at]! | (bytes[at + 1]! << 8);
          const record = decoder.decode(bytes, at + KEY_GROUP_PREFIX_BYTES, reader.payloadLength - KEY_GROUP_PREFIX_BYTES);
          handler.processKeyedRecord(record, keyGroup);
        } else if (type === FRAME_RECORD) {
          this.recordsPerChannel[channel]!++;
          handler.processRecord(decoder.decode(bytes, reader.payloadOffset, reader.payloadLength));
        } else if (type === FRAME_BARRIER) {
          const barrier = readBarrier(bytes, reader.payloadOffset, reader.payloadLength);
          const complete = this.#aligner.onBarrier(channel, barrier);
          if (complete !== undefined) handler.processBarrier(complete);
          if (this.#aligner.blocked[channel]) break;
        } else if (type === FRAME_END_OF_PARTITION) {
          this.#ended[channel] = true;
          this.#open--;
          const complete = this.#aligner.onEndOfPartition(channel);
          if (complete !== undefined) handler.processBarrier(complete);
          break;
        } else {
          throw new WeirError('WEIR_MALFORMED_FRAME', `input channel ${channel} delivered a frame of unexpected type ${type}`);
        }
      }
    } finally {
      reader.release();
    }
    return count;
  }
}
