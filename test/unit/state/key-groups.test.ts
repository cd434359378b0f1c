import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WeirError } from '../../../src/errors.ts';
import {
  DEFAULT_MAX_PARALLELISM,
  UPPER_BOUND_MAX_PARALLELISM,
  canonicalKey,
  defaultMaxParallelism,
  keyGroupOf,
  keyGroupRangeFor,
  loadKeyHasher,
  subtaskForKeyGroup,
} from '../../../src/state/key-groups.ts';
import { throwsCode } from '../../helpers/errors.ts';

test.before(async () => {
  await loadKeyHasher();
});


const MAX_PARALLELISMS = [1, 7, 10, 64, 128, 129, 256, 1000, 32768];

test('default max parallelism follows Flink: roundUpPow2(p + p/2) clamped to [128, 32768]', () => {
  assert.is(DEFAULT_MAX_PARALLELISM, 128);
  assert.is(UPPER_BOUND_MAX_PARALLELISM, 32768);
  assert.is(defaultMaxParallelism(1), 128);
  assert.is(defaultMaxParallelism(85), 128); // 85 + 42 = 127 → 128
  assert.is(defaultMaxParallelism(86), 256); // 86 + 43 = 129 → 256
  assert.is(defaultMaxParallelism(100), 256);
  assert.is(defaultMaxParallelism(171), 256); // 171 + 85 = 256, already a power of two
  assert.is(defaultMaxParallelism(172), 512); // 172 + 86 = 258 → 512
  assert.is(defaultMaxParallelism(21845), 32768);
  assert.is(defaultMaxParallelism(30000), 32768);
});

test('the key-group ranges of p subtasks partition [0, maxP) exactly, in order, without gaps or overlaps', () => {
  for (const maxP of MAX_PARALLELISMS) {
    for (let p = 1; p <= Math.min(10, maxP); p++) {
      let expectedStart = 0;
      for (let i = 0; i < p; i++) {
        const range = keyGroupRangeFor(i, p, maxP);
        assert.is(range.start, expectedStart, `p=${p} maxP=${maxP} subtask ${i} starts where ${i - 1} ended`);
        assert.ok(range.end >= range.start - 1, `p=${p} maxP=${maxP} subtask ${i} has a well-formed range`);
        expectedStart = range.end + 1;
      }
      assert.is(expectedStart, maxP, `p=${p} maxP=${maxP}: the last range ends at maxP - 1`);
    }
  }
});

test('when p ≤ maxP every subtask owns at least one key group and sizes differ by at most one', () => {
  for (const maxP of MAX_PARALLELISMS) {
    for (let p = 1; p <= Math.min(10, maxP); p++) {
      const sizes = Array.from({ length: p }, (_, i) => {
        const r = keyGroupRangeFor(i, p, maxP);
        return r.end - r.start + 1;
      });
      assert.ok(Math.min(...sizes) >= 1, `p=${p} maxP=${maxP}: ${sizes}`);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `p=${p} maxP=${maxP}: ${sizes}`);
    }
  }
});

test('subtaskForKeyGroup names the subtask whose range contains the key group, for every key group', () => {
  for (const maxP of MAX_PARALLELISMS) {
    for (let p = 1; p <= Math.min(10, maxP); p++) {
      for (let keyGroup = 0; keyGroup < maxP; keyGroup++) {
        const subtask = subtaskForKeyGroup(keyGroup, p, maxP);
        assert.ok(subtask >= 0 && subtask < p, `p=${p} maxP=${maxP} kg=${keyGroup} → ${subtask}`);
        const range = keyGroupRangeFor(subtask, p, maxP);
        assert.ok(
          keyGroup >= range.start && keyGroup <= range.end,
          `p=${p} maxP=${maxP}: key group ${keyGroup} → subtask ${subtask} owning [${range.start}, ${range.end}]`,
        );
      }
    }
  }
});

test('key-group ranges match Flink for known values', () => {
  // KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex(128, 3, i)
  assert.equal(keyGroupRangeFor(0, 3, 128), { start: 0, end: 42 });
  assert.equal(keyGroupRangeFor(1, 3, 128), { start: 43, end: 85 });
  assert.equal(keyGroupRangeFor(2, 3, 128), { start: 86, end: 127 });
  assert.equal(keyGroupRangeFor(0, 1, 128), { start: 0, end: 127 });
});

