import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSource, FILE_SOURCE_BATCH_SIZE } from '../../../src/connectors/file/file-source.ts';
import type { SourceReader } from '../../../src/task/source.ts';
import { throwsCode as expectCode } from '../../helpers/errors.ts';

const root = mkdtempSync(join(tmpdir(), 'weir-file-source-'));
let dirCount = 0;

function freshDir(files: Record<string, string | Buffer>): string {
  const dir = join(root, `d${dirCount++}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

function context(subtaskIndex: number, parallelism: number) {
  return { subtaskIndex, parallelism, operatorId: 'files' };
}

function drain<T>(reader: SourceReader<T>): T[] {
  const records: T[] = [];
  const output = { collect: (record: T) => records.push(record) };
  reader.open?.();
  try {
    for (let polls = 0; polls < 1_000_000; polls++) {
      const status = reader.pollNext(output);
      if (status === 'end') return records;
      assert.is(status, 'more');
    }
  } finally {
    reader.close?.();
  }
  throw new Error('reader did not end');
}

/** All subtasks' records, concatenated in subtask order. */
function readAll<T>(source: FileSource<T>, parallelism: number): T[] {
  const all: T[] = [];
  for (let s = 0; s < parallelism; s++) all.push(...drain(source.createReader(context(s, parallelism))));
  return all;
}

/** The lines of one file by a simple reference reading: split on '\n', drop "\r" before it and a leading BOM. */
function referenceLines(content: string | Buffer): string[] {
  let text = Buffer.from(content).toString('utf8');
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  if (text === '') return [];
  const terminated = text.endsWith('\n');
  const parts = text.split('\n');
  if (terminated) parts.pop();
  return parts.map((line, i) =>
    (i < parts.length - 1 || terminated) && line.endsWith('\r') ? line.slice(0, -1) : line,
  );
}


const longLine = 'L'.repeat(200) + 'é'.repeat(50);
const tricky: Record<string, string | Buffer> = {
  'a.txt': 'hello\nworld\n',
  'b.txt': '',
  'c.txt': 'one\r\ntwo\r\n\r\nthree',
  'd.txt': 'héllo wörld 😀 ✓\n日本語テキスト\n\n€€€€€€€€\n',
  'e.txt': '\n\n\n',
  'f.txt': `${longLine}\nx`,
  'g.txt': '\n',
  'h.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('bom first\nsecond\r\n')]),
  'i.txt': 'no newline at all',
  'j.txt': 'cr at end without newline\r',
  'k.txt': '',
};
const trickyExpected = Object.keys(tricky)
  .sort()
  .flatMap((name) => referenceLines(tricky[name]!));

test('reference reading of the tricky files is what the test expects', () => {
  assert.equal(referenceLines(tricky['c.txt']!), ['one', 'two', '', 'three']);
  assert.equal(referenceLines(tricky['e.txt']!), ['', '', '']);
  assert.equal(referenceLines(tricky['h.txt']!), ['bom first', 'second']);
  assert.equal(referenceLines(tricky['j.txt']!), ['cr at end without newline\r']);
});

test('every line is read exactly once and in order at parallelism 1..5 across tiny chunks', () => {
  const dir = freshDir(tricky);
  for (const chunkSize of [1, 2, 3, 5, 7, 64, 65536]) {
    const source = new FileSource({ path: dir, chunkSize });
    for (let parallelism = 1; parallelism <= 5; parallelism++) {
      assert.equal(readAll(source, parallelism), trickyExpected, `chunkSize ${chunkSize}, parallelism ${parallelism}`);
    }
  }
});

test('every line is read exactly once at every parallelism up to more subtasks than lines', () => {
  const dir = freshDir({ 'x.txt': 'a\nbb\nccc\n', 'y.txt': 'dddd\n\ne' });
  const expected = ['a', 'bb', 'ccc', 'dddd', '', 'e'];
  for (let parallelism = 1; parallelism <= 20; parallelism++) {
    assert.equal(readAll(new FileSource({ path: dir, chunkSize: 4 }), parallelism), expected, `p=${parallelism}`);
  }
});

test('lines spanning 64 KiB chunks, with multibyte characters on the boundaries, are whole', () => {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < 400_000; i++) {
    // Lengths that drift across the 64 KiB boundaries; every few lines a very long one.
    const body = i % 17 === 0 ? '😀é'.repeat(20_000 + i) : `line ${i} ` + 'ü'.repeat(i % 300);
    const line = i % 5 === 0 ? `${body}\r` : body;
    lines.push(line);
    size += Buffer.byteLength(line) + 1;
  }
  const content = lines.join('\n') + '\n';
  const dir = freshDir({ 'big.txt': content, 'small.txt': 'tail\n' });
  const expected = [...referenceLines(content), 'tail'];
  for (let parallelism = 1; parallelism <= 5; parallelism++) {
    assert.ok(readAll(new FileSource({ path: dir }), parallelism).every((line, i) => line === expected[i]));
    assert.is(readAll(new FileSource({ path: dir }), parallelism).length, expected.length);
  }
});

test('a list of paths is read in the order given; directories skip hidden files and subdirectories', () => {
  const dir = freshDir({ 'b.txt': 'b1\n', 'a.txt': 'a1\n', '.hidden': 'no\n', 'B.txt': 'B1\n' });
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'inner.txt'), 'no\n');
  const other = freshDir({ 'z.txt': 'z1\nz2' });
  assert.equal(readAll(new FileSource({ path: dir }), 1), ['B1', 'a1', 'b1']);
  assert.equal(readAll(new FileSource({ path: [join(other, 'z.txt'), dir] }), 2), ['z1', 'z2', 'B1', 'a1', 'b1']);
});

test('a poll emits at most 1,024 records and position/seek resume at a line start', () => {
  const lines = Array.from({ length: 3000 }, (_, i) => `row ${i}`);
  const dir = freshDir({ 'rows.txt': lines.join('\n') });
  const source = new FileSource({ path: dir, chunkSize: 100 });
  const reader = source.createReader(context(0, 1));
  reader.open();
  const first: string[] = [];
  assert.is(reader.pollNext({ collect: (r) => first.push(r) }), 'more');
  assert.equal(first, lines.slice(0, FILE_SOURCE_BATCH_SIZE));
  const position = reader.position;
  assert.is(position, Buffer.byteLength(lines.slice(0, FILE_SOURCE_BATCH_SIZE).join('\n') + '\n'));
  reader.close();

  const restored = source.createReader(context(0, 1));
  restored.seek(position); // before open: applied when the reader opens
  assert.equal(drain(restored), lines.slice(FILE_SOURCE_BATCH_SIZE));
  assert.is(restored.position, Buffer.byteLength(lines.join('\n')));
});

test('a subtask restored at its range start still skips the line its predecessor owns', () => {
  const dir = freshDir({ 'x.txt': 'aaaaaaaaaa\nb\nc\n' }); // 15 bytes; subtask 1 of 2 starts at 7
  const source = new FileSource({ path: dir });
  const reader = source.createReader(context(1, 2));
  reader.open();
  assert.is(reader.position, 7);
  reader.seek(reader.position);
  assert.equal(drain(reader), ['b', 'c']);
});

test("format 'json' parses each non-blank line", () => {
  const dir = freshDir({
    'events.jsonl': '{"id":1,"name":"é"}\r\n\n[1,2]\n  \n"text"\n42\nnull\n{"id":2}',
  });
  const expected = [{ id: 1, name: 'é' }, [1, 2], 'text', 42, null, { id: 2 }];
  for (let parallelism = 1; parallelism <= 4; parallelism++) {
    assert.equal(readAll(new FileSource<unknown>({ path: dir, format: 'json', chunkSize: 3 }), parallelism), expected);
  }
});

test('a malformed JSON line fails with WEIR_SOURCE_FAILED naming the file and byte offset', () => {
  const dir = freshDir({ 'a.jsonl': '{"ok":1}\n', 'b.jsonl': '{"ok":2}\n{"broken": }\n' });
  for (let parallelism = 1; parallelism <= 3; parallelism++) {
    const source = new FileSource({ path: dir, format: 'json' });
    const error = expectCode(
      () => readAll(source, parallelism),
      'WEIR_SOURCE_FAILED',
      new RegExp(`^FileSource: malformed JSON at ${join(dir, 'b.jsonl')} byte 9: `),
    );
    assert.is(error.retriable, false);
    assert.is(error.context.operatorId, 'files');
    assert.instance(error.cause, SyntaxError);
  }
});

test('a missing path fails in open() (not the constructor) with WEIR_SOURCE_FAILED naming it', () => {
  const missing = join(root, 'does-not-exist.txt');
  const source = new FileSource({ path: [freshDir({ 'a.txt': 'a' }), missing] });
  const reader = source.createReader(context(0, 1));
  const error = expectCode(() => reader.open(), 'WEIR_SOURCE_FAILED', /path does not exist: .*does-not-exist\.txt$/);
  assert.is(error.context.subtaskIndex, 0);
});

test('an empty directory or empty files end at once', () => {
  assert.equal(readAll(new FileSource({ path: freshDir({}) }), 3), []);
  assert.equal(readAll(new FileSource({ path: freshDir({ 'a': '', 'b': '' }) }), 2), []);
});

test('options are validated with messages naming the option', () => {
  expectCode(() => new FileSource({ path: '' }), 'WEIR_INVALID_OPTION', /FileSource options.path must be/);
  expectCode(() => new FileSource({ path: [] }), 'WEIR_INVALID_OPTION', /options.path/);
  expectCode(() => new FileSource({ path: ['a', 3 as unknown as string] }), 'WEIR_INVALID_OPTION', /options.path/);
  expectCode(
    () => new FileSource({ path: 'a', format: 'csv' as 'text' }),
    'WEIR_INVALID_OPTION',
    /options.format must be 'text' or 'json', got "csv"/,
  );
  expectCode(() => new FileSource({ path: 'a', chunkSize: 0 }), 'WEIR_INVALID_OPTION', /options.chunkSize/);
});

test.after(() => rmSync(root, { recursive: true, force: true }));

test('splits snapshotted part-way restore at another parallelism and every line is read exactly once', () => {
  const dir = freshDir(tricky);
  for (const chunkSize of [3, 64, 65536]) {
    const source = new FileSource<string>({ path: dir, chunkSize });
    // Two subtasks read a little, then checkpoint.
    const before: string[] = [];
    const splits: unknown[] = [];
    for (let s = 0; s < 2; s++) {
      const reader = source.createReader(context(s, 2));
      reader.open?.();
      let polls = 0;
      // One batch each (small chunk sizes still emit whole lines).
      while (polls++ < 1 && reader.pollNext({ collect: (line) => before.push(line) }) === 'more');
      splits.push(...(reader as unknown as { snapshotState(): unknown[] }).snapshotState());
    }
    // Restore all splits into 3 subtasks, dealt round robin.
    const after: string[] = [];
    for (let s = 0; s < 3; s++) {
      const mine = splits.filter((_, i) => i % 3 === s);
      const reader = source.createReader({ ...context(s, 3), restoredState: mine });
      after.push(...drain(reader));
    }
    assert.equal([...before, ...after].sort(), [...trickyExpected].sort(), `chunk size ${chunkSize}`);
  }
});

test('a split that does not fit the input any more is a clear error', () => {
  const dir = freshDir({ 'a.txt': 'one\ntwo\n' });
  const reader = new FileSource<string>({ path: dir }).createReader({ ...context(0, 1), restoredState: [{ start: 0, end: 999, position: 0 }] });
  expectCode(() => reader.open?.(), 'WEIR_SOURCE_FAILED', /cannot restore the split .*input files change/);
});

test.run();
