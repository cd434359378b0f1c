/**
 * Encoder of the `binary` record codec (format in `binary-format.ts`). One instance per output
 * channel, used only on the producer subtask thread; it owns one growing scratch buffer and the
 * channel's shape dictionary (a trie of keys, walked once per object with no allocation).
 * @internal
 */
import type { RecordEncoder } from '../record-codec.ts';
import {
  MAX_DEPTH, MAX_SHAPES, MAX_SHAPE_NODES, SHORT_SHAPE_TAGS, SHORT_STRING_TAGS,
  T_ARRAY, T_BIGINT, T_BUFFER, T_DATE, T_FALSE, T_FLOAT64, T_INT32, T_MAP, T_NULL, T_OBJECT,
  T_SET, T_SHAPE_DEFINE, T_SHAPE_REF, T_SHORT_SHAPE, T_SHORT_STRING, T_SMALL_INT, T_STRING,
  T_TRUE, T_UINT8ARRAY, T_UNDEFINED,
} from './binary-format.ts';
import { notSerializable } from './unsupported-value.ts';
import { writeUtf8 } from './utf8.ts';

const INITIAL_CAPACITY = 8192;

/** A node of the key trie: the path from the root spells a key sequence; `shapeId` ≥ 0 once registered. */
class ShapeNode {
  readonly key: string;
  readonly parent: ShapeNode | null;
  shapeId = -1;
  // Most nodes have one child (records of one shape), so the first child is checked by
  // identity before any Map lookup; property-name strings are internalized, so `===` is a
  // pointer compare.
  firstKey: string | undefined = undefined;
  firstChild: ShapeNode | undefined = undefined;
  children: Map<string, ShapeNode> | undefined = undefined;

  constructor(key: string, parent: ShapeNode | null) {
    this.key = key;
    this.parent = parent;
  }

  child(key: string): ShapeNode | undefined {
    return this.firstKey === key ? this.firstChild : this.children?.get(key);
  }

  addChild(key: string): ShapeNode {
    const node = new ShapeNode(key, this);
    if (this.firstChild === undefined) {
      this.firstKey = key;
      this.firstChild = node;
    } else {
      (this.children ??= new Map()).set(key, node);
    }
    return node;
  }

  keys(): string[] {
    const keys: string[] = [];
    for (let node: ShapeNode = this; node.parent !== null; node = node.parent) keys.push(node.key);
    return keys.reverse();
  }
}

/** Thrown inside the encoder and turned into a WeirError with the record's path in `encode`. */
class Unsupported {
  constructor(readonly value: unknown, readonly reason?: string) {}
}

export class BinaryRecordEncoder implements RecordEncoder {
  buffer: Buffer = Buffer.alloc(INITIAL_CAPACITY);
  readonly #codecName: string;
  #view: DataView<ArrayBufferLike> = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  #pos = 0;
  #depth = 0;
  #root = new ShapeNode('', null);
  #nodeCount = 1;
  /** Registered shapes by id, to roll back registrations made by a record that failed. */
  #shapes: ShapeNode[] = [];

  constructor(codecName = 'binary') {
    this.#codecName = codecName;
  }

