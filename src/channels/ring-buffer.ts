/**
 * A single-producer/single-consumer ring of frames on a SharedArrayBuffer (one per channel),
 * and the consumer's doorbell. `RingWriter` runs on the producer subtask thread (the output
 * writer calls it), `RingReader` and `Doorbell` sleeps on the consumer subtask thread (the input
 * gate); the coordinator creates the buffers and may ring any doorbell.
 *
 * Ring SharedArrayBuffer (Int32 words, little-endian host):
 *
 *   byte 0    ┌──────────────────────────────────────────────┐
 *             │ writeIndex      i32  written by producer     │ write line: touched by the
 *             │ producerWaiting i32  0/1, set by producer    │ consumer only when its cached
 *             │ (word 4) announceSeq i32  seqlock, producer  │ write index runs out
 *             │ (word 5) announceId  i32  checkpoint id      │ barrier announcement: see
 *             │ (word 6) announcePos i32  barrier position   │ RingWriter.announceBarrier
 *             │ (word 7) announceUnaligned i32 0/1           │
 *             │ (bytes 32–39) announceTs f64 trigger time    │
 *             │ …                                            │
 *   byte 64   ├──────────────────────────────────────────────┤
 *             │ (unused: keeps the lines 128 bytes apart, so │
 *             │  adjacent-line prefetch cannot pair them)    │
 *   byte 128  ├──────────────────────────────────────────────┤
 *             │ readIndex       i32  written by consumer     │ read line: touched by the
 *             │ …                                            │ producer only when it runs out
 *   byte 192  ├──────────────────────────────────────────────┤ of cached room
 *             │ usableCapacity  i32  debloater (any thread)  │ reserved line
 *             │ capacity        i32  fixed at creation       │
 *   byte 256  ├──────────────────────────────────────────────┤
 *             │ data: `capacity` bytes of frames             │ see frame-codec.ts
 *             └──────────────────────────────────────────────┘
 *
 * Indices are byte counters that only grow (wrapping at 2^32); position = counter & (capacity-1),
 * fill = (write - read) >>> 0. The producer owns [read, write) until it publishes writeIndex;
 * the consumer owns the published frames until it publishes readIndex. All data bytes are plain
 * (non-atomic) accesses: the SeqCst store of an index and the SeqCst load that sees it order them.
 *
 * Sleep protocols (both Dekker-style; they rely on Atomics being sequentially consistent):
 *
 *   consumer (Doorbell)                       producer (RingWriter.flush → Doorbell.ring)
 *     token = load(counter)                     store(writeIndex, w)
 *     store(sleeping, 1)                        if load(sleeping) = 1:
 *     if any ring hasData(): cancel               add(counter, 1); notify(counter)
 *     wait(counter, token)
 *     store(sleeping, 0)
 *
 * In the single total order of SeqCst operations either the producer's load(sleeping) comes
 * after the consumer's store(sleeping, 1) (it sees 1, so it bumps the counter after the token
 * was read: the wait either finds counter ≠ token and returns at once, or is already parked and
 * gets the notify), or it comes before it; then the producer's store(writeIndex) also precedes
 * the consumer's final hasData() check, which therefore sees the frame. No wake-up is lost.
 * The producer waiting for room mirrors this: store(producerWaiting, 1); r = load(readIndex);
 * if no room, wait(readIndex, r) — against the consumer's store(readIndex); if
 * load(producerWaiting) = 1: notify(readIndex). readIndex itself is the wait word: it changes on
 * every release, and cannot come back to r while the producer waits (that takes 4 GiB of reads).
 */

import { WeirError } from '../errors.ts';
import { Doorbell } from './doorbell.ts';
import { FRAME_HEADER_BYTES, FRAME_PAD, frameBytes } from './frame-codec.ts';
import { waitAsync } from './wait-async.ts';

export const RING_HEADER_BYTES = 256;
export const RING_MIN_CAPACITY = 1024;
export const RING_MAX_CAPACITY = 2 ** 30;

