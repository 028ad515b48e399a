import { AppConfig, InjectConfig } from '@app/core';
import { Injectable } from '@nestjs/common';
import { createReadStream, ReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * Where uploaded files' bytes live, behind one interface so an object store can replace the
 * local folder. Keys are `<tenantId>/<fileId>`.
 */
export abstract class FileStorage {
  /** Stores the bytes under `key` atomically (a reader never sees half a file). */
  abstract put(key: string, bytes: Buffer): Promise<void>;
  /** @throws when there is no such key */
  abstract open(key: string): ReadStream;
  /** The whole value (files are at most FILES_MAX_BYTES). @throws when there is no such key */
  abstract read(key: string): Promise<Buffer>;
  /** Removes the key; a missing key is not an error. */
  abstract remove(key: string): Promise<void>;
}

/** The default storage: files under `<DATA_DIR>/files`, mode 0600. */
@Injectable()
export class LocalFileStorage extends FileStorage {
  private readonly root: string;

  constructor(@InjectConfig() config: AppConfig) {
    super();
    this.root = resolve(config.DATA_DIR, 'files');
  }

  private path(key: string): string {
    if (!/^[0-9a-f-]{36}\/file-[0-9a-f]{24}$/.test(key)) throw new Error(`bad storage key ${key}`);
    return join(this.root, key);
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const final = this.path(key);
    await mkdir(dirname(final), { recursive: true });
    const temporary = `${final}.partial`;
    await writeFile(temporary, bytes, { mode: 0o600 });
    await rename(temporary, final);
  }

  open(key: string): ReadStream {
    return createReadStream(this.path(key));
  }

  read(key: string): Promise<Buffer> {
    return readFile(this.path(key));
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
