/**
 * msgpackr as a `RecordCodec`, for `bench/codec.ts` only (msgpackr is a devDependency): plain
 * MessagePack maps, or msgpackr's record extension with structures sent in-band per channel
 * (`sequential`). msgpackr's native string extractor rejects views over a SharedArrayBuffer,
 * so the decoder first copies each frame into a private buffer (a cost the engine would pay).
 */
import { Packr, Unpackr } from 'msgpackr';
import type { RecordCodec, RecordDecoder, RecordEncoder } from '../src/channels/record-codec.ts';

class MsgpackrEncoder implements RecordEncoder {
  buffer: Uint8Array = new Uint8Array(0);
  readonly #packr: Packr;

  constructor(useRecords: boolean) {
    this.#packr = useRecords ? new Packr({ useRecords: true, sequential: true }) : new Packr({ useRecords: false });
  }

  encode(value: unknown): number {
    // pack returns a view into msgpackr's reused buffer, valid until the next pack.
    this.buffer = this.#packr.pack(value);
    return this.buffer.length;
  }
}

class MsgpackrDecoder implements RecordDecoder {
  readonly #unpackr: Unpackr;
  #scratch = Buffer.alloc(8192);

  constructor(useRecords: boolean) {
    this.#unpackr = useRecords ? new Unpackr({ useRecords: true, sequential: true }) : new Unpackr({ useRecords: false });
  }

  decode(bytes: Uint8Array, offset: number, length: number): unknown {
    if (length > this.#scratch.length) this.#scratch = Buffer.alloc(2 * length);
    const scratch = this.#scratch;
    if (length < 64) for (let i = 0; i < length; i++) scratch[i] = bytes[offset + i]!;
    else scratch.set(bytes.subarray(offset, offset + length));
    return this.#unpackr.unpack(scratch, length);
  }
}

export const msgpackrRecordCodec: RecordCodec = {
  name: 'msgpackr',
  createEncoder: () => new MsgpackrEncoder(false),
  createDecoder: () => new MsgpackrDecoder(false),
};

export const msgpackrRecordsRecordCodec: RecordCodec = {
  name: 'msgpackr-records',
  createEncoder: () => new MsgpackrEncoder(true),
  createDecoder: () => new MsgpackrDecoder(true),
};
