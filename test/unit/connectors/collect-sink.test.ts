import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CollectSink } from '../../../src/connectors/collect/collect-sink.ts';

test('a writer returns every record in arrival order from result()', () => {
  const sink = new CollectSink<unknown>();
  const writer = sink.createWriter({ subtaskIndex: 0, parallelism: 2, operatorId: 'collect' });
  const records = [3, 'a', { id: 1 }, null, 3];
  for (const record of records) writer.write(record);
  assert.equal(writer.result(), records);
});

test('each writer keeps its own records', () => {
  const sink = new CollectSink<number>();
  const a = sink.createWriter({ subtaskIndex: 0, parallelism: 2, operatorId: 'collect' });
  const b = sink.createWriter({ subtaskIndex: 1, parallelism: 2, operatorId: 'collect' });
  a.write(1);
  b.write(2);
  assert.equal(a.result(), [1]);
  assert.equal(b.result(), [2]);
  assert.equal(new CollectSink().createWriter({ subtaskIndex: 0, parallelism: 1, operatorId: 'c' }).result(), []);
});

test.run();
