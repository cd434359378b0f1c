/**
 * The checkpoint catalog: a classic-level index of a job's completed checkpoints and their stats,
 * in `<root>/<jobName>/_catalog/`. A cache, never the truth: `_metadata` files are, and the
 * catalog can always be rebuilt from them. Main thread; used by FsCheckpointStorage.
 *
 * Keys: `chk/<id, zero-padded to 16 digits>` so key order is id order; values JSON `CatalogEntry`.
 * The shared-file registry: `shared-file/<path>` → JSON `SharedFileEntry` (also rebuildable).
 */
import { ClassicLevel } from 'classic-level';
import { WeirError } from '../errors.ts';
import type { CheckpointKind } from './metadata.ts';

/** One completed checkpoint as the catalog records it. `path` is the chk dir relative to the job dir. */
export interface CatalogEntry {
  readonly id: number;
  readonly path: string;
  readonly triggerTimestamp: number;
  readonly completedTimestamp: number;
  readonly stateBytes: number;
  readonly durationMs: number;
  readonly kind: CheckpointKind;
}

/** The result of opening: the catalog, or why there is none (the job continues without it). */
export type CatalogOpenResult =
  | { catalog: CheckpointCatalog; warning?: undefined; locked?: undefined }
  | { catalog?: undefined; warning: string; locked: boolean };

/** One shared file as the registry records it (shared-state-registry.ts). */
export interface SharedFileEntry {
  /** `shared/<name>`, relative to the job dir. */
  readonly path: string;
  /** The checkpoint that first listed the file, and the newest that lists it. */
  readonly createdBy: number;
  readonly lastUsed: number;
}

const PREFIX = 'chk/';
const SHARED_PREFIX = 'shared-file/';
const ID_DIGITS = 16; // Number.MAX_SAFE_INTEGER has 16 digits

export function catalogKey(checkpointId: number): string {
  return PREFIX + String(checkpointId).padStart(ID_DIGITS, '0');
}

export class CheckpointCatalog {
  readonly #db: ClassicLevel<string, CatalogEntry>;

  private constructor(db: ClassicLevel<string, CatalogEntry>) {
    this.#db = db;
  }

  /**
   * Opens (creating if needed) the catalog at `location`. Never throws: when LevelDB's lock is
   * held by another process (or another open instance), or the database is unreadable, the
   * result carries a warning instead and the caller goes on without a catalog.
   */
  static async open(location: string): Promise<CatalogOpenResult> {
    const db = new ClassicLevel<string, CatalogEntry>(location, { valueEncoding: 'json' });
    try {
      await db.open();
      return { catalog: new CheckpointCatalog(db) };
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
      const locked = code === 'LEVEL_LOCKED';
      const why = locked ? 'it is locked by another process' : `it could not be opened (${describe(error)})`;
      return { warning: `checkpoint catalog ${location} is not used: ${why}; checkpoints are listed from their _metadata files`, locked };
    }
  }

  async put(entry: CatalogEntry): Promise<void> {
    await this.#io('index', () => this.#db.put(catalogKey(entry.id), entry));
  }

  async delete(checkpointId: number): Promise<void> {
    await this.#io('unindex', () => this.#db.del(catalogKey(checkpointId)));
  }

  async get(checkpointId: number): Promise<CatalogEntry | undefined> {
    return this.#io('read', () => this.#db.get(catalogKey(checkpointId)));
  }

  /** Every entry, newest (highest id) first. */
  async list(): Promise<CatalogEntry[]> {
    return this.#io('read', () => this.#db.values({ gte: PREFIX, lt: PREFIX + '\xff', reverse: true }).all());
  }

  /** Makes the catalog hold exactly `entries`, in one atomic batch. */
  async replaceAll(entries: readonly CatalogEntry[]): Promise<void> {
    await this.#io('rebuild', async () => {
      const keep = new Set(entries.map((e) => catalogKey(e.id)));
      const existing = await this.#db.keys({ gte: PREFIX, lt: PREFIX + '\xff' }).all();
      const batch = this.#db.batch();
      for (const key of existing) if (!keep.has(key)) batch.del(key);
      for (const entry of entries) batch.put(catalogKey(entry.id), entry);
      await batch.write();
    });
  }

  /** The shared-file registry's entries, by path. */
  async sharedFiles(): Promise<SharedFileEntry[]> {
    return this.#io('read', async () => (await this.#db.values({ gte: SHARED_PREFIX, lt: SHARED_PREFIX + '\xff' }).all()) as unknown as SharedFileEntry[]);
  }

  /** Writes and deletes registry entries in one atomic batch. */
  async updateSharedFiles(put: readonly SharedFileEntry[], del: readonly string[]): Promise<void> {
    if (put.length === 0 && del.length === 0) return;
    await this.#io('update the shared-file registry', async () => {
      const batch = this.#db.batch();
      for (const path of del) batch.del(SHARED_PREFIX + path);
      for (const entry of put) batch.put(SHARED_PREFIX + entry.path, entry as unknown as CatalogEntry);
      await batch.write();
    });
  }

  /** Makes the registry hold exactly `entries`. */
  async replaceSharedFiles(entries: readonly SharedFileEntry[]): Promise<void> {
    const keep = new Set(entries.map((e) => e.path));
    const existing = (await this.sharedFiles()).map((e) => e.path);
    await this.updateSharedFiles(entries, existing.filter((path) => !keep.has(path)));
  }

  async close(): Promise<void> {
    await this.#db.close();
  }

  async #io<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (cause) {
      throw new WeirError('WEIR_CHECKPOINT_IO', `checkpoint catalog ${this.#db.location}: ${what} failed: ${describe(cause)}`, {
        cause,
        context: { path: this.#db.location },
      });
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
