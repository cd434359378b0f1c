import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import {
  defaultRecordCodec, recordCodecByName, RECORD_CODEC_NAMES,
  type RecordCodec, type RecordDecoder, type RecordEncoder,
} from '../../../src/channels/record-codec.ts';
import { MAX_SHAPES } from '../../../src/channels/codecs/binary-format.ts';

const binary = recordCodecByName('binary');
const json = recordCodecByName('json');
const v8 = recordCodecByName('v8');

/** A channel stand-in: frames are copied into a SharedArrayBuffer at a non-zero offset of a view that itself starts at a non-zero byte offset, and decoded from there. */
class Channel {
  readonly encoder: RecordEncoder;
  readonly decoder: RecordDecoder;
  readonly ring = new Uint8Array(new SharedArrayBuffer(1 << 22), 40, (1 << 22) - 40);
  lastLength = 0;

  constructor(codec: RecordCodec) {
    this.encoder = codec.createEncoder();
    this.decoder = codec.createDecoder();
  }

  send(value: unknown, at = 13): unknown {
    const length = this.encoder.encode(value);
    this.lastLength = length;
    this.ring.set(this.encoder.buffer.subarray(0, length), at);
    this.ring.fill(0xee, at + length, at + length + 16); // garbage after the frame must not be read
    return this.decoder.decode(this.ring, at, length);
  }
}

/** Deep equality that tells -0 from 0, compares prototypes, key order, Map/Set/Date/bytes contents. */
function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof Map || a instanceof Set) return same([...a], [...(b as Set<unknown>)]);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function assertRoundTrip(channel: Channel, value: unknown, label: string): void {
  const out = channel.send(value);
  assert.ok(same(value, out), `${label}: ${String(JSON.stringify(out, replacer))} differs from ${String(JSON.stringify(value, replacer))}`);
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Object.is(value, -0)) return '-0';
  if (value instanceof Map || value instanceof Set) return [...value];
  return value;
}

function throwsCode(fn: () => unknown, code: string, messageIncludes: string[] = []): WeirError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, WeirError);
    const weirError = error as WeirError;
    assert.is(weirError.code, code, weirError.message);
    for (const part of messageIncludes) assert.ok(weirError.message.includes(part), `"${weirError.message}" should mention ${part}`);
    return weirError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

const EDGE_CASES: Array<[string, unknown]> = [
  ['small record', { word: 'foo', count: 3 }],
  ['bid', { auction: 1007, bidder: 2001, price: 12345678, channel: 'Google', url: 'https://www.nexmark.com/a/b/item.htm?query=1', dateTime: 1_700_000_000_123, extra: 'x'.repeat(100) }],
  ['integers at every width', [0, 1, 127, 128, 255, 256, -1, -128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32]],
  ['large ints', [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53 + 2, 1e21, 1e300]],
  ['-0', -0],
  ['-0 in an object', { z: -0 }],
  ['NaN and infinities', [NaN, Infinity, -Infinity]],
  ['floats', [0.1, -1.5, 5e-324, Number.MAX_VALUE, Math.PI]],
  ['booleans and null', [true, false, null]],
  ['top-level undefined', undefined],
  ['undefined in arrays and objects', { a: undefined, b: [undefined, 1, undefined], c: 2 }],
  ['empty string, object, array', { s: '', o: {}, a: [] }],
  ['non-ASCII strings', ['héllo', 'wörld — ünïcødé ✓', 'Straße', '日本語のテキスト', 'é'.repeat(40)]],
  ['emoji', ['😀', 'a😀b', '👩‍👩‍👧‍👦'.repeat(10)]],
  ['strings around the short-string boundary', ['a'.repeat(31), 'a'.repeat(32), 'a'.repeat(30) + 'é', 'é'.repeat(16), 'é'.repeat(15) + 'a', 'a'.repeat(127), 'a'.repeat(128), 'a'.repeat(5000)]],
  ['a long non-ASCII string', 'ü'.repeat(70_000)],
  ['a bare short string', 'hello'],
  ['nested with arrays', { id: 1, user: { name: 'ann', tags: ['a', 'b'] }, items: [{ sku: 'x', qty: 2, price: 9.99 }, { sku: 'y', qty: 1, price: 0.5 }], ok: true }],
  ['deeply nested', { a: [{ b: [{ c: [[[{ d: 'e' }]]] }] }] }],
  ['arrays of mixed values', [1, 'two', { three: 3 }, [4], null, undefined, true, 1.5]],
  ['integer-like keys keep the engine key order', { b: 1, 2: 'two', a: 3, 1: 'one' }],
  ['unusual keys', { '': 1, 'a b': 2, 'quote"s': 3, 'é': 4, '😀': 5, constructor: 6, toString: 7 }],
  ['bigint', [0n, -1n, 12345678901234567890123n, -(2n ** 100n)]],
  ['Date', [new Date(0), new Date(1_700_000_000_123), new Date(-1), new Date(NaN)]],
  ['Map', new Map<unknown, unknown>([['a', 1], [2, { b: true }], [{ k: 1 }, [1]]])],
  ['Set', new Set<unknown>(['x', 1, { y: 2 }])],
  ['Uint8Array', new Uint8Array([0, 1, 2, 255])],
  ['Buffer', Buffer.from('bytes ✓')],
];

