/**
 * Decoder of the `binary` record codec (format in `binary-format.ts`). One instance per input
 * channel, used only on the consumer subtask thread; it reads frames in place from the ring (a
 * view over a SharedArrayBuffer) and mirrors the channel's shape dictionary.
 * @internal
 */
import { WeirError } from '../../errors.ts';
import type { RecordDecoder } from '../record-codec.ts';
import {
  MAX_SHAPES, T_ARRAY, T_BIGINT, T_BUFFER, T_DATE, T_FALSE, T_FLOAT64, T_INT32, T_MAP, T_NULL,
  T_OBJECT, T_SET, T_SHAPE_DEFINE, T_SHAPE_REF, T_SHORT_SHAPE, T_SHORT_STRING, T_SMALL_INT,
  T_STRING, T_TRUE, T_UINT8ARRAY, T_UNDEFINED,
} from './binary-format.ts';
import { readUtf8, TextView } from './utf8.ts';

/** Builds one object of a shape, reading its values in key order through `read`. */
type ShapeBuilder = (read: () => unknown) => Record<string, unknown>;

/** Shapes with more keys than this are built by a loop instead of a compiled literal. */
const MAX_COMPILED_KEYS = 64;

export class BinaryRecordDecoder implements RecordDecoder {
  readonly #codecName: string;
  #bytes: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #end = 0;
  #views = new TextView();
  #text: Buffer = Buffer.alloc(0);
  #dataViewOf: Uint8Array | undefined;
  #dataView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(8));
  #shapes: ShapeBuilder[] = [];
  readonly #read = (): unknown => this.#value();

  constructor(codecName = 'binary') {
    this.#codecName = codecName;
  }

