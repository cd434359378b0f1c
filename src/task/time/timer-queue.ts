/**
 * A binary min-heap of timed entries, ordered by time and then by insertion (so equal times
 * come out in the order they went in). The priority queue under the processing-time service
 * and the keyed timer service; runs on the subtask's worker thread.
 */

export interface Timed {
  readonly time: number;
}

interface Slot<T> {
  readonly time: number;
  readonly seq: number;
  readonly item: T;
}

export class TimerQueue<T extends Timed> {
  #heap: Array<Slot<T>> = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  /** The earliest entry's time, or +∞ when empty. */
  peekTime(): number {
    return this.#heap.length === 0 ? Infinity : this.#heap[0]!.time;
  }

  peek(): T | undefined {
    return this.#heap[0]?.item;
  }

  push(item: T): void {
    const heap = this.#heap;
    heap.push({ time: item.time, seq: this.#seq++, item });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const heap = this.#heap;
    if (heap.length === 0) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top.item;
  }

  clear(): void {
    this.#heap = [];
  }
}

function before<T>(a: Slot<T>, b: Slot<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
