import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, FileSinkCommitter, firstFreePartIndex, partFileNames } from '../../../src/connectors/file/file-sink.ts';
import { WeirError } from '../../../src/errors.ts';
import { throwsCode as expectCode } from '../../helpers/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'weir-file-sink-'));
let dirCount = 0;
const freshDir = (): string => join(root, `d${dirCount++}`, 'nested', 'out');

function context(subtaskIndex: number, parallelism = 1) {
  return { subtaskIndex, parallelism, operatorId: 'sink' };
}

const visible = (dir: string): string[] => readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
const hidden = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('.')).sort();
const read = (dir: string, name: string): string => readFileSync(join(dir, name), 'utf8');

function expectSinkError(fn: () => unknown, pattern: RegExp): WeirError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, WeirError);
    assert.is((error as WeirError).code, 'WEIR_SINK_FAILED');
    assert.match((error as Error).message, pattern);
    return error as WeirError;
  }
  assert.unreachable('expected an error');
  throw new Error('unreachable');
}

test('nothing is visible before finish(); afterwards one committed file with the exact JSON lines', () => {
  const dir = freshDir();
  const writer = new FileSink<unknown>({ directory: dir }).createWriter(context(0));
  writer.open();
  const records = [{ id: 1, name: 'é😀' }, 'text', 42, null, [1, 'two'], { nested: { deep: true } }];
  for (const record of records) writer.write(record);
  assert.equal(visible(dir), []);
  assert.equal(hidden(dir), ['.part-0-0.jsonl.inprogress']);
  writer.finish();
  writer.close();
  assert.equal(readdirSync(dir), ['part-0-0.jsonl']);
  assert.is(read(dir, 'part-0-0.jsonl'), records.map((r) => JSON.stringify(r) + '\n').join(''));
});

test('buffered output larger than the write buffer arrives complete and in order', () => {
  const dir = freshDir();
  const writer = new FileSink<unknown>({ directory: dir }).createWriter(context(0));
  writer.open();
  const expected: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const record = i % 1000 === 0 ? { i, big: 'ü'.repeat(40_000) } : { i, s: 'x'.repeat(i % 50) };
    writer.write(record);
    expected.push(JSON.stringify(record) + '\n');
  }
  writer.finish();
  assert.is(read(dir, 'part-0-0.jsonl'), expected.join(''));
});

test('a part that exceeds maxPartBytes is rolled to a hidden pending file, then committed by finish()', () => {
  const dir = freshDir();
  const writer = new FileSink<string>({ directory: dir, maxPartBytes: 10 }).createWriter(context(2, 3));
  writer.open();
  // Each record is '"abcd"\n' = 7 bytes: a part rolls after its second record (14 > 10).
  for (const r of ['abcd', 'efgh', 'ijkl', 'mnop', 'qrst']) writer.write(r);
  assert.equal(visible(dir), []);
  assert.equal(hidden(dir), ['.part-2-0.jsonl.pending', '.part-2-1.jsonl.pending', '.part-2-2.jsonl.inprogress']);
  writer.finish();
  assert.equal(readdirSync(dir).sort(), ['part-2-0.jsonl', 'part-2-1.jsonl', 'part-2-2.jsonl']);
  assert.is(read(dir, 'part-2-0.jsonl'), '"abcd"\n"efgh"\n');
  assert.is(read(dir, 'part-2-1.jsonl'), '"ijkl"\n"mnop"\n');
  assert.is(read(dir, 'part-2-2.jsonl'), '"qrst"\n');
});

test('a roll on the last record opens no empty part', () => {
  const dir = freshDir();
  const writer = new FileSink<string>({ directory: dir, maxPartBytes: 10 }).createWriter(context(0));
  writer.open();
  writer.write('abcd');
  writer.write('efgh');
  writer.finish();
  assert.equal(readdirSync(dir), ['part-0-0.jsonl']);
});

test('numbering continues after the highest existing part of the same subtask', () => {
  const dir = freshDir();
  const first = new FileSink<number>({ directory: dir }).createWriter(context(1, 2));
  first.open();
  first.write(1);
  first.finish();
  writeFileSync(join(dir, 'part-1-6.jsonl'), 'old\n');
  writeFileSync(join(dir, 'part-0-9.jsonl'), 'other subtask\n');
  const second = new FileSink<number>({ directory: dir }).createWriter(context(1, 2));
  second.open();
  second.write(2);
  second.finish();
  assert.equal(visible(dir), ['part-0-9.jsonl', 'part-1-0.jsonl', 'part-1-6.jsonl', 'part-1-7.jsonl']);
  assert.is(read(dir, 'part-1-0.jsonl'), '1\n');
  assert.is(read(dir, 'part-1-6.jsonl'), 'old\n');
  assert.is(read(dir, 'part-1-7.jsonl'), '2\n');
});