  decode(bytes: Uint8Array, offset: number, length: number): unknown {
    if (bytes !== this.#dataViewOf) {
      this.#dataViewOf = bytes;
      this.#dataView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.#text = this.#views.of(bytes);
    }
    this.#bytes = bytes;
    this.#pos = offset;
    this.#end = offset + length;
    const value = this.#value();
    if (this.#pos !== this.#end) throw this.#malformed(`record ends at byte ${this.#pos - offset} of ${length}`);
    return value;
  }

  /** Forgets the shape dictionary (when the channel's encoder is reset). */
  reset(): void {
    this.#shapes = [];
  }

  /** A decoder in this one's state (same shape dictionary), to read ahead without disturbing it. */
  clone(): BinaryRecordDecoder {
    const copy = new BinaryRecordDecoder(this.#codecName);
    copy.#shapes = [...this.#shapes];
    return copy;
  }

  // One dispatch per value; the tag ranges are tested most frequent first.
  #value(): unknown {
    const tag = this.#bytes[this.#pos++]!;
    if (tag >= T_SMALL_INT) return tag - T_SMALL_INT;
    if (tag >= T_SHORT_SHAPE) return this.#shape(tag - T_SHORT_SHAPE);
    if (tag >= T_SHORT_STRING) return this.#string(tag - T_SHORT_STRING);
    switch (tag) {
      case T_UNDEFINED: return undefined;
      case T_NULL: return null;
      case T_FALSE: return false;
      case T_TRUE: return true;
      case T_INT32: {
        const b = this.#bytes;
        const p = this.#pos;
        this.#pos = p + 4;
        return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
      }
      case T_FLOAT64: return this.#float64();
      case T_STRING: return this.#string(this.#count());
      case T_ARRAY: {
        const n = this.#count();
        const array: unknown[] = [];
        for (let i = 0; i < n; i++) array.push(this.#value());
        return array;
      }
      case T_SHAPE_REF: return this.#shape(this.#varint());
      case T_SHAPE_DEFINE: return this.#defineShape();
      case T_OBJECT: return buildByLoop(this.#keys(this.#count()), this.#read);
      default: return this.#rare(tag);
    }
  }

  #rare(tag: number): unknown {
    switch (tag) {
      case T_BIGINT: return BigInt(this.#string(this.#count()));
      case T_DATE: return new Date(this.#float64());
      case T_MAP: {
        const n = this.#count();
        const map = new Map<unknown, unknown>();
        for (let i = 0; i < n; i++) map.set(this.#value(), this.#value());
        return map;
      }
      case T_SET: {
        const n = this.#count();
        const set = new Set<unknown>();
        for (let i = 0; i < n; i++) set.add(this.#value());
        return set;
      }
      case T_UINT8ARRAY:
      case T_BUFFER: {
        const n = this.#count();
        const start = this.#pos;
        this.#pos = start + n;
        // Copy: the ring slot is reused as soon as this frame is consumed.
        const copy = tag === T_BUFFER ? Buffer.allocUnsafe(n) : new Uint8Array(n);
        copy.set(this.#bytes.subarray(start, start + n));
        return copy;
      }
      default:
        throw this.#malformed(tag === undefined ? 'truncated' : `unknown tag 0x${tag.toString(16)}`);
    }
  }

  #float64(): number {
    const value = this.#dataView.getFloat64(this.#pos, true);
    this.#pos += 8;
    return value;
  }

  #string(byteLength: number): string {
    const start = this.#pos;
    const end = start + byteLength;
    if (end > this.#end) throw this.#malformed('string runs past the end of the record');
    this.#pos = end;
    return readUtf8(this.#bytes, this.#text, start, end);
  }

  #shape(id: number): Record<string, unknown> {
    const build = this.#shapes[id];
    if (build === undefined) throw this.#malformed(`shape ${id} was never defined on this channel`);
    return build(this.#read);
  }

  #defineShape(): Record<string, unknown> {
    const id = this.#varint();
    // Ids are assigned as objects end, so an enclosing object's definition (which comes first in
    // the bytes) carries a higher id than those nested in it: ids are unique, not in byte order.
    if (id >= MAX_SHAPES || this.#shapes[id] !== undefined) throw this.#malformed(`shape ${id} defined twice or out of range`);
    const build = shapeBuilder(this.#keys(this.#count()));
    this.#shapes[id] = build;
    return build(this.#read);
  }

  #keys(n: number): string[] {
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      const key = this.#value();
      if (typeof key !== 'string') throw this.#malformed('object key is not a string');
      keys.push(key);
    }
    return keys;
  }

  /** A length or count: bounded by the bytes left, as every element takes at least one byte. */
  #count(): number {
    const n = this.#varint();
    if (n > this.#end - this.#pos) throw this.#malformed(`length ${n} exceeds the record`);
    return n;
  }

  #varint(): number {
    const b = this.#bytes;
    let n = 0;
    let shift = 0;
    for (;;) {
      const byte = b[this.#pos++];
      if (byte === undefined || shift > 28) throw this.#malformed('bad varint');
      n += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return n;
      shift += 7;
    }
  }

  #malformed(message: string): WeirError {
    return new WeirError('WEIR_MALFORMED_FRAME', `malformed '${this.#codecName}' record frame: ${message}`);
  }
}

/**
 * A compiled object literal per shape (`{"word": read(), "count": read()}`): V8 then creates
 * each object directly in its final hidden class instead of growing it key by key. Keys are
 * embedded as JSON string literals, so no key can inject code; `__proto__` would set the
 * prototype in a literal, so shapes with it use the loop.
 */
function shapeBuilder(keys: string[]): ShapeBuilder {
  if (keys.length > MAX_COMPILED_KEYS || keys.includes('__proto__')) {
    return (read) => buildByLoop(keys, read);
  }
  const fields = keys.map((key) => `${JSON.stringify(key)}: read()`).join(', ');
  return new Function('read', `return { ${fields} };`) as ShapeBuilder;
}

function buildByLoop(keys: string[], read: () => unknown): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const key of keys) {
    const value = read();
    if (key === '__proto__') {
      Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
    } else {
      object[key] = value;
    }
  }
  return object;
}