// Module-local copies of imported constants used on hot paths: when tsx loads a module as
// CommonJS, an imported binding becomes a getter call per access (~45% of tryWrite, measured).
const HEADER_BYTES = FRAME_HEADER_BYTES;
const PAD = FRAME_PAD;

// Int32 word indices into the ring header.
const WRITE_INDEX = 0;
const PRODUCER_WAITING = 1;
const ANNOUNCE_SEQ = 4;
const ANNOUNCE_ID = 5;
const ANNOUNCE_POSITION = 6;
const ANNOUNCE_UNALIGNED = 7;
/** Float64 index of the announced barrier's timestamp (bytes 32–39 of the write line). */
const ANNOUNCE_TIMESTAMP = 4;
const READ_INDEX = 32;
const USABLE_CAPACITY = 48;
const CAPACITY = 49;
// Int32 word indices into a doorbell.

/** Polls of the read index before the producer parks in Atomics.wait: a poll costs far less than a ~28 µs wake-up. */
const SPIN_POLLS = 200;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function createRingBuffer(capacityBytes: number): SharedArrayBuffer {
  if (!isValidCapacity(capacityBytes)) {
    throw new WeirError(
      'WEIR_INVALID_OPTION',
      `ring capacity must be a power of two between 1024 and 2^30 bytes, got ${capacityBytes}`,
    );
  }
  const sab = new SharedArrayBuffer(RING_HEADER_BYTES + capacityBytes);
  const header = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
  header[USABLE_CAPACITY] = capacityBytes;
  header[CAPACITY] = capacityBytes;
  return sab;
}


/**
 * Limits the bytes the writer lets into the ring (buffer debloating). The writer picks the new
 * value up at its next publish or when it runs out of room. A frame always fits an empty ring,
 * so even a limit below one frame keeps the channel moving. Any thread may call it.
 */
export function setUsableCapacity(ring: SharedArrayBuffer, bytes: number): void {
  const header = ringHeader(ring);
  const capacity = header[CAPACITY]!;
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > capacity) {
    throw new WeirError(
      'WEIR_INVALID_OPTION',
      `usable ring capacity must be an integer between 1 and the ring capacity ${capacity}, got ${bytes}`,
    );
  }
  Atomics.store(header, USABLE_CAPACITY, bytes);
}

export function usableCapacity(ring: SharedArrayBuffer): number {
  return Atomics.load(ringHeader(ring), USABLE_CAPACITY);
}

/**
 * Bytes the producer published and the consumer has not released yet (frames and wrap padding):
 * the channel's in-flight data, as a snapshot. Any thread. The read index is loaded first: it
 * never passes a write index loaded after it, so the difference is never negative.
 */
export function ringFill(ring: SharedArrayBuffer): number {
  const header = ringHeader(ring);
  const read = Atomics.load(header, READ_INDEX);
  return (Atomics.load(header, WRITE_INDEX) - read) >>> 0;
}

/**
 * @internal Tests only: moves both indices of a fresh ring to `value` (e.g. 2^32 - 64, to cross
 * the 32-bit wrap). Call before any RingWriter/RingReader is attached: they cache the indices.
 */
export function debugSetIndices(ring: SharedArrayBuffer, value: number): void {
  const header = ringHeader(ring);
  if (!Number.isInteger(value) || value % 4 !== 0) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `ring index must be a multiple of 4, got ${value}`);
  }
  Atomics.store(header, WRITE_INDEX, value | 0);
  Atomics.store(header, READ_INDEX, value | 0);
}

