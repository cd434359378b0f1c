/**
 * Channel throughput, side by side in one run: small records from a producer worker thread to
 * the main thread through (a) our SAB ring (RingWriter/RingReader + Doorbell), (b) postMessage
 * with one object per message, (c) postMessage with arrays of 1,000 objects, and for context
 * (d) the ring with each record encoded from and rebuilt into an object.
 * Usage: npm run bench:channels [-- --quick]. The last line printed is one JSON object.
 */

import { availableParallelism, loadavg } from 'node:os';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { FRAME_END_OF_PARTITION, FRAME_RECORD, frameBytes } from '../src/channels/frame-codec.ts';
import { Doorbell, createDoorbell } from '../src/channels/doorbell.ts';
import { RingReader, RingWriter, createRingBuffer } from '../src/channels/ring-buffer.ts';

/** Payload of one record: u32 seq, u32 key, f64 value, f64 ts, u32 flags, u32 spare = 32 bytes. */
const RECORD_BYTES = 32;
const RING_CAPACITY = 256 * 1024;
const PUBLISH_EVERY = 64;
/** Empty polls of the ring before the consumer parks on its doorbell. */
const CONSUMER_SPIN = 2000;

interface BenchRecord {
  seq: number;
  key: number;
  value: number;
  ts: number;
}

type Command =
  | { kind: 'ring' | 'ring-objects'; count: number; ring: SharedArrayBuffer; doorbell: SharedArrayBuffer }
  | { kind: 'post' | 'post-batched'; count: number };

type Mode = Command['kind'];

// ---------------------------------------------------------------------------------------------
// Producer (worker thread)

function makeRecord(seq: number): BenchRecord {
  return { seq, key: seq % 1000, value: seq * 0.5, ts: 1_700_000_000_000 + seq };
}

function produceRing(command: Extract<Command, { kind: 'ring' | 'ring-objects' }>): void {
  const writer = new RingWriter(command.ring, new Doorbell(command.doorbell), PUBLISH_EVERY);
  const scratch = new Uint8Array(RECORD_BYTES);
  const words = new Uint32Array(scratch.buffer);
  const doubles = new Float64Array(scratch.buffer);
  const objects = command.kind === 'ring-objects';
  const need = frameBytes(RECORD_BYTES);
  for (let seq = 0; seq < command.count; seq++) {
    if (objects) {
      const record = makeRecord(seq); // what a user function would have emitted
      words[0] = record.seq;
      words[1] = record.key;
      doubles[1] = record.value;
      doubles[2] = record.ts;
    } else {
      words[0] = seq;
      words[1] = seq % 1000;
      doubles[1] = seq * 0.5;
      doubles[2] = 1_700_000_000_000 + seq;
    }
    while (!writer.tryWrite(FRAME_RECORD, scratch, 0, RECORD_BYTES)) writer.waitForSpaceSync(need, 1000);
  }
  while (!writer.tryWrite(FRAME_END_OF_PARTITION, scratch, 0, 0)) writer.waitForSpaceSync(4, 1000);
  writer.flush();
}

function producePosts(port: NonNullable<typeof parentPort>, count: number, batched: boolean): void {
  if (!batched) {
    for (let seq = 0; seq < count; seq++) port.postMessage(makeRecord(seq));
    return;
  }
  for (let seq = 0; seq < count; ) {
    const batch: BenchRecord[] = [];
    for (let i = 0; i < 1000 && seq < count; i++, seq++) batch.push(makeRecord(seq));
    port.postMessage(batch);
  }
}

function runProducer(port: NonNullable<typeof parentPort>): void {
  port.on('message', (command: Command) => {
    if (command.kind === 'ring' || command.kind === 'ring-objects') produceRing(command);
    else producePosts(port, command.count, command.kind === 'post-batched');
  });
  port.postMessage('ready');
}

// ---------------------------------------------------------------------------------------------
// Consumer (main thread)

/** Drains one ring run on this thread (blocking it); returns records/s. */
function consumeRing(worker: Worker, kind: 'ring' | 'ring-objects', count: number): number {
  const ring = createRingBuffer(RING_CAPACITY);
  const doorbellSab = createDoorbell();
  const doorbell = new Doorbell(doorbellSab);
  const reader = new RingReader(ring);
  const bytes = reader.bytes;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const objects = kind === 'ring-objects';
  let expected = 0;
  let checksum = 0;
  const started = performance.now();
  worker.postMessage({ kind, count, ring, doorbell: doorbellSab } satisfies Command);
  let idle = 0;
  for (;;) {
    let type: number;
    while ((type = reader.next()) !== -1) {
      if (type !== FRAME_RECORD) {
        if (expected !== count) throw new Error(`ring run ended after ${expected} of ${count} records`);
        reader.release();
        const seconds = (performance.now() - started) / 1000;
        if (checksum === -1) console.log('unreachable');
        return count / seconds;
      }
      const at = reader.payloadOffset;
      if (objects) {
        const record: BenchRecord = {
          seq: view.getUint32(at, true),
          key: view.getUint32(at + 4, true),
          value: view.getFloat64(at + 8, true),
          ts: view.getFloat64(at + 16, true),
        };
        if (record.seq !== expected) throw new Error(`ring record ${record.seq} arrived, expected ${expected}`);
        checksum += record.key;
      } else {
        const seq = words[at >> 2]!;
        if (seq !== expected) throw new Error(`ring record ${seq} arrived, expected ${expected}`);
        checksum += words[(at >> 2) + 1]!;
      }
      expected++;
    }
    reader.release();
    if (reader.hasData() || ++idle < CONSUMER_SPIN) continue;
    idle = 0;
    const token = doorbell.prepareToSleep();
    if (reader.hasData()) doorbell.cancelSleep();
    else doorbell.sleepSync(token, 1000);
  }
}

