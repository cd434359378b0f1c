/**
 * Partitioners: which output channel(s) of an edge a record goes to (Flink's
 * StreamPartitioner family). Pure; instantiated per producer subtask on its worker thread.
 */
import { WeirError } from '../errors.ts';
import { canonicalKey, keyGroupOf, subtaskForKeyGroup } from '../state/key-groups.ts';
import type { KeySelector } from '../task/functions.ts';
import type { PartitionerKind } from './transformation.ts';

/** `selectChannel` returns this when the record goes to every channel. */
export const ALL_CHANNELS = -1;

export interface Partitioner {
  readonly kind: PartitionerKind;
  /** The channel index in [0, numberOfChannels), or ALL_CHANNELS. */
  selectChannel(record: unknown): number;
  /** Hash partitioners: the key group of the record last selected for (−1 for the others). */
  readonly lastKeyGroup: number;
}

/** Subtask i to subtask i: the edge has a single channel per producer. */
export class ForwardPartitioner implements Partitioner {
  readonly kind = 'forward';
  readonly lastKeyGroup = -1;
  selectChannel(): number {
    return 0;
  }
}

/** Round robin, starting at the producer's own index so that producers don't move in lockstep. */
export class RebalancePartitioner implements Partitioner {
  readonly kind = 'rebalance';
  readonly lastKeyGroup = -1;
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
  readonly lastKeyGroup = -1;
  selectChannel(): number {
    return ALL_CHANNELS;
  }
}

/** Names the keyed operator a hash edge feeds, for errors raised by its key selector. */
export interface KeySelectorOwner {
  readonly operatorId: string;
  readonly operatorName: string;
  /** The producer subtask that ran the selector. */
  readonly subtaskIndex: number;
}

/** Key → key group → the consumer subtask owning that key group. */
export class HashPartitioner implements Partitioner {
  readonly kind = 'hash';
  lastKeyGroup = -1;
  readonly #keySelector: KeySelector<unknown, unknown>;
  readonly #channels: number;
  readonly #maxParallelism: number;
  readonly #owner: KeySelectorOwner;

  constructor(keySelector: KeySelector<unknown, unknown>, numberOfChannels: number, maxParallelism: number, owner: KeySelectorOwner) {
    this.#keySelector = keySelector;
    this.#channels = numberOfChannels;
    this.#maxParallelism = maxParallelism;
    this.#owner = owner;
  }

  selectChannel(record: unknown): number {
    let key;
    try {
      key = canonicalKey(this.#keySelector(record));
    } catch (error) {
      throw this.#error(error);
    }
    const keyGroup = keyGroupOf(key, this.#maxParallelism);
    this.lastKeyGroup = keyGroup;
    return subtaskForKeyGroup(keyGroup, this.#channels, this.#maxParallelism);
  }

  #error(error: unknown): WeirError {
    const { operatorId, operatorName, subtaskIndex } = this.#owner;
    const detail = error instanceof Error ? error.message : String(error);
    return new WeirError(
      'WEIR_USER_FUNCTION_FAILED',
      `the keyBy key selector of operator '${operatorId}' (${operatorName}) failed in producer subtask ${subtaskIndex}: ${detail}`,
      { cause: error, context: { operatorId, operatorName, subtaskIndex } },
    );
  }
}

export function createPartitioner(
  kind: PartitionerKind,
  options: {
    numberOfChannels: number;
    producerSubtaskIndex: number;
    maxParallelism: number;
    keySelector: KeySelector<unknown, unknown> | undefined;
    /** The operator the edge feeds (hash edges name it in key selector errors). */
    owner: KeySelectorOwner;
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
      return new HashPartitioner(options.keySelector, options.numberOfChannels, options.maxParallelism, options.owner);
  }
}