/** The producer end of one channel ring. Not thread-safe: one writer per ring, on one thread. */
export class RingWriter {
  readonly capacity: number;
  /** Largest payload one frame can carry: capacity/4 - FRAME_HEADER_BYTES (a bigger record is the caller's WEIR_RECORD_TOO_LARGE). */
  readonly maxPayload: number;
  readonly #header: Int32Array;
  readonly #timestamps: Float64Array;
  /** The data area as words (frame headers) and as bytes (payloads); both views over the ring. */
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #doorbell: Doorbell;
  readonly #mask: number;
  readonly #publishEvery: number;
  readonly #publishBytes: number;
  /** Local write counter (int32); the shared writeIndex lags it until #publish. */
  #write: number;
  #published: number;
  #unpublishedFrames = 0;
  /** Last read index seen: room is computed against it, and refreshed only when it runs out. */
  #cachedRead: number;
  #usable: number;
  /**
   * The last payload array seen, its byteOffset and an Int32 view of its buffer. Callers reuse one
   * scratch array, so this is computed once: reading .buffer/.byteOffset per frame cost ~25 ns.
   */
  #source: Uint8Array | undefined;
  #sourceByteOffset = 0;
  #sourceWords: Int32Array = new Int32Array(0);
  /** Bytes the word view covers (the buffer length rounded down to 4): a tail past it copies bytewise. */
  #sourceWordBytes = 0;

