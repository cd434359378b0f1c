import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ALL_CHANNELS,
  BroadcastPartitioner,
  ForwardPartitioner,
  HashPartitioner,
  RebalancePartitioner,
  createPartitioner,
} from '../../../src/graph/partitioner.ts';
import { ALL_CHANNELS as WRITER_ALL_CHANNELS } from '../../../src/channels/output-writer.ts';
import { WeirError } from '../../../src/errors.ts';
import { canonicalKey, keyGroupOf, keyGroupRangeFor, loadKeyHasher } from '../../../src/state/key-groups.ts';

test.before(async () => {
  await loadKeyHasher();
});

interface Row {
  word: string;
  n: number;
}

const byWord = (r: unknown) => (r as Row).word;
const owner = { operatorId: 'count', operatorName: 'Count', subtaskIndex: 1 };

test('forward always selects channel 0 (an edge of one channel per producer)', () => {
  const p = new ForwardPartitioner();
  assert.is(p.kind, 'forward');
  for (let i = 0; i < 10; i++) assert.is(p.selectChannel(), 0);
});

test('rebalance goes round robin, starting at the producer subtask index', () => {
  const picks = (channels: number, producer: number, n: number) => {
    const p = new RebalancePartitioner(channels, producer);
    return Array.from({ length: n }, () => p.selectChannel());
  };
  assert.equal(picks(3, 0, 7), [0, 1, 2, 0, 1, 2, 0]);
  assert.equal(picks(3, 1, 7), [1, 2, 0, 1, 2, 0, 1]);
  assert.equal(picks(3, 2, 4), [2, 0, 1, 2]);
  // A producer index beyond the channel count wraps.
  assert.equal(picks(3, 4, 4), [1, 2, 0, 1]);
  assert.equal(picks(1, 5, 3), [0, 0, 0]);
});

test('rebalance spreads records evenly: every channel gets n/channels of them', () => {
  const p = new RebalancePartitioner(4, 3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 400; i++) counts[p.selectChannel()]!++;
  assert.equal(counts, [100, 100, 100, 100]);
});

test('broadcast returns ALL_CHANNELS, the value the output writer fans out on', () => {
  const p = new BroadcastPartitioner();
  assert.is(p.selectChannel(), ALL_CHANNELS);
  assert.is(ALL_CHANNELS, WRITER_ALL_CHANNELS);
});

test('hash sends records with equal keys to the same channel, whatever else they carry', () => {
  const p = new HashPartitioner(byWord, 4, 128, owner);
  for (let i = 0; i < 200; i++) {
    const word = `w${i}`;
    const first = p.selectChannel({ word, n: 0 });
    for (let n = 1; n < 5; n++) assert.is(p.selectChannel({ word, n }), first);
  }
});

test('hash selects the consumer subtask whose key-group range holds the key group', () => {
  for (const [channels, maxP] of [
    [1, 128],
    [3, 128],
    [4, 128],
    [7, 256],
    [10, 10],
  ] as const) {
    const p = new HashPartitioner(byWord, channels, maxP, owner);
    for (let i = 0; i < 500; i++) {
      const word = `key-${i}`;
      const channel = p.selectChannel({ word, n: i });
      const keyGroup = keyGroupOf(canonicalKey(word), maxP);
      const range = keyGroupRangeFor(channel, channels, maxP);
      assert.ok(keyGroup >= range.start && keyGroup <= range.end, `${word}: kg ${keyGroup} not in [${range.start}, ${range.end}] of channel ${channel}`);
    }
  }
});

test('hash remembers the key group of the last record it selected for; the others report −1', () => {
  const p = new HashPartitioner(byWord, 4, 128, owner);
  assert.is(p.lastKeyGroup, -1);
  for (const word of ['a', 'bb', 'a long key with spaces', 'ünïcødé']) {
    p.selectChannel({ word, n: 0 });
    assert.is(p.lastKeyGroup, keyGroupOf(canonicalKey(word), 128), word);
  }
  assert.is(new ForwardPartitioner().lastKeyGroup, -1);
  assert.is(new RebalancePartitioner(3, 0).lastKeyGroup, -1);
  assert.is(new BroadcastPartitioner().lastKeyGroup, -1);
});

test('a key selector that throws or returns an invalid key fails as WEIR_USER_FUNCTION_FAILED naming the keyed operator and producer subtask', () => {
  const cause = new RangeError('no key here');
  const cases: Array<[(r: unknown) => unknown, RegExp, (c: unknown) => boolean]> = [
    [
      () => {
        throw cause;
      },
      /no key here/,
      (c) => c === cause,
    ],
    [() => undefined, /got undefined/, (c) => c instanceof WeirError],
  ];
  for (const [selector, detail, isCause] of cases) {
    const p = new HashPartitioner(selector, 4, 128, owner);
    try {
      p.selectChannel({ word: 'x', n: 0 });
      assert.unreachable('expected the key selector error');
    } catch (error) {
      assert.instance(error, WeirError);
      const e = error as WeirError;
      assert.is(e.code, 'WEIR_USER_FUNCTION_FAILED');
      assert.match(e.message, /^the keyBy key selector of operator 'count' \(Count\) failed in producer subtask 1: /);
      assert.match(e.message, detail);
      assert.equal(e.context, { operatorId: 'count', operatorName: 'Count', subtaskIndex: 1 });
      assert.ok(isCause(e.cause));
    }
  }
});

test('hash uses every channel for many distinct keys', () => {
  const p = new HashPartitioner(byWord, 5, 128, owner);
  const used = new Set<number>();
  for (let i = 0; i < 1000; i++) used.add(p.selectChannel({ word: `k${i}`, n: 0 }));
  assert.equal([...used].sort(), [0, 1, 2, 3, 4]);
});

test('hash canonicalizes composite keys: equal arrays built per record go to the same channel', () => {
  const p = new HashPartitioner((r) => [(r as Row).word, (r as Row).n % 3], 8, 128, owner);
  for (let i = 0; i < 50; i++) {
    assert.is(p.selectChannel({ word: `w${i}`, n: 1 }), p.selectChannel({ word: `w${i}`, n: 4 }));
  }
});

test('createPartitioner builds each kind, and a hash partitioner needs a key selector', () => {
  const options = { numberOfChannels: 3, producerSubtaskIndex: 2, maxParallelism: 128, keySelector: byWord, owner };
  assert.instance(createPartitioner('forward', options), ForwardPartitioner);
  assert.instance(createPartitioner('broadcast', options), BroadcastPartitioner);
  const rebalance = createPartitioner('rebalance', options);
  assert.instance(rebalance, RebalancePartitioner);
  assert.is(rebalance.selectChannel(undefined), 2);
  const hash = createPartitioner('hash', options);
  assert.instance(hash, HashPartitioner);
  assert.is(hash.selectChannel({ word: 'x', n: 0 }), new HashPartitioner(byWord, 3, 128, owner).selectChannel({ word: 'x', n: 0 }));
  assert.throws(() => createPartitioner('hash', { ...options, keySelector: undefined }), /key selector/);
});

test.run();
