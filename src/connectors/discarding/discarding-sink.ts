/**
 * DiscardingSink (Flink's name): accepts every record and keeps nothing. For benchmarks and
 * for jobs whose effect is elsewhere; the operator's recordsIn metric still counts what arrived.
 * Writers run on the sink subtask's worker thread.
 */
import type { Sink, SinkWriter } from '../../task/sink.ts';

export class DiscardingSink<T> implements Sink<T> {
  createWriter(): SinkWriter<T> {
    return { write() {} };
  }
}
