// Shared helpers for single-thread channel tests: rings for one consumer, and an InputGate
// handler that collects records.
import { createDoorbell } from '../../src/channels/doorbell.ts';
import { createRingBuffer } from '../../src/channels/ring-buffer.ts';
import type { OutputChannel } from '../../src/channels/output-writer.ts';
import type { InputHandler } from '../../src/channels/input-gate.ts';

/** `n` rings feeding one consumer subtask (one shared doorbell), as output channels and as gate inputs. */
export function consumerRings(n: number, ringBytes = 64 * 1024): { rings: SharedArrayBuffer[]; outputs: OutputChannel[] } {
  const doorbell = createDoorbell();
  const rings = Array.from({ length: n }, () => createRingBuffer(ringBytes));
  return { rings, outputs: rings.map((ring) => ({ ring, doorbell })) };
}

/**
 * An InputHandler that keeps every record in arrival order, and beside each the key group it
 * came with (−1 for plain records, the producer's key group for keyed records).
 */
export function collector(): InputHandler & {
  records: unknown[];
  keyGroups: number[];
  barriers: number[];
  timestamps: number[];
  inputs: number[];
  /** Watermarks handed on, and status changes as 'idle' / 'active', in order. */
  watermarks: Array<number | 'idle' | 'active'>;
} {
  const records: unknown[] = [];
  const keyGroups: number[] = [];
  const barriers: number[] = [];
  const timestamps: number[] = [];
  const inputs: number[] = [];
  const watermarks: Array<number | 'idle' | 'active'> = [];
  return {
    records,
    keyGroups,
    barriers,
    timestamps,
    inputs,
    watermarks,
    processWatermark(timestamp) {
      watermarks.push(timestamp);
    },
    processWatermarkStatus(idle) {
      watermarks.push(idle ? 'idle' : 'active');
    },
    processBarrier(barrier) {
      barriers.push(barrier.checkpointId);
    },
    processRecord(record: unknown, timestamp: number, input: number) {
      records.push(record);
      keyGroups.push(-1);
      timestamps.push(timestamp);
      inputs.push(input);
    },
    processKeyedRecord(record: unknown, keyGroup: number, timestamp: number, input: number) {
      records.push(record);
      keyGroups.push(keyGroup);
      timestamps.push(timestamp);
      inputs.push(input);
    },
  };
}
