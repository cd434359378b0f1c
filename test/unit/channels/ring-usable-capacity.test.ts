// RingWriter and the usable capacity (buffer debloating): the writer keeps the ring's fill within
// the limit it last loaded, picks a new limit up at its next publish or when it runs out of room,
// and always lets one frame into an empty ring, so no limit can stall a channel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FRAME_END_OF_PARTITION, FRAME_RECORD, frameBytes } from '../../../src/channels/frame-codec.ts';
import { RingReader, RingWriter, createRingBuffer, setUsableCapacity } from '../../../src/channels/ring-buffer.ts';
import { Doorbell, createDoorbell } from '../../../src/channels/doorbell.ts';
import { fillPayload } from '../../fixtures/ring-producer.ts';
import { startTsWorker } from '../../fixtures/ts-worker.ts';

// Int32 word indices of the ring header (see the diagram in ring-buffer.ts).
const WRITE_INDEX = 0;
const READ_INDEX = 32;

/** Published fill and released bytes of a ring, read the way the other thread sees them. */
function ringView(ring: SharedArrayBuffer): { fill: () => number; released: () => number } {
  const header = new Int32Array(ring, 0, 64);
  return {
    fill: () => (Atomics.load(header, WRITE_INDEX) - Atomics.load(header, READ_INDEX)) >>> 0,
    released: () => Atomics.load(header, READ_INDEX) >>> 0,
  };
}

/**
 * The most bytes the ring may hold once the consumer has released `released()` bytes, given the
 * history of limits: the current limit, or what an older limit still allows to a writer that has
 * not loaded the new one yet. Such a writer's cached read index predates the change, so it can
 * only fill up to (old bound − bytes released since the change). A lone frame in an empty ring
 * may exceed both (`loneFrame`).
 */
