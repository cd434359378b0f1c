import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { catalogKey, CheckpointCatalog, type CatalogEntry } from '../../../src/checkpoint/checkpoint-catalog.ts';

let root = '';
test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'weir-catalog-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

function entry(id: number): CatalogEntry {
  return { id, path: `chk-${id}`, triggerTimestamp: id * 10, completedTimestamp: id * 10 + 5, stateBytes: id * 100, durationMs: 5, kind: 'checkpoint' };
}

async function open(name: string): Promise<CheckpointCatalog> {
  const result = await CheckpointCatalog.open(join(root, name));
  assert.ok(result.catalog, result.warning);
  return result.catalog!;
}

test('keys are zero-padded so key order is id order', () => {
  assert.is(catalogKey(7), 'chk/0000000000000007');
  assert.ok(catalogKey(2 ** 31) > catalogKey(2 ** 31 - 1));
  assert.ok(catalogKey(10) > catalogKey(9));
});

test('entries are listed newest first, read back, and deleted', async () => {
  const catalog = await open('a');
  for (const id of [3, 2 ** 31, 10, 1]) await catalog.put(entry(id));
  assert.equal((await catalog.list()).map((e) => e.id), [2 ** 31, 10, 3, 1]);
  assert.equal(await catalog.get(10), entry(10));
  await catalog.delete(10);
  await catalog.delete(10);
  assert.is(await catalog.get(10), undefined);
  await catalog.close();
});

test('replaceAll makes the catalog hold exactly the given entries', async () => {
  const catalog = await open('b');
  for (const id of [1, 2, 3]) await catalog.put(entry(id));
  await catalog.replaceAll([entry(3), entry(4)]);
  assert.equal(await catalog.list(), [entry(4), entry(3)]);
  await catalog.close();
});

test('entries survive closing and reopening', async () => {
  const first = await open('c');
  await first.put(entry(5));
  await first.close();
  const second = await open('c');
  assert.equal(await second.list(), [entry(5)]);
  await second.close();
});

test('a catalog held open elsewhere yields a warning instead of an error', async () => {
  const holder = await open('d');
  const result = await CheckpointCatalog.open(join(root, 'd'));
  assert.is(result.catalog, undefined);
  assert.is(result.locked, true);
  assert.match(result.warning!, /locked/);
  assert.ok(result.warning!.includes(join(root, 'd')));
  await holder.close();
});

test.run();
