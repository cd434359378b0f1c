/**
 * The `json` record codec: `JSON.stringify` written as UTF-8 into a reused buffer, `JSON.parse`
 * on the consumer side. Stateless. Lossy: undefined in objects and functions are dropped,
 * undefined/NaN/±Infinity in arrays become null, -0 becomes 0, Date becomes its ISO string,
 * Map/Set become {}, and bigint is rejected. Encoder on the producer subtask thread, decoder on
 * the consumer subtask thread.
 */
import type { RecordCodec, RecordDecoder, RecordEncoder } from '../record-codec.ts';
import { notSerializable } from './unsupported-value.ts';
import { readUtf8, TextView, writeUtf8 } from './utf8.ts';

class JsonRecordEncoder implements RecordEncoder {
  buffer: Buffer = Buffer.alloc(8192);

  encode(value: unknown, headroom = 0): number {
    // A zero-length record stands for a top-level undefined, which JSON cannot express.
    if (value === undefined) return headroom;
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw withCause(notSerializable('json', value, firstBigint(value) ?? value, describeJsonFailure(error)), error);
    }
    if (text === undefined) throw notSerializable('json', value, value);
    const need = headroom + 3 * text.length;
    if (need > this.buffer.length) this.buffer = Buffer.alloc(Math.max(need, 2 * this.buffer.length));
    return writeUtf8(this.buffer, headroom, text);
  }
}

class JsonRecordDecoder implements RecordDecoder {
  #views = new TextView();

  decode(bytes: Uint8Array, offset: number, length: number): unknown {
    if (length === 0) return undefined;
    return JSON.parse(readUtf8(bytes, this.#views.of(bytes), offset, offset + length));
  }
}

function describeJsonFailure(error: unknown): string {
  return error instanceof Error ? `JSON.stringify failed: ${error.message}` : 'JSON.stringify failed';
}

function firstBigint(value: unknown, depth = 0): unknown {
  if (typeof value === 'bigint') return value;
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  for (const item of Object.values(value)) {
    const found = firstBigint(item, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function withCause<E extends Error>(error: E, cause: unknown): E {
  Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
  return error;
}

export const jsonRecordCodec: RecordCodec = {
  name: 'json',
  createEncoder: () => new JsonRecordEncoder(),
  createDecoder: () => new JsonRecordDecoder(),
};