test('firstFreePartIndex also steps over hidden leftovers of the subtask, and only of it', () => {
  const names = ['part-3-2.jsonl', '.part-3-5.jsonl.pending', '.part-3-4.jsonl.inprogress', 'part-30-9.jsonl', 'x'];
  assert.is(firstFreePartIndex(names, 3), 6);
  assert.is(firstFreePartIndex(names, 30), 10);
  assert.is(firstFreePartIndex(names, 0), 0);
  assert.equal(partFileNames(3, 6), {
    inProgress: '.part-3-6.jsonl.inprogress',
    pending: '.part-3-6.jsonl.pending',
    committed: 'part-3-6.jsonl',
  });
});

test('a subtask that received no records commits no file', () => {
  const dir = freshDir();
  const writer = new FileSink({ directory: dir }).createWriter(context(0));
  writer.open();
  writer.finish();
  writer.close();
  assert.ok(existsSync(dir), 'open() created the directory');
  assert.equal(readdirSync(dir), []);
});

test('close() without finish() leaves only hidden files', () => {
  const dir = freshDir();
  const writer = new FileSink<number>({ directory: dir, maxPartBytes: 4 }).createWriter(context(0));
  writer.open();
  for (let i = 0; i < 10; i++) writer.write(1000 + i);
  writer.close();
  assert.equal(visible(dir), []);
  assert.ok(hidden(dir).length > 1);
  assert.ok(hidden(dir).every((n) => /^\.part-0-\d+\.jsonl\.(pending|inprogress)$/.test(n)));
});

test('a record JSON cannot represent fails with WEIR_SINK_FAILED naming the subtask and the type', () => {
  const dir = freshDir();
  const writer = new FileSink<unknown>({ directory: dir }).createWriter(context(3, 4));
  writer.open();
  let error = expectSinkError(() => writer.write(undefined), /^FileSink subtask 3: a record of type undefined cannot/);
  assert.is(error.retriable, false);
  assert.is(error.context.subtaskIndex, 3);
  expectSinkError(() => writer.write(() => 1), /subtask 3: a record of type function/);
  expectSinkError(() => writer.write(Symbol('s')), /type symbol/);
  error = expectSinkError(() => writer.write(10n), /type bigint cannot be written as JSON: .*BigInt/);
  assert.instance(error.cause, TypeError);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  expectSinkError(() => writer.write(cyclic), /type object cannot be written as JSON: .*circular/i);
  writer.write('fine');
  writer.finish();
  assert.is(read(dir, 'part-3-0.jsonl'), '"fine"\n');
});

test('options are validated with messages naming the option', () => {
  const check = (fn: () => unknown, pattern: RegExp): void => {
    try {
      fn();
      assert.unreachable('expected an error');
    } catch (error) {
      assert.is((error as WeirError).code, 'WEIR_INVALID_OPTION');
      assert.match((error as Error).message, pattern);
    }
  };
  check(() => new FileSink({ directory: '' }), /^FileSink options.directory must be a non-empty string, got ""$/);
  check(() => new FileSink({ directory: 'x', maxPartBytes: 0 }), /options.maxPartBytes must be a positive integer, got 0/);
  check(() => new FileSink({ directory: 'x', maxPartBytes: 1.5 }), /options.maxPartBytes/);
});

test('the constructor touches no file', () => {
  const dir = freshDir();
  const sink = new FileSink({ directory: dir });
  sink.createWriter(context(0));
  assert.not.ok(existsSync(dir));
});

// ---------------------------------------------------------------------------------------------
// Two-phase commit: prepareCommit (writer) → commit / cleanup (FileSinkCommitter)


test('prepareCommit rolls the open part to a hidden pending file and returns {pending, committed} committables', () => {
  const dir = freshDir();
  const writer = new FileSink<string>({ directory: dir }).createWriter(context(1, 2));
  writer.open();
  writer.write('a');
  writer.write('b');
  assert.equal(hidden(dir), ['.part-1-0.jsonl.inprogress']);
  const committables = writer.prepareCommit(1);
  assert.equal(committables, [{ pending: '.part-1-0.jsonl.pending', committed: 'part-1-0.jsonl' }]);
  assert.equal(hidden(dir), ['.part-1-0.jsonl.pending']);
  assert.equal(visible(dir), []);
  assert.is(read(dir, '.part-1-0.jsonl.pending'), '"a"\n"b"\n', 'the pending file holds every record, flushed');
  assert.equal(writer.prepareCommit(2), [], 'nothing new since the last checkpoint: nothing to commit');
  writer.write('c');
  assert.equal(hidden(dir), ['.part-1-0.jsonl.pending', '.part-1-1.jsonl.inprogress'], 'the next record opens the next part');
  assert.equal(writer.prepareCommit(3), [{ pending: '.part-1-1.jsonl.pending', committed: 'part-1-1.jsonl' }]);
  writer.close();
});

