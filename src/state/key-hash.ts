/**
 * xxHash32 (seed 0) of a string's UTF-8 bytes: the hash behind key groups. Short ASCII strings
 * (the usual key) are hashed here in JavaScript, reading char codes as bytes — for ASCII they
 * are the UTF-8 bytes, so the result is bit-for-bit xxhash-wasm's `h32` — because xxhash-wasm
 * first encodes the string into WebAssembly memory, which measured 2–3× slower for such keys.
 * Longer or non-ASCII strings go to xxhash-wasm. Pure after `loadKeyHasher()`; every thread.
 */
import xxhash from 'xxhash-wasm';
import { WeirError } from '../errors.ts';

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

/** Strings up to this many chars are hashed in JavaScript when ASCII. */
const JS_HASH_MAX_CHARS = 32;

// xxhash-wasm compiles its WebAssembly asynchronously; there is deliberately no top-level await
// (it would break require() of weir and piscina's loading of the worker entry), so each thread
// awaits loadKeyHasher() once before hashing keys.
let wasmH32: ((input: string, seed?: number) => number) | undefined;

/** Loads the WebAssembly hasher; call (and await) once per thread before hashKey. */
export async function loadKeyHasher(): Promise<void> {
  wasmH32 ??= (await xxhash()).h32;
}

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

/** xxHash32 of an ASCII string in JavaScript; −1 when a char is not ASCII. */
function asciiXxh32(s: string): number {
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
      v1 = Math.imul(rotl((v1 + Math.imul(w1, PRIME2)) | 0, 13), PRIME1);
      v2 = Math.imul(rotl((v2 + Math.imul(w2, PRIME2)) | 0, 13), PRIME1);
      v3 = Math.imul(rotl((v3 + Math.imul(w3, PRIME2)) | 0, 13), PRIME1);
      v4 = Math.imul(rotl((v4 + Math.imul(w4, PRIME2)) | 0, 13), PRIME1);
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = PRIME5;
  }
  h = (h + length) | 0;
  for (; i + 4 <= length; i += 4) {
    const w = word(s, i);
    if (w === -1) return -1;
    h = Math.imul(rotl((h + Math.imul(w, PRIME3)) | 0, 17), PRIME4);
  }
  for (; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return -1;
    h = Math.imul(rotl((h + Math.imul(c, PRIME5)) | 0, 11), PRIME1);
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** xxHash32 (seed 0) of the UTF-8 bytes of `s`, as an unsigned 32-bit number. */
export function hashKey(s: string): number {
  if (s.length <= JS_HASH_MAX_CHARS) {
    const h = asciiXxh32(s);
    if (h !== -1) return h;
  }
  if (wasmH32 === undefined) throw new WeirError('WEIR_INTERNAL', 'hashKey() called before loadKeyHasher() resolved');
  return wasmH32(s);
}

/** @internal For tests: the JavaScript path alone (−1 for non-ASCII input). */
export const asciiXxh32ForTest = asciiXxh32;
