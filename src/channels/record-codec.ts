/**
 * How records become bytes in channel frames: the `RecordCodec` interface, the codecs by name,
 * and the default (`binary`, chosen by `npm run bench:codec`; see docs/benchmarks.md). An
 * encoder lives on the producer subtask thread, one per output channel; a decoder on the
 * consumer subtask thread, one per input channel.
 */
import { WeirError } from '../errors.ts';
import { binaryRecordCodec } from './codecs/binary-codec.ts';
import { jsonRecordCodec } from './codecs/json-codec.ts';
import { v8RecordCodec } from './codecs/v8-codec.ts';

/**
 * One per output channel (producer side). Stateful codecs may keep per-channel state (e.g. a
 * shape/key dictionary announced in-band the first time it is used), since a channel is an
 * ordered reliable stream decoded by exactly one RecordDecoder created by the same codec.
 */
export interface RecordEncoder {
  /**
   * Encodes `value` after `headroom` bytes (default 0) that the caller fills in (the output
   * writer puts a record's key group there); returns the end: the frame is
   * `this.buffer[0, end)`, valid until the next encode call. Throws WeirError
   * `WEIR_RECORD_NOT_SERIALIZABLE` for values the codec does not support, leaving the encoder
   * usable.
   */
  encode(value: unknown, headroom?: number): number;
  readonly buffer: Uint8Array;
  /** Stateful codecs: forget per-channel state; the channel's decoder must reset at the same frame. */
  reset?(): void;
}

export interface RecordDecoder {
  /**
   * Decodes one value from bytes[offset, offset+length). `bytes` may be a view over a
   * SharedArrayBuffer; the result never aliases it. Throws `WEIR_MALFORMED_FRAME` on bytes the
   * encoder cannot have produced.
   */
  decode(bytes: Uint8Array, offset: number, length: number): unknown;
  /** Stateful codecs: forget per-channel state (pairs with `RecordEncoder.reset`). */
  reset?(): void;
  /** Stateful codecs: a decoder in the same state (reads ahead without disturbing this one). */
  clone?(): RecordDecoder;
}

export interface RecordCodec {
  readonly name: string;
  createEncoder(): RecordEncoder;
  createDecoder(): RecordDecoder;
}

const CODECS: ReadonlyMap<string, RecordCodec> = new Map([
  [binaryRecordCodec.name, binaryRecordCodec],
  [jsonRecordCodec.name, jsonRecordCodec],
  [v8RecordCodec.name, v8RecordCodec],
]);

/** The names `recordCodecByName` accepts. */
export const RECORD_CODEC_NAMES: readonly string[] = [...CODECS.keys()];

/** The codec channels use unless the job sets `recordCodec`. */
export const defaultRecordCodec: RecordCodec = binaryRecordCodec;

/** The codec for the `recordCodec` option; unknown names fail with `WEIR_INVALID_OPTION`. */
export function recordCodecByName(name: string): RecordCodec {
  const codec = typeof name === 'string' ? CODECS.get(name) : undefined;
  if (codec === undefined) {
    throw new WeirError(
      'WEIR_INVALID_OPTION',
      `options.recordCodec must be one of ${RECORD_CODEC_NAMES.map((n) => `'${n}'`).join(', ')}, got ${describeOption(name)}`,
      { context: { option: 'recordCodec' } },
    );
  }
  return codec;
}

function describeOption(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}
