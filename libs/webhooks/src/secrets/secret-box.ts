import { AppConfig, InjectConfig } from '@app/core';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

/** Format byte of a sealed value: v1 = AES-256-GCM, 8-byte key id, 12-byte nonce, 16-byte tag. */
const VERSION = 1;
const KEY_ID_BYTES = 8;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES;

/** A sealed value that does not open: another key, another row, or altered bytes. */
export class SecretUnreadableError extends Error {
  constructor(reason: string) {
    super(`stored secret cannot be decrypted: ${reason}`);
    this.name = 'SecretUnreadableError';
  }
}

/**
 * Encrypts secrets that must be read back (webhook signing secrets) with AES-256-GCM (NIST SP
 * 800-38D) under one key: `SECRETS_KEY_FILE`, else `<DATA_DIR>/secrets.key`, generated (mode
 * 0600, 32 random bytes in base64) on first use. The api and the worker must share the key.
 *
 * A sealed value is `0x01 ‖ key id (first 8 bytes of SHA-256 of the key) ‖ 12-byte nonce ‖ 16-byte
 * tag ‖ ciphertext`; the additional data (`aad`, e.g. the row's tenant and id) binds it to its
 * row, so a ciphertext copied into another row does not open.
 */
@Injectable()
export class SecretBox implements OnModuleInit {
  private readonly logger = new Logger('SecretBox');
  private key?: Promise<{ key: Buffer; id: Buffer }>;

  constructor(@InjectConfig() private readonly config: AppConfig) {}

  /** A configured key file is read at start, so a bad one stops the process early. */
  async onModuleInit(): Promise<void> {
    if (this.config.SECRETS_KEY_FILE) await this.currentKey();
  }

  /** Encrypts `plaintext` (UTF-8) bound to `aad`. */
  async seal(plaintext: string, aad: string): Promise<Buffer> {
    const { key, id } = await this.currentKey();
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), id, nonce, cipher.getAuthTag(), ciphertext]);
  }

  /**
   * Decrypts what {@link seal} made with the same `aad`.
   *
   * @throws SecretUnreadableError for another format or key, another `aad`, or altered bytes.
   */
  async open(sealed: Buffer, aad: string): Promise<string> {
    const { key, id } = await this.currentKey();
    if (sealed.length < HEADER_BYTES || sealed[0] !== VERSION) {
      throw new SecretUnreadableError('unknown format');
    }
    if (!sealed.subarray(1, 1 + KEY_ID_BYTES).equals(id)) {
      throw new SecretUnreadableError('sealed under another key (was SECRETS_KEY_FILE changed?)');
    }
    const nonceAt = 1 + KEY_ID_BYTES;
    const tagAt = nonceAt + NONCE_BYTES;
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(nonceAt, tagAt));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.subarray(tagAt, HEADER_BYTES));
    try {
      return Buffer.concat([
        decipher.update(sealed.subarray(HEADER_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretUnreadableError('authentication failed (altered, or bound to another row)');
    }
  }

  /**
   * A 256-bit key for HMACs of one `purpose` (e.g. `quota-reservation-id`), derived from the
   * secrets key with HKDF-SHA256 (RFC 5869), so tokens one replica signs verify on every other.
   */
  async derivedKey(purpose: string): Promise<Buffer> {
    const { key } = await this.currentKey();
    return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `cp:${purpose}`, 32));
  }

  private currentKey(): Promise<{ key: Buffer; id: Buffer }> {
    this.key ??= this.loadOrGenerate().catch((error: unknown) => {
      this.key = undefined; // let a later call try again (a transient file system error)
      throw error;
    });
    return this.key;
  }

  private async loadOrGenerate(): Promise<{ key: Buffer; id: Buffer }> {
    const configured = this.config.SECRETS_KEY_FILE;
    const file = resolve(configured ?? join(this.config.DATA_DIR, 'secrets.key'));
    try {
      return withId(parseKey(await readFile(file, 'utf8'), file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || configured) throw error;
    }
    const key = randomBytes(32);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    try {
      await writeFile(file, `${key.toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
      this.logger.log(`generated the secrets key at ${file}`);
      return withId(key);
    } catch (error) {
      // Another process (the api or worker starting alongside) wrote it first: use theirs.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        return withId(parseKey(await readFile(file, 'utf8'), file));
      }
      throw error;
    }
  }
}

/** @throws Error unless the file holds exactly 32 bytes in base64 (the key itself is never shown). */
function parseKey(text: string, file: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]{43}=$/.test(trimmed) || key.length !== 32) {
    throw new Error(
      `${file} must hold a 256-bit key in base64 (44 characters, e.g. from \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}

function withId(key: Buffer): { key: Buffer; id: Buffer } {
  return { key, id: createHash('sha256').update(key).digest().subarray(0, KEY_ID_BYTES) };
}
