/**
 * Partitioners: which output channel(s) of an edge a record goes to (Flink's
 * StreamPartitioner family). Pure; instantiated per producer subtask on its worker thread.
 */
import { canonicalKey, keyGroupOf, subtaskForKeyGroup } from '../state/key-groups.ts';
import type { KeySelector } from '../task/functions.ts';
import type { PartitionerKind } from './transformation.ts';

/** `selectChannel` returns this when the record goes to every channel. */
export const ALL_CHANNELS = -1;

export interface Partitioner {
  readonly kind: PartitionerKind;
  /** The channel index in [0, numberOfChannels), or ALL_CHANNELS. */
  selectChannel(record: unknown): number;
}

/** Subtask i to subtask i: the edge has a single channel per producer. */
export class ForwardPartitioner implements Partitioner {
  readonly kind = 'forward';
  selectChannel(): number {
    return 0;
  }
}

/** Round robin, starting at the producer's own index so that producers don't move in lockstep. */
export class RebalancePartitioner implements Partitioner {
  readonly kind = 'rebalance';
  #next: number;
  readonly #channels: number;

  constructor(numberOfChannels: number, producerSubtaskIndex: number) {
    this.#channels = numberOfChannels;
    this.#next = producerSubtaskIndex % numberOfChannels;
  }

  selectChannel(): number {
    const channel = this.#next;
    this.#next = channel + 1 === this.#channels ? 0 : channel + 1;
    return channel;
  }
}

export class BroadcastPartitioner implements Partitioner {
  readonly kind = 'broadcast';
  selectChannel(): number {
    return ALL_CHANNELS;
  }
}

/** Key → key group → the consumer subtask owning that key group. */
export class HashPartitioner implements Partitioner {
  readonly kind = 'hash';
  readonly #keySelector: KeySelector<unknown, unknown>;
  readonly #channels: number;
  readonly #maxParallelism: number;

  constructor(keySelector: KeySelector<unknown, unknown>, numberOfChannels: number, maxParallelism: number) {
    this.#keySelector = keySelector;
    this.#channels = numberOfChannels;
    this.#maxParallelism = maxParallelism;
  }

  selectChannel(record: unknown): number {
    const keyGroup = keyGroupOf(canonicalKey(this.#keySelector(record)), this.#maxParallelism);
    return subtaskForKeyGroup(keyGroup, this.#channels, this.#maxParallelism);
  }
}

export function createPartitioner(
  kind: PartitionerKind,
  options: {
    numberOfChannels: number;
    producerSubtaskIndex: number;
    maxParallelism: number;
    keySelector: KeySelector<unknown, unknown> | undefined;
  },
): Partitioner {
  switch (kind) {
    case 'forward':
      return new ForwardPartitioner();
    case 'rebalance':
      return new RebalancePartitioner(options.numberOfChannels, options.producerSubtaskIndex);
    case 'broadcast':
      return new BroadcastPartitioner();
    case 'hash':
      if (options.keySelector === undefined) throw new TypeError('a hash partitioner needs a key selector');
      return new HashPartitioner(options.keySelector, options.numberOfChannels, options.maxParallelism);
  }
}