  encode(value: unknown, headroom = 0): number {
    this.#pos = 0;
    if (headroom > 0) this.#ensure(headroom);
    this.#pos = headroom;
    this.#depth = 0;
    const shapesBefore = this.#shapes.length;
    try {
      this.#value(value);
    } catch (error) {
      // The frame is dropped, so shapes it would have announced were never sent.
      for (let id = shapesBefore; id < this.#shapes.length; id++) this.#shapes[id]!.shapeId = -1;
      this.#shapes.length = shapesBefore;
      if (error instanceof Unsupported) throw notSerializable(this.#codecName, value, error.value, error.reason);
      throw error;
    }
    return this.#pos;
  }

  /** Forgets the shape dictionary; the channel's decoder must be reset at the same point of the stream. */
  reset(): void {
    this.#root = new ShapeNode('', null);
    this.#nodeCount = 1;
    this.#shapes = [];
  }

  #value(v: unknown): void {
    switch (typeof v) {
      case 'string': return this.#string(v);
      case 'number': return this.#number(v);
      case 'object':
        if (v === null) return this.#byte(T_NULL);
        return this.#object(v);
      case 'boolean': return this.#byte(v ? T_TRUE : T_FALSE);
      case 'undefined': return this.#byte(T_UNDEFINED);
      case 'bigint': return this.#bigint(v);
      default: throw new Unsupported(v);
    }
  }

  #byte(tag: number): void {
    this.#ensure(1);
    this.buffer[this.#pos++] = tag;
  }

  #number(v: number): void {
    this.#ensure(9);
    const buf = this.buffer;
    let p = this.#pos;
    if ((v | 0) === v && (v !== 0 || 1 / v > 0)) { // int32 and not -0
      if (v >= 0 && v < 128) {
        buf[p++] = T_SMALL_INT + v;
      } else {
        buf[p] = T_INT32;
        buf[p + 1] = v;
        buf[p + 2] = v >> 8;
        buf[p + 3] = v >> 16;
        buf[p + 4] = v >> 24;
        p += 5;
      }
    } else {
      buf[p] = T_FLOAT64;
      this.#view.setFloat64(p + 1, v, true);
      p += 9;
    }
    this.#pos = p;
  }

