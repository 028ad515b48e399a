import { AppConfig, InjectConfig } from '@app/core';
import { Injectable } from '@nestjs/common';
import { createReadStream, createWriteStream, ReadStream, WriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/**
 * Where report files live: a local folder (`<DATA_DIR>/audit-reports`) by default. Keys are
 * relative paths made by the service (`<tenantId>/<reportId>.<format>`), never user input.
 * Writes go to a temporary name and are renamed into place when complete, so a reader never sees
 * a partial file.
 */
@Injectable()
export class ReportStorage {
  private readonly root: string;

  constructor(@InjectConfig() config: AppConfig) {
    this.root = resolve(config.DATA_DIR, 'audit-reports');
  }

  private path(key: string): string {
    if (!/^[0-9a-f-]{36}\/[0-9a-f-]{36}\.(jsonl|csv)$/.test(key))
      throw new Error(`bad storage key ${key}`);
    return join(this.root, key);
  }

  async openForWrite(
    key: string,
  ): Promise<{ stream: WriteStream; commit: () => Promise<void>; abort: () => Promise<void> }> {
    const final = this.path(key);
    const temporary = `${final}.partial`;
    await mkdir(dirname(final), { recursive: true });
    const stream = createWriteStream(temporary, { mode: 0o600 });
    return {
      stream,
      commit: () => rename(temporary, final),
      abort: () => rm(temporary, { force: true }),
    };
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(key))).size;
    } catch {
      return undefined;
    }
  }

  read(key: string): ReadStream {
    return createReadStream(this.path(key));
  }
}