test('prepareCommit hands over parts rolled by size since the last checkpoint, in order', () => {
  const dir = freshDir();
  const writer = new FileSink<string>({ directory: dir, maxPartBytes: 10 }).createWriter(context(0));
  writer.open();
  for (const r of ['abcd', 'efgh', 'ijkl']) writer.write(r); // part 0 rolls after 'efgh'
  assert.equal(writer.prepareCommit(1), [
    { pending: '.part-0-0.jsonl.pending', committed: 'part-0-0.jsonl' },
    { pending: '.part-0-1.jsonl.pending', committed: 'part-0-1.jsonl' },
  ]);
  assert.equal(hidden(dir), ['.part-0-0.jsonl.pending', '.part-0-1.jsonl.pending']);
  writer.close();
});

test('prepared parts become visible only when the committer commits them, with the exact content', () => {
  const dir = freshDir();
  const sink = new FileSink<number>({ directory: dir });
  const writer = sink.createWriter(context(0));
  writer.open();
  for (let i = 0; i < 5; i++) writer.write(i);
  const committables = writer.prepareCommit(1);
  writer.write(99);
  writer.close(); // the job goes on or fails: no visible file yet
  assert.equal(visible(dir), []);
  const committer = sink.createCommitter();
  assert.instance(committer, FileSinkCommitter);
  committer.commit(committables);
  assert.equal(visible(dir), ['part-0-0.jsonl']);
  assert.is(read(dir, 'part-0-0.jsonl'), '0\n1\n2\n3\n4\n');
  assert.equal(hidden(dir), ['.part-0-1.jsonl.inprogress'], 'the uncommitted in-progress part stays hidden');
  assert.equal(writer.result().files, [join(dir, 'part-0-0.jsonl')], 'result() names the prepared part');
});

test('commit is idempotent: committing the same committables again, after the rename, changes nothing', () => {
  const dir = freshDir();
  const writer = new FileSink<string>({ directory: dir }).createWriter(context(0));
  writer.open();
  writer.write('x');
  const committables = writer.prepareCommit(1);
  const committer = new FileSinkCommitter(dir);
  committer.commit(committables);
  committer.commit(committables);
  // A recovery re-commits from a fresh committer: the committed file exists, the pending one not.
  new FileSinkCommitter(dir).commit(committables);
  assert.equal(readdirSync(dir), ['part-0-0.jsonl']);
  assert.is(read(dir, 'part-0-0.jsonl'), '"x"\n');
  new FileSinkCommitter(dir).commit([]);
});

test('commit of a committable whose pending and committed files are both missing fails with WEIR_SINK_FAILED', () => {
  const dir = freshDir();
  const writer = new FileSink({ directory: dir }).createWriter(context(0));
  writer.open();
  expectCode(
    () => new FileSinkCommitter(dir).commit([{ pending: '.part-0-4.jsonl.pending', committed: 'part-0-4.jsonl' }]),
    'WEIR_SINK_FAILED',
    /cannot commit .*\.part-0-4\.jsonl\.pending/,
  );
});