  constructor(ring: SharedArrayBuffer, consumer: Doorbell, publishEvery = 64) {
    if (!Number.isInteger(publishEvery) || publishEvery < 1) {
      throw new WeirError('WEIR_INVALID_OPTION', `ring publishEvery must be a positive integer, got ${publishEvery}`);
    }
    if (!(consumer instanceof Doorbell)) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', 'RingWriter needs the consumer Doorbell');
    }
    this.#header = ringHeader(ring);
    this.#timestamps = new Float64Array(ring, 0, 8);
    this.capacity = this.#header[CAPACITY]!;
    this.maxPayload = this.capacity / 4 - HEADER_BYTES;
    this.#words = new Int32Array(ring, RING_HEADER_BYTES, this.capacity / 4);
    this.#bytes = new Uint8Array(ring, RING_HEADER_BYTES, this.capacity);
    this.#doorbell = consumer;
    this.#mask = this.capacity - 1;
    this.#publishEvery = publishEvery;
    this.#publishBytes = this.capacity / 8;
    this.#write = Atomics.load(this.#header, WRITE_INDEX);
    this.#published = this.#write;
    this.#cachedRead = Atomics.load(this.#header, READ_INDEX);
    this.#usable = Atomics.load(this.#header, USABLE_CAPACITY);
  }

  /**
   * Appends one frame if there is room (within usable capacity), copying payload[offset,
   * offset+length). Returns false when the ring lacks room (backpressure), and always when
   * length > maxPayload (the caller reports WEIR_RECORD_TOO_LARGE). A frame that does not
   * fit before the end of the ring is preceded by a PAD frame filling the rest, and starts at 0.
   * Hot path: allocates nothing, except one Int32 view whenever `payload` is not the same array
   * as in the previous call (reuse one scratch array), and a subarray for a payload over 64
   * bytes that is not word-copied (unaligned, or over 256 bytes) and not a whole array.
   */
  tryWrite(type: number, payload: Uint8Array, offset: number, length: number): boolean {
    if (type < 1 || type > 15 || !(length >= 0) || !(offset >= 0) || offset + length > payload.length) {
      throw this.#badFrame(type, payload, offset, length);
    }
    if (length > this.maxPayload) return false; // never fits: the caller raises WEIR_RECORD_TOO_LARGE
    const need = HEADER_BYTES + ((length + 3) & ~3);
    let write = this.#write;
    let pos = write & this.#mask;
    const contiguous = this.capacity - pos;
    const total = need <= contiguous ? need : contiguous + need;
    const used = (write - this.#cachedRead) >>> 0;
    if (used !== 0 && used + total > this.#usable && !this.#refreshRoom(need)) return false;
    const words = this.#words;
    if (need > contiguous) {
      // contiguous < need ≤ capacity/4, so the pad's length fits the 28-bit field.
      words[pos >> 2] = ((contiguous - HEADER_BYTES) << 4) | PAD;
      write = (write + contiguous) | 0;
      pos = 0;
    }
    words[pos >> 2] = (length << 4) | type;
    const at = pos + HEADER_BYTES;
    if (payload !== this.#source) this.#viewSource(payload);
    const source = this.#sourceByteOffset + offset;
    if (length <= 256 && (source & 3) === 0 && source + length <= this.#sourceWordBytes) {
      // Word copy, unrolled by hand (TurboFan does not unroll it; a plain word loop is 2× and a
      // byte loop 6× slower on 32-byte records). The last word may carry up to 3 bytes past the
      // payload into the frame's alignment padding, which no reader reads.
      const from = this.#sourceWords;
      let s = source >> 2;
      let d = at >> 2;
      const end = d + ((length + 3) >> 2);
      for (; d + 8 <= end; d += 8, s += 8) {
        words[d] = from[s]!;
        words[d + 1] = from[s + 1]!;
        words[d + 2] = from[s + 2]!;
        words[d + 3] = from[s + 3]!;
        words[d + 4] = from[s + 4]!;
        words[d + 5] = from[s + 5]!;
        words[d + 6] = from[s + 6]!;
        words[d + 7] = from[s + 7]!;
      }
      if (d + 4 <= end) {
        words[d] = from[s]!;
        words[d + 1] = from[s + 1]!;
        words[d + 2] = from[s + 2]!;
        words[d + 3] = from[s + 3]!;
        d += 4;
        s += 4;
      }
      for (; d < end; d++, s++) words[d] = from[s]!;
    } else if (length <= 64) {
      const bytes = this.#bytes;
      for (let i = 0; i < length; i++) bytes[at + i] = payload[offset + i]!;
    } else if (offset === 0 && length === payload.length) {
      this.#bytes.set(payload, at);
    } else {
      this.#bytes.set(payload.subarray(offset, offset + length), at); // one view; the copy dominates
    }
    write = (write + need) | 0;
    this.#write = write;
    if (++this.#unpublishedFrames >= this.#publishEvery || ((write - this.#published) >>> 0) > this.#publishBytes) {
      this.#publish();
    }
    return true;
  }

  /** Publishes the write index (Atomics.store) if anything is unpublished, then rings the consumer's doorbell. */
  flush(): void {
    if (this.#write !== this.#published) this.#publish();
    else this.#doorbell.ring();
  }

  /**
   * Flushes, then blocks the thread until a frame of `frameBytes` fits or timeoutMs passes; true
   * when it fits. Spins briefly, then parks on the read index with the producerWaiting flag set.
   */
  waitForSpaceSync(frameBytes: number, timeoutMs: number): boolean {
    this.#checkFrameBytes(frameBytes);
    this.flush();
    for (let i = 0; i < SPIN_POLLS; i++) if (this.#refreshRoom(frameBytes)) return true;
    const header = this.#header;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      Atomics.store(header, PRODUCER_WAITING, 1);
      const read = Atomics.load(header, READ_INDEX);
      const remaining = deadline - performance.now();
      if (this.#refreshRoom(frameBytes) || remaining <= 0) {
        Atomics.store(header, PRODUCER_WAITING, 0);
        return this.#refreshRoom(frameBytes);
      }
      Atomics.wait(header, READ_INDEX, read, remaining);
      Atomics.store(header, PRODUCER_WAITING, 0);
    }
  }

  /** Same as waitForSpaceSync with Atomics.waitAsync: the thread's event loop keeps running. */
  async waitForSpaceAsync(frameBytes: number, timeoutMs: number): Promise<boolean> {
    this.#checkFrameBytes(frameBytes);
    this.flush();
    const header = this.#header;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      Atomics.store(header, PRODUCER_WAITING, 1);
      const read = Atomics.load(header, READ_INDEX);
      const remaining = deadline - performance.now();
      if (this.#refreshRoom(frameBytes) || remaining <= 0) {
        Atomics.store(header, PRODUCER_WAITING, 0);
        return this.#refreshRoom(frameBytes);
      }
      await waitAsync(header, READ_INDEX, read, remaining);
      Atomics.store(header, PRODUCER_WAITING, 0);
    }
  }

  /**
   * Announces checkpoint barrier `checkpointId` ahead of the data (unaligned checkpoints): publishes
   * the frames written so far, then records (id, position = the write counter now) in the header
   * under a seqlock and rings the consumer. The consumer learns of the barrier at once, however
   * much data is queued before it; every byte before `position` is already in the ring for it to
   * copy. The caller writes the in-band barrier frame next, so it lands at `position` (even if it
   * has to wait for room). Returns `position`.
   */
  announceBarrier(checkpointId: number, timestamp = 0, unaligned = true): number {
    if (!Number.isSafeInteger(checkpointId) || checkpointId < 0 || checkpointId > 0x7fffffff) {
      throw new WeirError('WEIR_INVALID_ARGUMENT', `announced checkpoint id must be an integer in [0, 2^31), got ${checkpointId}`);
    }
    if (this.#write !== this.#published) {
      Atomics.store(this.#header, WRITE_INDEX, this.#write);
      this.#published = this.#write;
      this.#unpublishedFrames = 0;
    }
    const header = this.#header;
    Atomics.add(header, ANNOUNCE_SEQ, 1); // odd: being written
    Atomics.store(header, ANNOUNCE_ID, checkpointId);
    Atomics.store(header, ANNOUNCE_POSITION, this.#write);
    Atomics.store(header, ANNOUNCE_UNALIGNED, unaligned ? 1 : 0);
    this.#timestamps[ANNOUNCE_TIMESTAMP] = timestamp; // plain store: the seqlock orders it
    Atomics.add(header, ANNOUNCE_SEQ, 1); // even: complete
    this.#doorbell.ring();
    return this.#write;
  }

  /**
   * True when a frame of `frameBytes` fits now (within usable capacity). Cheap when the cached
   * read index already shows room; reloads it otherwise.
   */
  hasRoom(frameBytes: number): boolean {
    const used = (this.#write - this.#cachedRead) >>> 0;
    if (used === 0 || used + 2 * frameBytes <= this.#usable) return true; // ×2: a wrap may need padding
    return this.#refreshRoom(frameBytes);
  }

  /** Bytes written and not yet consumed (published or not). */
  usedBytes(): number {
    this.#cachedRead = Atomics.load(this.#header, READ_INDEX);
    return (this.#write - this.#cachedRead) >>> 0;
  }

  #publish(): void {
    Atomics.store(this.#header, WRITE_INDEX, this.#write);
    this.#published = this.#write;
    this.#unpublishedFrames = 0;
    this.#usable = Atomics.load(this.#header, USABLE_CAPACITY);
    this.#doorbell.ring();
  }

  /** Reloads the read index and usable capacity; true when a frame of `need` bytes fits now. */
  #refreshRoom(need: number): boolean {
    this.#cachedRead = Atomics.load(this.#header, READ_INDEX);
    this.#usable = Atomics.load(this.#header, USABLE_CAPACITY);
    const write = this.#write;
    const contiguous = this.capacity - (write & this.#mask);
    const total = need <= contiguous ? need : contiguous + need;
    const used = (write - this.#cachedRead) >>> 0;
    // An empty ring takes any frame: total < capacity/2 there, and debloating cannot stall us.
    return used === 0 || used + total <= this.#usable;
  }

  #viewSource(payload: Uint8Array): void {
    this.#source = payload;
    this.#sourceByteOffset = payload.byteOffset;
    this.#sourceWords = new Int32Array(payload.buffer, 0, payload.buffer.byteLength >> 2);
    this.#sourceWordBytes = this.#sourceWords.length * 4;
  }

  #checkFrameBytes(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes < HEADER_BYTES || bytes > frameBytes(this.maxPayload)) {
      throw new WeirError(
        'WEIR_INVALID_ARGUMENT',
        `frameBytes must be an integer between ${HEADER_BYTES} and ${frameBytes(this.maxPayload)} for a ${this.capacity}-byte ring, got ${bytes}`,
      );
    }
  }

  #badFrame(type: number, payload: Uint8Array, offset: number, length: number): WeirError {
    if (!(type >= 1 && type <= 15)) {
      return new WeirError('WEIR_INVALID_ARGUMENT', `frame type must be an integer between 1 and 15, got ${type}`);
    }
    return new WeirError(
      'WEIR_INVALID_ARGUMENT',
      `frame payload range [${offset}, ${offset + length}) is outside the ${payload.length}-byte payload array`,
    );
  }
}

/** The consumer end of one channel ring. Not thread-safe: one reader per ring, on one thread. */
export class RingReader {
  readonly capacity: number;
  /** The ring's data bytes (a Uint8Array over the SharedArrayBuffer, after the header). */
  readonly bytes: Uint8Array;
  /** Set by next(): where the current frame's payload is in `bytes`. */
  payloadOffset = 0;
  payloadLength = 0;
  readonly #header: Int32Array;
  readonly #words: Int32Array;
  readonly #mask: number;
  readonly #releaseBytes: number;
  /** Local read counter: the end of the current frame. The shared readIndex lags it until release. */
  #read: number;
  #released: number;
  /** Last write index seen; reloaded only when the reader catches up with it. */
  #cachedWrite: number;
  /** The announcement sequence last returned by readAnnouncement. */
  #announceSeq: number;
  readonly #timestamps: Float64Array;

  constructor(ring: SharedArrayBuffer) {
    this.#header = ringHeader(ring);
    this.capacity = this.#header[CAPACITY]!;
    this.bytes = new Uint8Array(ring, RING_HEADER_BYTES, this.capacity);
    this.#words = new Int32Array(ring, RING_HEADER_BYTES, this.capacity / 4);
    this.#mask = this.capacity - 1;
    this.#releaseBytes = this.capacity / 4;
    this.#read = Atomics.load(this.#header, READ_INDEX);
    this.#released = this.#read;
    this.#cachedWrite = this.#read;
    this.#announceSeq = Atomics.load(this.#header, ANNOUNCE_SEQ);
    this.#timestamps = new Float64Array(ring, 0, 8);
  }

  /** The read counter: the byte position of the next unread frame. */
  get position(): number {
    return this.#read;
  }

  /**
   * The newest barrier announcement not returned before (see RingWriter.announceBarrier), or
   * undefined. One atomic load when there is none. A newer announcement replaces an older one
   * not yet read: the newer checkpoint subsumes it.
   */
  readAnnouncement(): { checkpointId: number; position: number; timestamp: number; unaligned: boolean } | undefined {
    const header = this.#header;
    for (;;) {
      const before = Atomics.load(header, ANNOUNCE_SEQ);
      if (before === this.#announceSeq) return undefined;
      if ((before & 1) !== 0) continue; // the producer is writing it: a few stores away
      const checkpointId = Atomics.load(header, ANNOUNCE_ID);
      const position = Atomics.load(header, ANNOUNCE_POSITION);
      const unaligned = Atomics.load(header, ANNOUNCE_UNALIGNED) === 1;
      const timestamp = this.#timestamps[ANNOUNCE_TIMESTAMP]!;
      if (Atomics.load(header, ANNOUNCE_SEQ) !== before) continue;
      this.#announceSeq = before;
      return { checkpointId, position, timestamp, unaligned };
    }
  }

  /**
   * Bytes between the next unread frame and `position` (a write-counter value the producer has
   * published), copied out of the ring without consuming them: the frames a barrier at
   * `position` overtook. Wrap padding is copied as PAD frames, which forEachFrame skips. Empty
   * when `position` is at or behind the read position.
   */
  copyUnreadUntil(position: number): Uint8Array {
    const length = (position - this.#read) | 0;
    if (length <= 0) return new Uint8Array(0);
    const published = (Atomics.load(this.#header, WRITE_INDEX) - this.#read) | 0;
    if (length > published) {
      throw new WeirError('WEIR_MALFORMED_FRAME', `barrier position ${position >>> 0} is ${length - published} bytes past the published data`);
    }
    const out = new Uint8Array(length);
    const start = this.#read & this.#mask;
    const first = Math.min(length, this.capacity - start);
    out.set(this.bytes.subarray(start, start + first), 0);
    if (first < length) out.set(this.bytes.subarray(0, length - first), first);
    return out;
  }

  /**
   * Advances to the next published frame and returns its type (never FRAME_PAD: pads are
   * skipped), or -1 when none is left. The payload stays valid until release(); earlier frames'
   * payloads may be recycled, since next() publishes the read index (up to the end of the
   * previous frame) once more than capacity/4 consumed bytes are unreleased.
   */
  next(): number {
    let read = this.#read;
    if (((read - this.#released) >>> 0) > this.#releaseBytes) this.#publishRead(read);
    const words = this.#words;
    for (;;) {
      if (read === this.#cachedWrite) {
        this.#cachedWrite = Atomics.load(this.#header, WRITE_INDEX);
        if (read === this.#cachedWrite) {
          this.#read = read;
          return -1;
        }
      }
      const pos = read & this.#mask;
      const header = words[pos >> 2]!;
      const length = header >>> 4;
      const size = HEADER_BYTES + ((length + 3) & ~3);
      if (size > ((this.#cachedWrite - read) >>> 0) || pos + size > this.capacity) {
        throw new WeirError(
          'WEIR_MALFORMED_FRAME',
          `ring frame at position ${pos} (type ${header & 0xf}, length ${length}) runs past the published data or the ring end`,
        );
      }
      read = (read + size) | 0;
      const type = header & 0xf;
      if (type !== PAD) {
        this.#read = read;
        this.payloadOffset = pos + HEADER_BYTES;
        this.payloadLength = length;
        return type;
      }
    }
  }

  /** Publishes the read position (Atomics.store) and wakes the producer if it waits for space. */
  release(): void {
    if (this.#read !== this.#released) this.#publishRead(this.#read);
  }

  /** True when at least one published frame is unread (used for the final emptiness check before sleeping). */
  hasData(): boolean {
    if (this.#read !== this.#cachedWrite) return true;
    this.#cachedWrite = Atomics.load(this.#header, WRITE_INDEX);
    return this.#read !== this.#cachedWrite;
  }

  #publishRead(read: number): void {
    Atomics.store(this.#header, READ_INDEX, read);
    this.#released = read;
    if (Atomics.load(this.#header, PRODUCER_WAITING) !== 0) Atomics.notify(this.#header, READ_INDEX);
  }
}

function isValidCapacity(n: number): boolean {
  return Number.isInteger(n) && n >= RING_MIN_CAPACITY && n <= RING_MAX_CAPACITY && (n & (n - 1)) === 0;
}

function ringHeader(ring: SharedArrayBuffer): Int32Array {
  if (!HOST_LITTLE_ENDIAN) {
    throw new WeirError('WEIR_INTERNAL', 'SAB channel rings need a little-endian host (frame headers are host-order words)');
  }
  if (!(ring instanceof SharedArrayBuffer) || !isValidCapacity(ring.byteLength - RING_HEADER_BYTES)) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', 'ring must be a SharedArrayBuffer from createRingBuffer()');
  }
  const header = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
  if (header[CAPACITY] !== ring.byteLength - RING_HEADER_BYTES) {
    throw new WeirError('WEIR_INVALID_ARGUMENT', `ring header says capacity ${header[CAPACITY]}, buffer holds ${ring.byteLength - RING_HEADER_BYTES}`);
  }
  return header;
}