test('binary codec round-trips every supported type and edge case exactly', () => {
  const channel = new Channel(binary);
  for (const [label, value] of EDGE_CASES) assertRoundTrip(channel, value, label);
  // and again on the same channel, now with every shape already registered
  for (const [label, value] of EDGE_CASES) assertRoundTrip(channel, value, `${label} (second time)`);
});

test('v8 codec round-trips every supported type and edge case exactly', () => {
  const channel = new Channel(v8);
  for (const [label, value] of EDGE_CASES) assertRoundTrip(channel, value, label);
});

test('json codec round-trips JSON values and loses what JSON cannot express, as documented', () => {
  const channel = new Channel(json);
  for (const [label, value] of EDGE_CASES.slice(0, 4)) assertRoundTrip(channel, value, label);
  assertRoundTrip(channel, undefined, 'top-level undefined (empty frame)');
  assertRoundTrip(channel, { s: 'wörld 😀', e: '', o: {}, a: [] }, 'strings and empties');
  assert.ok(Object.is(channel.send(-0), 0), '-0 becomes 0');
  assert.equal(channel.send([NaN, Infinity, undefined]), [null, null, null]);
  assert.equal(channel.send({ a: undefined, b: 1 }), { b: 1 });
  assert.is(channel.send(new Date(0)), '1970-01-01T00:00:00.000Z');
  assert.equal(channel.send({ m: new Map([[1, 2]]) }), { m: {} });
  throwsCode(() => channel.send({ big: 1n }), 'WEIR_RECORD_NOT_SERIALIZABLE', ['bigint', 'record.big']);
});

test('decoded values never alias the shared ring memory', () => {
  const channel = new Channel(binary);
  const bytes = channel.send(new Uint8Array([1, 2, 3])) as Uint8Array;
  channel.ring.fill(0);
  assert.equal([...bytes], [1, 2, 3]);
  assert.ok(!(bytes.buffer instanceof SharedArrayBuffer));
});

test('a registered shape costs one tag byte: {word, count} takes 6 bytes after its first use', () => {
  const channel = new Channel(binary);
  channel.send({ word: 'foo', count: 3 });
  const first = channel.lastLength;
  assert.equal(channel.send({ word: 'bar', count: 4 }), { word: 'bar', count: 4 });
  assert.is(channel.lastLength, 6); // shape tag, string tag + 3 bytes, small int
  assert.ok(first > 6 + 'word'.length + 'count'.length, 'the first record carries the keys');
});

test('the shape dictionary works across many records and more than 255 shapes, interleaved', () => {
  const channel = new Channel(binary);
  const shapes = 700;
  const make = (s: number, i: number): Record<string, unknown> => {
    const record: Record<string, unknown> = {};
    for (let k = 0; k <= s % 5; k++) record[`f${s}_${k}`] = k === 0 ? i : { inner: `v${i}`, [`n${s % 3}`]: [s, i] };
    return record;
  };
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < shapes * 2; i++) {
      const s = (i * 7919 + round) % shapes;
      const value = make(s, i);
      assert.ok(same(channel.send(value), value), `shape ${s}, record ${i}, round ${round}`);
    }
  }
  channel.send(make(5, 1));
  assert.ok(channel.lastLength < 30, `a known shape with id ≥ 255 stays compact (${channel.lastLength} bytes)`);
});

test('objects beyond the shape limits (dictionary-like keys) still round-trip, with keys inline', () => {
  const channel = new Channel(binary);
  for (let i = 0; i < MAX_SHAPES + 500; i++) {
    const value = { [`user-${i}`]: i, [`item-${i % 97}`]: { nested: i } };
    assert.ok(same(channel.send(value), value), `record ${i}`);
  }
  const known = { word: 'late', count: 1 };
  assert.ok(same(channel.send(known), known));
  assert.ok(same(channel.send(known), known));
});

test('encoder and decoder reset together start a fresh dictionary', () => {
  const channel = new Channel(binary);
  channel.send({ a: 1, b: 2 });
  channel.encoder.reset?.();
  channel.decoder.reset?.();
  assert.equal(channel.send({ a: 3, b: 4 }), { a: 3, b: 4 });
  assert.equal(channel.send({ a: 5, b: 6 }), { a: 5, b: 6 });
});