  #string(s: string): void {
    const n = s.length;
    this.#ensure(6 + 3 * n);
    const buf = this.buffer;
    const start = this.#pos;
    if (n < SHORT_STRING_TAGS) {
      // ASCII fast path: one byte per char, length known up front.
      let p = start + 1;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return this.#longString(s, start);
        buf[p++] = c;
      }
      buf[start] = T_SHORT_STRING + n;
      this.#pos = p;
      return;
    }
    this.#longString(s, start);
  }

  /** Writes the bytes after a gap sized for the worst case, then closes the gap if it was too big. */
  #longString(s: string, start: number): void {
    const buf = this.buffer;
    const gap = varintSize(3 * s.length);
    const bytesAt = start + 1 + gap;
    const byteLength = writeUtf8(buf, bytesAt, s) - bytesAt;
    if (byteLength < SHORT_STRING_TAGS) {
      buf.copyWithin(start + 1, bytesAt, bytesAt + byteLength);
      buf[start] = T_SHORT_STRING + byteLength;
      this.#pos = start + 1 + byteLength;
      return;
    }
    buf[start] = T_STRING;
    const size = varintSize(byteLength);
    if (size < gap) buf.copyWithin(start + 1 + size, bytesAt, bytesAt + byteLength);
    writeVarint(buf, start + 1, byteLength);
    this.#pos = start + 1 + size + byteLength;
  }

  #varint(n: number): void {
    this.#ensure(5);
    this.#pos = writeVarint(this.buffer, this.#pos, n);
  }

  #bigint(v: bigint): void {
    this.#byte(T_BIGINT);
    const digits = v.toString();
    this.#varint(digits.length);
    this.#ensure(digits.length);
    this.#pos = writeUtf8(this.buffer, this.#pos, digits);
  }

  #object(v: object): void {
    if (++this.#depth > MAX_DEPTH) throw new Unsupported(v, `nesting deeper than ${MAX_DEPTH} levels (a cycle?)`);
    if (Array.isArray(v)) {
      this.#byte(T_ARRAY);
      const n = v.length;
      this.#varint(n);
      for (let i = 0; i < n; i++) this.#value(v[i]);
    } else {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) this.#plainObject(v as Record<string, unknown>);
      else this.#builtin(v, proto);
    }
    this.#depth--;
  }

  #builtin(v: object, proto: unknown): void {
    if (proto === Date.prototype) {
      this.#ensure(9);
      this.buffer[this.#pos] = T_DATE;
      this.#view.setFloat64(this.#pos + 1, (v as Date).getTime(), true);
      this.#pos += 9;
    } else if (proto === Map.prototype) {
      this.#byte(T_MAP);
      this.#varint((v as Map<unknown, unknown>).size);
      for (const [key, value] of v as Map<unknown, unknown>) {
        this.#value(key);
        this.#value(value);
      }
    } else if (proto === Set.prototype) {
      this.#byte(T_SET);
      this.#varint((v as Set<unknown>).size);
      for (const value of v as Set<unknown>) this.#value(value);
    } else if (proto === Uint8Array.prototype || proto === Buffer.prototype) {
      const bytes = v as Uint8Array;
      this.#byte(proto === Buffer.prototype ? T_BUFFER : T_UINT8ARRAY);
      this.#varint(bytes.length);
      this.#ensure(bytes.length);
      this.buffer.set(bytes, this.#pos);
      this.#pos += bytes.length;
    } else {
      throw new Unsupported(v);
    }
  }

  /**
   * One pass over the keys: walk the trie and encode each value right away (V8 serves `o[key]`
   * inside `for…in` from the enum cache), leaving one byte for the tag. The shape is only known
   * at the end; the rare headers longer than one byte (new shapes, ids ≥ 64, unregistered
   * shapes) are then inserted by moving the values up.
   */
  #plainObject(o: Record<string, unknown>): void {
    const start = this.#pos;
    this.#ensure(1);
    this.#pos = start + 1;
    let node: ShapeNode | undefined = this.#root;
    let spilled: string[] | undefined; // the keys, once the trie may not grow any more
    for (const key in o) {
      if (node !== undefined) {
        let next = node.child(key);
        if (next === undefined && this.#nodeCount < MAX_SHAPE_NODES) {
          next = node.addChild(key);
          this.#nodeCount++;
        }
        if (next === undefined) {
          spilled = node.keys();
          spilled.push(key);
        }
        node = next;
      } else {
        spilled!.push(key);
      }
      this.#value(o[key]);
    }
    if (node === undefined) return this.#insertHeader(start, T_OBJECT, -1, spilled!);
    const id = node.shapeId;
    if (id >= 0 && id < SHORT_SHAPE_TAGS) {
      this.buffer[start] = T_SHORT_SHAPE + id;
    } else if (id >= 0) {
      this.#insertHeader(start, T_SHAPE_REF, id, undefined);
    } else if (this.#shapes.length < MAX_SHAPES) {
      node.shapeId = this.#shapes.length;
      this.#shapes.push(node);
      this.#insertHeader(start, T_SHAPE_DEFINE, node.shapeId, node.keys());
    } else {
      this.#insertHeader(start, T_OBJECT, -1, node.keys());
    }
  }

  /** Writes `tag [id] [n keys]` at `start`, moving the already-encoded values up to make room. */
  #insertHeader(start: number, tag: number, id: number, keys: string[] | undefined): void {
    const bodyEnd = this.#pos;
    // Build the header after the body, then rotate it into place.
    this.#byte(tag);
    if (id >= 0) this.#varint(id);
    if (keys !== undefined) {
      this.#varint(keys.length);
      for (const key of keys) this.#string(key);
    }
    const header = Uint8Array.prototype.slice.call(this.buffer, bodyEnd, this.#pos); // a copy (Buffer#slice is a view)
    this.buffer.copyWithin(start + header.length, start + 1, bodyEnd);
    this.buffer.set(header, start);
    this.#pos = bodyEnd - 1 + header.length;
  }

  #ensure(n: number): void {
    if (this.#pos + n > this.buffer.length) this.#grow(n);
  }

  #grow(n: number): void {
    let capacity = this.buffer.length * 2;
    while (capacity < this.#pos + n) capacity *= 2;
    const next = Buffer.alloc(capacity);
    next.set(this.buffer.subarray(0, this.#pos));
    this.buffer = next;
    this.#view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

