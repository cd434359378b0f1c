/**
 * UTF-8 string writing and reading shared by the record codecs: a JavaScript ASCII fast path for
 * short strings (cheaper than a native call) and Buffer's native UTF-8 coder otherwise. Reading
 * works on views over a SharedArrayBuffer, which `TextDecoder.decode` rejects.
 * @internal
 */

/** Strings shorter than this are written/read by a JavaScript loop; longer ones natively. */
export const SHORT_STRING = 32;

const fromCharCode = String.fromCharCode;

/** Node's undocumented but long-standing fast slice methods; feature-detected, with a fallback. */
interface FastSlices {
  utf8Slice?: (start: number, end: number) => string;
}
const hasUtf8Slice = typeof (Buffer.prototype as FastSlices).utf8Slice === 'function';

/**
 * Writes `s` as UTF-8 at `buffer[pos…]`, which must have room for `3 * s.length` bytes; returns
 * the end position. Lone surrogates become U+FFFD (as in every UTF-8 encoder).
 */
export function writeUtf8(buffer: Buffer, pos: number, s: string): number {
  const n = s.length;
  if (n < SHORT_STRING) {
    let p = pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return pos + buffer.write(s, pos, 'utf8');
      buffer[p++] = c;
    }
    return p;
  }
  return pos + buffer.write(s, pos, 'utf8');
}

/**
 * Reads bytes[start, end) as UTF-8. `text` must be a Buffer over the same memory as `bytes`
 * (see `TextView`); short all-ASCII strings are built in JavaScript without a native call.
 */
export function readUtf8(bytes: Uint8Array, text: Buffer, start: number, end: number): string {
  if (end - start < SHORT_STRING) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) return sliceUtf8(text, start, end);
      s += fromCharCode(c);
    }
    return s;
  }
  return sliceUtf8(text, start, end);
}

function sliceUtf8(text: Buffer, start: number, end: number): string {
  return hasUtf8Slice ? (text as FastSlices).utf8Slice!(start, end) : text.toString('utf8', start, end);
}

/**
 * Caches a Buffer over the memory of the last `bytes` a decoder saw (the consumer's ring view
 * is long-lived, so this allocates once per ring, not per record).
 */
export class TextView {
  #bytes: Uint8Array | undefined;
  #text: Buffer = Buffer.alloc(0);

  of(bytes: Uint8Array): Buffer {
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    return this.#text;
  }
}