class FillBound {
  #limit: number;
  #base: number;
  #at: number;
  constructor(
    limit: number,
    private readonly released: () => number,
    private readonly loneFrame: number,
  ) {
    this.#limit = limit;
    this.#base = limit;
    this.#at = released();
  }
  get limit(): number {
    return this.#limit;
  }
  change(limit: number): void {
    this.#base = this.now();
    this.#at = this.released();
    this.#limit = limit;
  }
  now(): number {
    return Math.max(this.#limit, this.#base - (this.released() - this.#at), this.loneFrame);
  }
}

/** Deterministic xorshift PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

test('shrinking the limit while the ring is full admits no frame until the fill is below the new limit; growing reopens it', () => {
  const ring = createRingBuffer(8192);
  const writer = new RingWriter(ring, new Doorbell(createDoorbell()));
  const reader = new RingReader(ring);
  const payload = new Uint8Array(60); // 64-byte frames: 128 fill the ring with no PAD
  let written = 0;
  while (writer.tryWrite(FRAME_RECORD, payload, 0, 60)) written++;
  assert.is(written, 128);
  writer.flush();
  setUsableCapacity(ring, 1024);
  let fill = 8192;
  let admitted = 0;
  while (admitted < 20) {
    assert.is(reader.next(), FRAME_RECORD);
    reader.release();
    fill -= 64;
    if (writer.tryWrite(FRAME_RECORD, payload, 0, 60)) {
      assert.ok(fill + 64 <= 1024, `a frame was admitted at fill ${fill}, over the new limit`);
      fill += 64;
      admitted++;
      writer.flush();
      assert.not.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 60), 'the ring is full again at 1 024');
    } else {
      assert.ok(fill + 64 > 1024, `a frame was refused at fill ${fill}, under the new limit`);
    }
    assert.is(writer.usedBytes(), fill);
  }
  assert.is(fill, 1024);
  // Growing back: the writer finds the new limit when it runs out of room under the old one.
  setUsableCapacity(ring, 8192);
  let more = 0;
  while (writer.tryWrite(FRAME_RECORD, payload, 0, 60)) more++;
  assert.is(more, (8192 - 1024) / 64);
  assert.is(writer.usedBytes(), 8192);
});

test('a writer with room picks a lower limit up at its next publish, so it overshoots by at most publishEvery frames', () => {
  const ring = createRingBuffer(8192);
  const writer = new RingWriter(ring, new Doorbell(createDoorbell()), 4);
  const payload = new Uint8Array(60);
  assert.ok(writer.tryWrite(FRAME_RECORD, payload, 0, 60)); // caches limit 8192
  setUsableCapacity(ring, 64);
  let n = 1;
  while (writer.tryWrite(FRAME_RECORD, payload, 0, 60)) n++;
  assert.is(n, 4, 'the 4th frame publishes and reloads the limit; the 5th is refused');
  assert.is(writer.usedBytes(), 256);
});

test('a frame larger than the limit passes only into an empty ring, before or after the ring end', () => {
  const ring = createRingBuffer(1024);
  const writer = new RingWriter(ring, new Doorbell(createDoorbell()), 1);
  const reader = new RingReader(ring);
  const big = new Uint8Array(200); // 204-byte frames
  setUsableCapacity(ring, 100);
  for (let i = 0; i < 12; i++) {
    // 5 frames of 204 bytes end at 1020; the 6th needs a 4-byte PAD and starts at 0.
    assert.ok(writer.tryWrite(FRAME_RECORD, big, 0, 200), `frame ${i} into the empty ring`);
    assert.not.ok(writer.tryWrite(FRAME_RECORD, big, 0, 0), 'nothing joins it, not even an empty frame');
    assert.is(reader.next(), FRAME_RECORD);
    assert.is(reader.payloadLength, 200);
    reader.release();
  }
  assert.is(writer.usedBytes(), 0);
});

test('random frames, reads and limit changes: every write fits the limit history, every refusal is a full ring', () => {
  const capacity = 4096;
  const ring = createRingBuffer(capacity);
  const writer = new RingWriter(ring, new Doorbell(createDoorbell()), 16);
  const reader = new RingReader(ring);
  const view = ringView(ring);
  const random = prng(5);
  const scratch = new Uint8Array(writer.maxPayload);
  const bound = new FillBound(capacity, view.released, 2 * frameBytes(writer.maxPayload));
  let write = 0; // mirror of the writer's counter, PADs included
  let writes = 0;
  let refusals = 0;
  for (let step = 0; step < 50_000; step++) {
    const r = random();
    if (r < 0.02) {
      const limits = [1, 40, 100, 500, 1024, 2000, capacity];
      const limit = random() < 0.5 ? limits[Math.floor(random() * limits.length)]! : 1 + Math.floor(random() * capacity);
      setUsableCapacity(ring, limit);
      bound.change(limit);
    } else if (r < 0.35) {
      const frames = Math.floor(random() * 12);
      for (let i = 0; i < frames && reader.next() !== -1; i++);
      if (random() < 0.8) reader.release();
    } else if (r < 0.37) {
      writer.flush();
    } else {
      const length = random() < 0.1 ? Math.floor(random() * (writer.maxPayload + 1)) : Math.floor(random() * 40);
      const need = frameBytes(length);
      const contiguous = capacity - (write % capacity);
      const total = need <= contiguous ? need : contiguous + need;
      const usedBefore = (write - view.released()) >>> 0;
      if (writer.tryWrite(FRAME_RECORD, scratch, 0, length)) {
        write += total;
        writes++;
        const fill = (write - view.released()) >>> 0;
        if (usedBefore !== 0 && fill > bound.now()) {
          assert.unreachable(`step ${step}: fill ${fill} after a write exceeds the bound ${bound.now()} (limit ${bound.limit})`);
        }
      } else {
        refusals++;
        if (usedBefore === 0 || usedBefore + total <= bound.limit) {
          assert.unreachable(`step ${step}: a ${total}-byte write was refused at fill ${usedBefore} under limit ${bound.limit}`);
        }
      }
    }
  }
  assert.ok(writes > 10_000 && refusals > 1_000, `${writes} writes, ${refusals} refusals`);
});

/**
 * Streams 100k records from a producer worker through a 16 KiB ring while this thread changes the
 * limit: full, shrunk while full, below one frame, grown back. In each phase the consumer lets
 * the producer fill the ring up to the limit (it waits until the fill leaves no room for another
 * frame, so a writer that stopped early hangs the test) and checks the fill against the limit
 * history after every release (so a writer that ignored the limit fails it). Fails after 60 s.
 */
async function limitPhases(wait: 'sync' | 'async'): Promise<void> {
  const count = 100_000;
  const capacity = 16384;
  const ring = createRingBuffer(capacity);
  const doorbellSab = createDoorbell();
  const doorbell = new Doorbell(doorbellSab);
  const reader = new RingReader(ring);
  const view = ringView(ring);
  // Fixture frames carry 4..40 payload bytes: at most 44 bytes, plus a PAD under 44 before a wrap.
  const maxTotal = 2 * frameBytes(40) - 4;
  const bound = new FillBound(capacity, view.released, maxTotal);
  const worker = startTsWorker(new URL('../../fixtures/ring-producer.ts', import.meta.url), {
    workerData: { ring, doorbell: doorbellSab, count, wait, publishEvery: 16 },
  });
  let failure: unknown;
  worker.on('error', (error) => (failure = error));
  const deadline = Date.now() + 60_000;
  const random = prng(11);
  const expected = new Uint8Array(64);
  let seq = 0;
  let ended = false;

  const checkBound = (where: string): void => {
    const fill = view.fill();
    if (fill > bound.now()) assert.unreachable(`${where}: fill ${fill} exceeds ${bound.now()} (limit ${bound.limit}, record ${seq})`);
  };
  const guard = (what: string): void => {
    if (failure !== undefined) throw failure;
    if (Date.now() > deadline) assert.unreachable(`timed out after 60 s ${what} (limit ${bound.limit}, record ${seq})`);
  };
  /** Reads up to `frames` frames, checking each record, then releases them. */
  const readSome = (frames: number): void => {
    for (let i = 0; i < frames; i++) {
      const type = reader.next();
      if (type === -1) break;
      if (type === FRAME_END_OF_PARTITION) {
        assert.is(seq, count, 'END_OF_PARTITION after every record');
        ended = true;
        break;
      }
      assert.is(type, FRAME_RECORD);
      const length = fillPayload(expected, seq);
      if (reader.payloadLength !== length) assert.unreachable(`record ${seq}: length ${reader.payloadLength}, expected ${length}`);
      for (let j = 0; j < length; j++) {
        if (reader.bytes[reader.payloadOffset + j] !== expected[j]) assert.unreachable(`record ${seq}: byte ${j} differs`);
      }
      seq++;
    }
    reader.release();
    checkBound('after a release');
  };
  /** Sleeps on the doorbell until `done()` (the producer rings it whenever it publishes). */
  const waitFor = async (done: () => boolean, what: string): Promise<void> => {
    while (!done()) {
      guard(what);
      const token = doorbell.prepareToSleep();
      if (done()) {
        doorbell.cancelSleep();
        break;
      }
      await doorbell.sleepAsync(token, 20);
    }
  };

  const phases = [
    { limit: capacity, bytes: 64 * 1024 },
    { limit: 1024, bytes: 24 * 1024 }, // shrunk while full
    { limit: 100, bytes: 4 * 1024 },
    { limit: 1, bytes: 2 * 1024 }, // below one frame: one frame at a time
    { limit: 4096, bytes: 24 * 1024 }, // grown back
    { limit: capacity, bytes: 64 * 1024 },
    { limit: 2048, bytes: 16 * 1024 },
  ];
  try {
    for (const phase of phases) {
      setUsableCapacity(ring, phase.limit);
      bound.change(phase.limit);
      const start = view.released();
      // A blocked producer leaves less room than its next frame: fill > limit − maxTotal (and ≥ 1).
      const full = (): boolean => view.fill() > Math.max(0, phase.limit - maxTotal);
      while (view.released() - start < phase.bytes) {
        readSome(1 + Math.floor(random() * 8));
        await waitFor(full, `waiting for the producer to fill the ring to ${phase.limit}`);
        checkBound('with the ring full');
        assert.not.ok(ended, 'the producer finished before the phases did');
      }
    }
    setUsableCapacity(ring, capacity);
    bound.change(capacity);
    while (!ended) {
      readSome(256);
      if (!ended) await waitFor(() => reader.hasData(), 'draining');
    }
  } finally {
    await worker.terminate();
  }
}

test('two threads: a producer keeps within a limit that shrinks while full, drops below one frame and grows back (sync producer)', async () => {
  await limitPhases('sync');
});

test('two threads: the same with a producer that waits for room asynchronously', async () => {
  await limitPhases('async');
});

test.run();