test('cleanup(keep) removes hidden in-progress and pending parts not in keep, and keeps the kept ones and visible files', () => {
  const dir = freshDir();
  const sink = new FileSink<string>({ directory: dir, maxPartBytes: 10 });
  const w0 = sink.createWriter(context(0, 2));
  w0.open();
  w0.write('aaaa');
  const kept = w0.prepareCommit(1); // .part-0-0 pending, restored checkpoint holds it
  w0.write('bbbb');
  w0.write('cccc'); // part 1 rolled to pending after the checkpoint: not in keep
  w0.write('dddd'); // part 2 in progress
  w0.close();
  const w1 = sink.createWriter(context(1, 2));
  w1.open();
  w1.write('eeee');
  w1.finish(); // part-1-0.jsonl committed (visible)
  w1.close();
  writeFileSync(join(dir, '.part-1-1.jsonl.inprogress'), 'leftover of subtask 1\n');
  writeFileSync(join(dir, '.unrelated'), 'not a part file\n');
  assert.equal(hidden(dir), ['.part-0-0.jsonl.pending', '.part-0-1.jsonl.pending', '.part-0-2.jsonl.inprogress', '.part-1-1.jsonl.inprogress', '.unrelated']);
  new FileSinkCommitter(dir).cleanup(kept);
  assert.equal(hidden(dir), ['.part-0-0.jsonl.pending', '.unrelated']);
  assert.equal(visible(dir), ['part-1-0.jsonl']);
  assert.is(read(dir, '.part-0-0.jsonl.pending'), '"aaaa"\n');
  new FileSinkCommitter(dir).cleanup([]);
  assert.equal(hidden(dir), ['.unrelated'], 'with nothing to keep every hidden part goes');
  new FileSinkCommitter(join(dir, 'missing')).cleanup([]); // a directory that does not exist yet is clean
});

test('after a restore and cleanup, part numbering never reuses a committed name', () => {
  const dir = freshDir();
  const sink = new FileSink<string>({ directory: dir });
  const committer = sink.createCommitter();
  const first = sink.createWriter(context(0));
  first.open();
  first.write('chk1');
  const chk1 = first.prepareCommit(1);
  committer.commit(chk1);
  first.write('chk2');
  const chk2 = first.prepareCommit(2);
  committer.commit(chk2);
  first.write('lost');
  first.close(); // crash with part 2 in progress
  assert.equal(visible(dir), ['part-0-0.jsonl', 'part-0-1.jsonl']);
  // Restore from checkpoint 1 (checkpoint 2 was committed but is not the one restored).
  committer.commit(chk1);
  committer.cleanup(chk1);
  assert.equal(hidden(dir), []);
  const second = sink.createWriter(context(0));
  second.open();
  second.write('after restore');
  const next = second.prepareCommit(2);
  assert.equal(next, [{ pending: '.part-0-2.jsonl.pending', committed: 'part-0-2.jsonl' }]);
  committer.commit(next);
  assert.is(read(dir, 'part-0-0.jsonl'), '"chk1"\n');
  assert.is(read(dir, 'part-0-1.jsonl'), '"chk2"\n', 'the committed part 1 is untouched');
  assert.is(read(dir, 'part-0-2.jsonl'), '"after restore"\n');
});

test('a kept pending part is stepped over by the next writer, so its later commit overwrites nothing', () => {
  const dir = freshDir();
  const sink = new FileSink<string>({ directory: dir });
  const first = sink.createWriter(context(0));
  first.open();
  first.write('kept');
  const kept = first.prepareCommit(1);
  first.close();
  const committer = sink.createCommitter();
  committer.cleanup(kept);
  const second = sink.createWriter(context(0));
  second.open();
  second.write('new');
  const next = second.prepareCommit(2);
  assert.equal(next.map((c) => c.committed), ['part-0-1.jsonl']);
  committer.commit([...kept, ...next]);
  assert.is(read(dir, 'part-0-0.jsonl'), '"kept"\n');
  assert.is(read(dir, 'part-0-1.jsonl'), '"new"\n');
});

test('a malformed committable is WEIR_CHECKPOINT_CORRUPT for commit and for cleanup, and nothing is removed', () => {
  const dir = freshDir();
  const writer = new FileSink<string>({ directory: dir }).createWriter(context(0));
  writer.open();
  writer.write('x');
  writer.prepareCommit(1);
  const bad: unknown[] = [
    null,
    'part-0-0.jsonl',
    {},
    { pending: '.part-0-0.jsonl.pending' },
    { pending: '../.part-0-0.jsonl.pending', committed: 'part-0-0.jsonl' },
    { pending: '.part-0-0.jsonl.pending', committed: '../part-0-0.jsonl' },
    { pending: 'part-0-0.jsonl', committed: 'part-0-0.jsonl' },
    { pending: '.part-0-0.jsonl.pending', committed: 7 },
  ];
  const committer = new FileSinkCommitter(dir);
  for (const value of bad) {
    expectCode(() => committer.commit([value]), 'WEIR_CHECKPOINT_CORRUPT', /^FileSink: not a committable: /);
    expectCode(() => committer.cleanup([value]), 'WEIR_CHECKPOINT_CORRUPT', /^FileSink: not a committable: /);
  }
  assert.equal(readdirSync(dir), ['.part-0-0.jsonl.pending']);
});

test.after(() => rmSync(root, { recursive: true, force: true }));

test.run();
