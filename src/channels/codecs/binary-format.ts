/**
 * The wire format of Weir's typed binary record codec (`binary`, the default): tag bytes,
 * limits, and the grammar below. Shared by `BinaryRecordEncoder` (producer subtask thread) and
 * `BinaryRecordDecoder` (consumer subtask thread).
 *
 * ```
 * record  := value                       one record per frame; the frame gives its length
 * value   := tag payload
 *   tag   payload                                  decodes to
 *   00    —                                        undefined
 *   01    —                                        null
 *   02/03 —                                        false / true
 *   04    i32 LE                                   int32 outside 0..127
 *   05    f64 LE                                   any other number (fractions, -0, NaN, ±Inf, |n| ≥ 2^31)
 *   06    varint byteLength, UTF-8 bytes           string of 32+ bytes
 *   07    varint n, value × n                      array (holes decode as undefined)
 *   08    varint n, key × n, value × n             plain object, keys inline (shape not registered)
 *   09    varint id, varint n, key × n, value × n  plain object, and registers shape `id`
 *   0A    varint id, value × n                     plain object of registered shape id ≥ 64
 *   0B    varint byteLength, ASCII decimal         bigint
 *   0C    f64 LE (ms since epoch; NaN = invalid)   Date
 *   0D    varint n, (value value) × n              Map (key, value pairs)
 *   0E    varint n, value × n                      Set
 *   0F    varint byteLength, bytes                 Uint8Array (copied out of the ring)
 *   10    varint byteLength, bytes                 Buffer (copied out of the ring)
 *   20–3F UTF-8 bytes, byteLength = tag − 0x20     string of 0–31 bytes
 *   40–7F value × n                                plain object of registered shape id = tag − 0x40
 *   80–FF —                                        integer tag − 0x80 (0..127)
 * key     := a string value (tag 06 or 20–3F)
 * varint  := unsigned LEB128: 7 bits per byte, low group first, high bit set = more follow
 * ```
 *
 * Shapes: a shape is an ordered list of own enumerable string keys. Each channel's encoder
 * numbers the shapes it meets 0, 1, 2… (in the order objects end, so a definition may precede
 * those of its members, which have lower ids) and sends the keys once (tag 09, in the frame of
 * the first record that uses the shape); later records send only the id. So a frame may depend on
 * earlier frames of the same channel: a decoder must see every frame of its channel in order,
 * and both ends must be `reset()` together when a channel is re-established. Frames are never
 * persisted as bytes (checkpointed in-flight records are decoded values, re-encoded on
 * restore), so frame independence is not required. An encoder stops registering shapes after
 * `MAX_SHAPES` shapes or `MAX_SHAPE_NODES` trie nodes (objects used as dictionaries with
 * ever-changing keys); objects of unregistered shapes are sent with their keys inline (tag 08).
 * @internal
 */

export const T_UNDEFINED = 0x00;
export const T_NULL = 0x01;
export const T_FALSE = 0x02;
export const T_TRUE = 0x03;
export const T_INT32 = 0x04;
export const T_FLOAT64 = 0x05;
export const T_STRING = 0x06;
export const T_ARRAY = 0x07;
export const T_OBJECT = 0x08;
export const T_SHAPE_DEFINE = 0x09;
export const T_SHAPE_REF = 0x0a;
export const T_BIGINT = 0x0b;
export const T_DATE = 0x0c;
export const T_MAP = 0x0d;
export const T_SET = 0x0e;
export const T_UINT8ARRAY = 0x0f;
export const T_BUFFER = 0x10;
/** 0x20 + byteLength for strings of fewer than `SHORT_STRING_TAGS` bytes. */
export const T_SHORT_STRING = 0x20;
export const SHORT_STRING_TAGS = 32;
/** 0x40 + id for shapes with id < `SHORT_SHAPE_TAGS`. */
export const T_SHORT_SHAPE = 0x40;
export const SHORT_SHAPE_TAGS = 64;
/** 0x80 + n for integers 0 ≤ n < 128. */
export const T_SMALL_INT = 0x80;

/** Shapes one channel registers at most. */
export const MAX_SHAPES = 4096;
/** Key-trie nodes one encoder keeps at most (bounds memory when keys are data). */
export const MAX_SHAPE_NODES = 16384;
/** Containers nested deeper than this are rejected (almost always a cycle). */
export const MAX_DEPTH = 512;