test('keyGroupOf is deterministic and always in [0, maxP)', () => {
  const keys = [
    '',
    'a',
    'word',
    'ünïcødé ✓',
    'x'.repeat(1000),
    0,
    1,
    -1,
    2 ** 53,
    1.5,
    -0,
    NaN,
    true,
    false,
    123n,
    canonicalKey(['a', 1]),
    canonicalKey({ user: 7 }),
  ];
  for (const maxP of [1, 2, 3, 128, 1000, 32768]) {
    for (const key of keys) {
      const kg = keyGroupOf(key, maxP);
      assert.ok(Number.isInteger(kg) && kg >= 0 && kg < maxP, `${String(key)} maxP=${maxP} → ${kg}`);
      assert.is(keyGroupOf(key, maxP), kg);
    }
  }
  for (let i = 0; i < 10_000; i++) {
    const kg = keyGroupOf(`key-${i}`, 128);
    assert.ok(kg >= 0 && kg < 128, `key-${i} → ${kg}`);
  }
});

test('keys spread over all key groups (the hash is not constant)', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 5000; i++) seen.add(keyGroupOf(`key-${i}`, 128));
  assert.is(seen.size, 128);
});

test('a number key and its decimal string fall in the same key group (both hash their text)', () => {
  for (const n of [0, 1, 42, -7, 1.25, 1e21]) {
    assert.is(keyGroupOf(n, 128), keyGroupOf(String(n), 128), String(n));
  }
});

test('canonicalKey keeps strings, numbers, booleans and bigints as they are, so 1 and "1" stay apart', () => {
  assert.is(canonicalKey('1'), '1');
  assert.is(canonicalKey(1), 1);
  assert.is(canonicalKey(true), true);
  assert.is(canonicalKey(5n), 5n);
  assert.is.not(canonicalKey(1) as unknown, canonicalKey('1') as unknown);
});

test('canonicalKey of composite keys is equal by value: arrays and objects built twice address the same key', () => {
  assert.is(canonicalKey(['a', 1]), canonicalKey(['a', 1]));
  assert.is(canonicalKey({ user: 'u1', region: 3 }), canonicalKey({ user: 'u1', region: 3 }));
  assert.is(canonicalKey([['nested'], { x: [1, 2] }]), canonicalKey([['nested'], { x: [1, 2] }]));
  assert.is.not(canonicalKey(['a', 1]), canonicalKey(['a', 2]));
  assert.is.not(canonicalKey(['1']), canonicalKey([1]));
  assert.type(canonicalKey(['a']), 'string');
  // A composite key never collides with the plain string of its JSON form.
  assert.is.not(canonicalKey(['a', 1]), canonicalKey('["a",1]'));
  assert.is.not(canonicalKey({ a: 1 }), canonicalKey('{"a":1}'));
  const a = canonicalKey(['a', 1]);
  const b = canonicalKey(['a', 1]);
  assert.is(keyGroupOf(a, 128), keyGroupOf(b, 128));
});

test('a string key never addresses the same state as a composite key, whatever characters it starts with', () => {
  // Strings are kept as they are and composites become '\u0000' + JSON, so a string that
  // starts with NUL followed by JSON text collides with the composite key of that JSON.
  assert.is.not(canonicalKey('\u0000["a",1]'), canonicalKey(['a', 1]));
  assert.is.not(canonicalKey('\u0000{"user":7}'), canonicalKey({ user: 7 }));
});

test('canonicalKey rejects null, undefined, functions and symbols, naming the type', () => {
  throwsCode(() => canonicalKey(null), 'WEIR_INVALID_ARGUMENT', /got null/);
  throwsCode(() => canonicalKey(undefined), 'WEIR_INVALID_ARGUMENT', /got undefined/);
  throwsCode(() => canonicalKey(() => 1), 'WEIR_INVALID_ARGUMENT', /got function/);
  throwsCode(() => canonicalKey(Symbol('k')), 'WEIR_INVALID_ARGUMENT', /got symbol/);
});

test('canonicalKey rejects objects that JSON cannot serialize, keeping the cause', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  throwsCode(() => canonicalKey(cyclic), 'WEIR_INVALID_ARGUMENT', /JSON-serializable/);
  try {
    canonicalKey([1n]);
    assert.unreachable('a bigint inside an array is not JSON-serializable');
  } catch (error) {
    assert.instance(error, WeirError);
    assert.instance((error as WeirError).cause, TypeError);
  }
});

test.run();