/** Receives one postMessage run; resolves with records/s. */
function consumePosts(worker: Worker, kind: 'post' | 'post-batched', count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let expected = 0;
    const check = (record: BenchRecord): void => {
      if (record.seq !== expected) reject(new Error(`postMessage record ${record.seq} arrived, expected ${expected}`));
      expected++;
    };
    const onMessage = (message: BenchRecord | BenchRecord[]): void => {
      if (Array.isArray(message)) for (const record of message) check(record);
      else check(message);
      if (expected === count) {
        worker.off('message', onMessage);
        resolve(count / ((performance.now() - started) / 1000));
      }
    };
    worker.on('message', onMessage);
    const started = performance.now();
    worker.postMessage({ kind, count } satisfies Command);
  });
}

function startProducer(): Promise<Worker> {
  // On Node 20 `--import tsx` in execArgv does not reach worker threads: register tsx in the worker.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message) => (message === 'ready' ? resolve(worker) : reject(new Error(String(message)))));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function millions(n: number): string {
  return `${(n / 1e6).toFixed(2)} M`;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const reps = quick ? 5 : 9;
  const counts: Record<Mode, number> = quick
    ? { ring: 20_000_000, 'ring-objects': 5_000_000, post: 300_000, 'post-batched': 2_000_000 }
    : { ring: 100_000_000, 'ring-objects': 20_000_000, post: 1_000_000, 'post-batched': 10_000_000 };
  const labels: Record<Mode, string> = {
    ring: 'SAB ring, 32-byte payloads',
    'ring-objects': 'SAB ring, object encoded + rebuilt',
    post: 'postMessage, one object per message',
    'post-batched': 'postMessage, arrays of 1,000 objects',
  };
  const modes: Mode[] = ['ring', 'ring-objects', 'post', 'post-batched'];
  const rates: Record<Mode, number[]> = { ring: [], 'ring-objects': [], post: [], 'post-batched': [] };
  const loadBefore = loadavg()[0]!;
  const worker = await startProducer();
  try {
    // Warm-up: JIT both ends of every path on a small run.
    for (const mode of modes) await runOne(worker, mode, Math.ceil(counts[mode] / 20));
    // Interleave the modes, so drift (thermal, other load) hits all of them alike.
    for (let rep = 0; rep < reps; rep++) {
      for (const mode of modes) rates[mode].push(await runOne(worker, mode, counts[mode]));
    }
  } finally {
    await worker.terminate();
  }

  console.log(`channels: producer worker → main thread, ${reps} runs each, ring ${RING_CAPACITY / 1024} KiB, publishEvery ${PUBLISH_EVERY}`);
  // Two busy threads on a 2-core machine: other load on the host moves these figures a lot.
  console.log(`host: ${availableParallelism()} cores, load average ${loadBefore.toFixed(2)} before, ${loadavg()[0]!.toFixed(2)} after`);
  console.log(`${'path'.padEnd(40)} ${'records'.padStart(12)} ${'median/s'.padStart(10)} ${'min–max/s'.padStart(18)}`);
  for (const mode of modes) {
    const r = rates[mode];
    console.log(
      `${labels[mode].padEnd(40)} ${counts[mode].toLocaleString('en-US').padStart(12)} ${millions(median(r)).padStart(10)} ${`${millions(Math.min(...r))}–${millions(Math.max(...r))}`.padStart(18)}`,
    );
  }
  const ring = median(rates.ring);
  const post = median(rates.post);
  const batched = median(rates['post-batched']);
  console.log(
    JSON.stringify({
      ring_records_per_s: Math.round(ring),
      ring_objects_records_per_s: Math.round(median(rates['ring-objects'])),
      postmessage_records_per_s: Math.round(post),
      postmessage_batched_records_per_s: Math.round(batched),
      ratio: Number((ring / batched).toFixed(2)),
      ratio_unbatched: Number((ring / post).toFixed(2)),
    }),
  );
}

async function runOne(worker: Worker, mode: Mode, count: number): Promise<number> {
  if (mode === 'ring' || mode === 'ring-objects') return consumeRing(worker, mode, count);
  return consumePosts(worker, mode, count);
}

if (isMainThread) await main();
else runProducer(parentPort!);
