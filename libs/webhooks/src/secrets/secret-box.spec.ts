import { loadConfig } from '@app/core';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox, SecretUnreadableError } from './secret-box';

describe('SecretBox (AES-256-GCM at rest)', () => {
  let dir: string;
  const boxIn = (env: Record<string, string>) => new SecretBox(loadConfig({ ...env }));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secret-box-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('generates <DATA_DIR>/secrets.key (0600) on first use and round-trips with it', async () => {
    const box = boxIn({ DATA_DIR: dir });
    const sealed = await box.seal('whsec_abc', 'row-1');
    const file = join(dir, 'secrets.key');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64')).toHaveLength(32);
    expect(sealed.includes(Buffer.from('whsec_abc'))).toBe(false);
    expect(await box.open(sealed, 'row-1')).toBe('whsec_abc');
    // Another process reading the same file opens it too.
    expect(await boxIn({ DATA_DIR: dir }).open(sealed, 'row-1')).toBe('whsec_abc');
  });

  it('seals the same secret differently each time (random nonce)', async () => {
    const box = boxIn({ DATA_DIR: dir });
    expect((await box.seal('x', 'a')).equals(await box.seal('x', 'a'))).toBe(false);
  });

  it('refuses another row, altered bytes and another key', async () => {
    const box = boxIn({ DATA_DIR: dir });
    const sealed = await box.seal('whsec_abc', 'row-1');
    await expect(box.open(sealed, 'row-2')).rejects.toThrow(SecretUnreadableError);
    const altered = Buffer.from(sealed);
    altered[altered.length - 1] ^= 1;
    await expect(box.open(altered, 'row-1')).rejects.toThrow(SecretUnreadableError);
    const keyFile = join(dir, 'other.key');
    await writeFile(keyFile, randomBytes(32).toString('base64'));
    await expect(boxIn({ SECRETS_KEY_FILE: keyFile }).open(sealed, 'row-1')).rejects.toThrow(
      /another key/,
    );
  });

  it('uses SECRETS_KEY_FILE when set, and refuses a file that is not a 256-bit base64 key at start', async () => {
    const keyFile = join(dir, 'given.key');
    await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`);
    const box = boxIn({ SECRETS_KEY_FILE: keyFile, DATA_DIR: dir });
    await box.onModuleInit();
    expect(await box.open(await box.seal('s', 'r'), 'r')).toBe('s');
    await expect(stat(join(dir, 'secrets.key'))).rejects.toThrow();

    await writeFile(keyFile, 'too short');
    await expect(boxIn({ SECRETS_KEY_FILE: keyFile }).onModuleInit()).rejects.toThrow(
      /256-bit key in base64/,
    );
    await expect(
      boxIn({ SECRETS_KEY_FILE: join(dir, 'missing.key') }).onModuleInit(),
    ).rejects.toThrow(/ENOENT/);
  });
});
