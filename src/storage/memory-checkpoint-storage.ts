/**
 * MemoryCheckpointStorage: checkpoint storage in a Map, with exactly the semantics of
 * FsCheckpointStorage (both extend BaseCheckpointStorage and pass the same conformance suite).
 * For tests; one instance lives on one thread, so it suits single-threaded tests and tools only.
 */
import { WeirError } from '../errors.ts';
import {
  BaseCheckpointStorage,
  checkpointDirName,
  METADATA_FILE,
  parseCheckpointDirName,
  type StorageOptions,
} from './checkpoint-storage.ts';

export class MemoryCheckpointStorage extends BaseCheckpointStorage {
  readonly description: string;
  /**
   * The stored files by path relative to the job dir ('chk-3/_metadata'). Exposed so tests can
   * corrupt or remove a file, as they would on disk. @internal
   */
  readonly files = new Map<string, Uint8Array>();
  #closed = false;

  constructor(options: StorageOptions) {
    super(options);
    this.description = `memory://${this.jobName}`;
  }

  protected async _writeFile(path: string, bytes: Uint8Array): Promise<void> {
    this.#open();
    this.files.set(path, new Uint8Array(bytes)); // a copy: the caller may reuse its buffer (and Buffer#slice aliases)
  }

  protected async _commitFile(path: string, bytes: Uint8Array): Promise<void> {
    await this._writeFile(path, bytes);
  }

  protected async _readFile(path: string): Promise<Uint8Array | undefined> {
    this.#open();
    const bytes = this.files.get(path);
    return bytes === undefined ? undefined : new Uint8Array(bytes);
  }

  protected async _fileSize(path: string): Promise<number | undefined> {
    return (await this._readFile(path))?.byteLength;
  }

  protected async _exists(path: string): Promise<boolean> {
    this.#open();
    return this.files.has(path);
  }

  protected async _listCheckpointIds(): Promise<number[]> {
    this.#open();
    const ids = new Set<number>();
    for (const path of this.files.keys()) {
      const id = parseCheckpointDirName(path.slice(0, path.indexOf('/')));
      if (id !== undefined) ids.add(id);
    }
    return [...ids];
  }

  protected async _removeFile(path: string): Promise<void> {
    this.#open();
    this.files.delete(path);
  }

  protected async _removeDir(path: string): Promise<void> {
    this.#open();
    for (const key of [...this.files.keys()]) if (key.startsWith(`${path}/`)) this.files.delete(key);
  }

  protected _externalPath(path: string): string {
    return `${this.description}/${path}`;
  }

  /** Accepts this storage's own external paths: `memory://<job>/chk-<id>[/_metadata]`. */
  protected async _readExternal(path: string): Promise<{ bytes: Uint8Array | undefined; source: string }> {
    const prefix = `${this.description}/`;
    let relative = path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
    if (relative !== undefined && parseCheckpointDirName(relative) !== undefined) relative = `${relative}/${METADATA_FILE}`;
    const id = relative === undefined ? undefined : parseCheckpointDirName(relative.slice(0, relative.indexOf('/')));
    if (relative === undefined || id === undefined || relative !== `${checkpointDirName(id)}/${METADATA_FILE}`) {
      return { bytes: undefined, source: path };
    }
    return { bytes: await this._readFile(relative), source: this._externalPath(relative) };
  }

  protected async _close(): Promise<void> {
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new WeirError('WEIR_INTERNAL', `${this.description} is closed`);
  }
}
