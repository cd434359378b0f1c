/**
 * xxHash32 (seed 0) in JavaScript, of bytes and of ASCII strings (whose char codes are their
 * UTF-8 bytes): bit-for-bit xxhash-wasm's `h32`/`h32Raw` (tested against it), without the cost of
 * copying the input into WebAssembly memory, which dominates for short keys. Pure; every thread.
 * Used for key groups (key-hash.ts) and bloom filters (lsm/bloom-filter.ts).
 */

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** Four chars at `i` as a little-endian word, or −1 if any is not ASCII. */
function word(s: string, i: number): number {
  const a = s.charCodeAt(i);
  const b = s.charCodeAt(i + 1);
  const c = s.charCodeAt(i + 2);
  const d = s.charCodeAt(i + 3);
  if ((a | b | c | d) >= 0x80) return -1;
  return a | (b << 8) | (c << 16) | (d << 24);
}

/** One stripe lane step: acc + input·P2, rotated 13, times P1. */
function round(acc: number, input: number): number {
  return Math.imul(rotl((acc + Math.imul(input, PRIME2)) | 0, 13), PRIME1);
}

/** Merges the four lanes of the stripe phase. */
function mergeLanes(v1: number, v2: number, v3: number, v4: number): number {
  return (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
}

/** A 4-byte word of the tail. */
function tailWord(h: number, word: number): number {
  return Math.imul(rotl((h + Math.imul(word, PRIME3)) | 0, 17), PRIME4);
}

/** A single byte of the tail. */
function tailByte(h: number, byte: number): number {
  return Math.imul(rotl((h + Math.imul(byte, PRIME5)) | 0, 11), PRIME1);
}

/** The final avalanche, to an unsigned 32-bit result. */
function avalanche(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** xxHash32 of an ASCII string in JavaScript; −1 when a char is not ASCII. */
export function xxh32Ascii(s: string): number {
  const length = s.length;
  let i = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (PRIME1 + PRIME2) | 0;
    let v2 = PRIME2;
    let v3 = 0;
    let v4 = -PRIME1 | 0;
    for (; i + 16 <= length; i += 16) {
      const w1 = word(s, i);
      const w2 = word(s, i + 4);
      const w3 = word(s, i + 8);
      const w4 = word(s, i + 12);
      if (w1 === -1 || w2 === -1 || w3 === -1 || w4 === -1) return -1;
      v1 = round(v1, w1);
      v2 = round(v2, w2);
      v3 = round(v3, w3);
      v4 = round(v4, w4);
    }
    h = mergeLanes(v1, v2, v3, v4);
  } else {
    h = PRIME5;
  }
  h = (h + length) | 0;
  for (; i + 4 <= length; i += 4) {
    const w = word(s, i);
    if (w === -1) return -1;
    h = tailWord(h, w);
  }
  for (; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    h = tailByte(h, c);
  }
  return avalanche(h);
}

function u32le(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** xxHash32 (seed 0) of `bytes`, unsigned. Hot on the read path: the small helpers above inline. */
export function xxh32Bytes(bytes: Uint8Array): number {
  const length = bytes.byteLength;
  let i = 0;
  let h: number;
  if (length >= 16) {
    let v1 = (PRIME1 + PRIME2) | 0;
    let v2 = PRIME2;
    let v3 = 0;
    let v4 = -PRIME1 | 0;
    for (; i + 16 <= length; i += 16) {
      v1 = round(v1, u32le(bytes, i));
      v2 = round(v2, u32le(bytes, i + 4));
      v3 = round(v3, u32le(bytes, i + 8));
      v4 = round(v4, u32le(bytes, i + 12));
    }
    h = mergeLanes(v1, v2, v3, v4);
  } else {
    h = PRIME5;
  }
  h = (h + length) | 0;
  for (; i + 4 <= length; i += 4) h = tailWord(h, u32le(bytes, i));
  for (; i < length; i++) h = tailByte(h, bytes[i]!);
  return avalanche(h);
}

