/**
 * xxHash32 (seed 0) of a string's UTF-8 bytes: the hash behind key groups. Short ASCII strings
 * (the usual key) are hashed here in JavaScript, reading char codes as bytes — for ASCII they
 * are the UTF-8 bytes, so the result is bit-for-bit xxhash-wasm's `h32` — because xxhash-wasm
 * first encodes the string into WebAssembly memory, which measured 2–3× slower for such keys.
 * Longer or non-ASCII strings go to xxhash-wasm. Pure after `loadKeyHasher()`; every thread.
 */
import xxhash from 'xxhash-wasm';
import { xxh32Ascii } from './xxhash32.ts';
import { WeirError } from '../errors.ts';

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

/** xxHash32 (seed 0) of the UTF-8 bytes of `s`, as an unsigned 32-bit number. */
export function hashKey(s: string): number {
  if (s.length <= JS_HASH_MAX_CHARS) {
    const h = xxh32Ascii(s);
    if (h !== -1) return h;
  }
  if (wasmH32 === undefined) throw new WeirError('WEIR_INTERNAL', 'hashKey() called before loadKeyHasher() resolved');
  return wasmH32(s);
}

/** @internal For tests: the JavaScript path alone (−1 for non-ASCII input). */
export const asciiXxh32ForTest = xxh32Ascii;