test('__proto__ keys stay own properties and never change the prototype', () => {
  const channel = new Channel(binary);
  const value = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
  for (let i = 0; i < 2; i++) {
    const out = channel.send(value) as Record<string, unknown>;
    assert.is(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(Object.keys(out), ['__proto__', 'x']);
    assert.equal(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { polluted: true });
    assert.is(({} as Record<string, unknown>).polluted, undefined);
  }
});

test('null-prototype objects decode as plain objects; array holes decode as undefined', () => {
  const channel = new Channel(binary);
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
  assert.equal(channel.send(bare), { a: 1 });
  // eslint-disable-next-line no-sparse-arrays
  const holey = [1, , 3];
  const out = channel.send(holey) as unknown[];
  assert.is(out.length, 3);
  assert.ok(1 in out, 'the hole is now an own undefined element');
});

test('lone surrogates become U+FFFD in the binary codec (like any UTF-8 encoder)', () => {
  const channel = new Channel(binary);
  assert.is(channel.send('a\ud800b'), 'a\ufffdb');
});

test('unsupported values throw WEIR_RECORD_NOT_SERIALIZABLE naming the type and where it is', () => {
  class Point { constructor(readonly x: number) {} }
  const cases: Array<[unknown, string[]]> = [
    [() => 1, ['function', '(at record)']],
    [{ user: { callback() {} } }, ['function', 'record.user.callback']],
    [[1, Symbol('s')], ['symbol', 'record[1]']],
    [{ p: new Point(1) }, ['class Point', 'record.p']],
    [{ r: /x/ }, ['RegExp', 'record.r']],
    [{ f: new Float64Array(2) }, ['Float64Array']],
    [new Map([['k', new WeakMap()]]), ['WeakMap']],
    [{ e: new Error('boom') }, ['Error', 'record.e']],
  ];
  const encoder = binary.createEncoder();
  for (const [value, parts] of cases) {
    const error = throwsCode(() => encoder.encode(value), 'WEIR_RECORD_NOT_SERIALIZABLE', ["'binary'", ...parts]);
    assert.is(error.retriable, false);
  }
});

test('a cyclic record is rejected as not serializable instead of overflowing the stack', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  throwsCode(() => binary.createEncoder().encode(cyclic), 'WEIR_RECORD_NOT_SERIALIZABLE', ['nesting deeper']);
});

test('a rejected record leaves the channel usable, including shapes it would have announced', () => {
  const channel = new Channel(binary);
  throwsCode(() => channel.send({ fresh: { inner: 1 }, bad: () => 0 }), 'WEIR_RECORD_NOT_SERIALIZABLE');
  const value = { wrapper: { fresh: { inner: 2 } }, other: { inner: 3 } };
  assert.equal(channel.send(value), value);
  assert.equal(channel.send(value), value);
});

test('v8 and json codecs reject functions with WEIR_RECORD_NOT_SERIALIZABLE', () => {
  throwsCode(() => v8.createEncoder().encode({ f: () => 1 }), 'WEIR_RECORD_NOT_SERIALIZABLE', ["'v8'", 'function', 'record.f']);
  throwsCode(() => json.createEncoder().encode(() => 1), 'WEIR_RECORD_NOT_SERIALIZABLE', ["'json'", 'function']);
});

test('truncated or corrupt binary frames fail with WEIR_MALFORMED_FRAME', () => {
  const encoder = binary.createEncoder();
  const length = encoder.encode({ word: 'hello', list: [1, 2, 3] });
  const frame = encoder.buffer.slice(0, length);
  throwsCode(() => binary.createDecoder().decode(frame, 0, length - 1), 'WEIR_MALFORMED_FRAME');
  throwsCode(() => binary.createDecoder().decode(new Uint8Array([0x45]), 0, 1), 'WEIR_MALFORMED_FRAME', ['shape 5']);
  throwsCode(() => binary.createDecoder().decode(new Uint8Array([0x1f]), 0, 1), 'WEIR_MALFORMED_FRAME', ['unknown tag']);
  throwsCode(() => binary.createDecoder().decode(new Uint8Array([0x01, 0x01]), 0, 2), 'WEIR_MALFORMED_FRAME');
});

test('the encoder buffer grows for large records and stays correct afterwards', () => {
  const channel = new Channel(binary);
  const big = { rows: Array.from({ length: 20_000 }, (_, i) => ({ i, s: `row-${i}` })) };
  assert.ok(same(channel.send(big), big));
  assert.equal(channel.send({ word: 'after', count: 1 }), { word: 'after', count: 1 });
});

test('recordCodecByName knows every codec and rejects unknown names naming the option', () => {
  assert.equal([...RECORD_CODEC_NAMES].sort(), ['binary', 'json', 'v8']);
  for (const name of RECORD_CODEC_NAMES) assert.is(recordCodecByName(name).name, name);
  const error = throwsCode(() => recordCodecByName('protobuf'), 'WEIR_INVALID_OPTION', ['recordCodec', "'protobuf'", "'binary'"]);
  assert.is(error.context.option, 'recordCodec');
});

test('the default codec is binary', () => {
  assert.is(defaultRecordCodec, binary);
  assert.is(defaultRecordCodec.name, 'binary');
});

test.run();
