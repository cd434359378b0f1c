/**
 * The `v8` record codec: Node's `v8.serialize`/`v8.deserialize` (the structured clone format).
 * Stateless and the most faithful (cycles, shared references, typed arrays, RegExp, Error), but
 * class instances arrive as plain objects. Encoder on the producer subtask thread, decoder on
 * the consumer subtask thread.
 */
import v8 from 'node:v8';
import type { RecordCodec, RecordDecoder, RecordEncoder } from '../record-codec.ts';
import { notSerializable } from './unsupported-value.ts';

class V8RecordEncoder implements RecordEncoder {
  // v8.serialize allocates its own buffer per call; handing it out avoids a second copy.
  buffer: Uint8Array = new Uint8Array(0);

  encode(value: unknown, headroom = 0): number {
    let serialized: Buffer;
    try {
      serialized = v8.serialize(value);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const bad = /could not be cloned/.test(reason) ? findUncloneable(value) : value;
      const weirError = notSerializable('v8', value, bad, reason);
      Object.defineProperty(weirError, 'cause', { value: error, configurable: true, writable: true });
      throw weirError;
    }
    if (headroom === 0) {
      this.buffer = serialized;
    } else {
      this.buffer = new Uint8Array(headroom + serialized.length);
      this.buffer.set(serialized, headroom);
    }
    return this.buffer.length;
  }
}

class V8RecordDecoder implements RecordDecoder {
  decode(bytes: Uint8Array, offset: number, length: number): unknown {
    return v8.deserialize(bytes.subarray(offset, offset + length));
  }
}

/** The first function or symbol inside `value` (what structured clone rejects), for the error path. */
function findUncloneable(value: unknown, seen = new Set<unknown>()): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') return value;
  if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
  seen.add(value);
  const items = value instanceof Map ? [...value.keys(), ...value.values()] : value instanceof Set ? [...value] : Object.values(value);
  for (const item of items) {
    const found = findUncloneable(item, seen);
    if (found !== undefined) return found;
  }
  return undefined;
}

export const v8RecordCodec: RecordCodec = {
  name: 'v8',
  createEncoder: () => new V8RecordEncoder(),
  createDecoder: () => new V8RecordDecoder(),
};
