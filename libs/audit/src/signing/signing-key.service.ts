import { AppConfig, InjectConfig } from '@app/core';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { keyIdOf } from './key-id';

export interface SigningKeyInfo {
  keyId: string;
  algorithm: 'Ed25519';
  publicKeyPem: string;
  createdAt: Date;
  retiredAt: Date | null;
}

/**
 * The Ed25519 key that signs audit report manifests and retention checkpoints (RFC 8032, via
 * Node's crypto). The private key is read from AUDIT_SIGNING_KEY_FILE, or from
 * `<DATA_DIR>/audit-signing-key.pem`, which is generated (mode 0600) when missing. Its public half
 * is registered in `audit_signing_keys` at start; rotating means pointing the setting at a new
 * file: the old public key stays listed (retired) so old signatures still verify.
 */
@Injectable()
export class SigningKeyService implements OnModuleInit {
  private readonly logger = new Logger('SigningKeyService');
  private key?: { privateKey: KeyObject; keyId: string };

  constructor(
    @InjectConfig() private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  private privateKey?: KeyObject;

  /** Reads (or generates) the key file at start, so a bad key stops the process early. */
  async onModuleInit(): Promise<void> {
    this.privateKey = await this.loadOrGenerate();
  }

  /**
   * The active key; registers its public half in `audit_signing_keys` on first use (not at
   * start: the schema may not be migrated yet when the process boots).
   */
  async current(): Promise<{ privateKey: KeyObject; keyId: string }> {
    if (this.key) return this.key;
    const privateKey = this.privateKey ?? (await this.loadOrGenerate());
    const publicKey = createPublicKey(privateKey);
    const keyId = keyIdOf(publicKey);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await this.dataSource.query(
      `INSERT INTO audit_signing_keys (key_id, public_key_pem) VALUES ($1, $2)
       ON CONFLICT (key_id) DO UPDATE SET retired_at = NULL`,
      [keyId, pem],
    );
    await this.dataSource.query(
      `UPDATE audit_signing_keys SET retired_at = now() WHERE key_id <> $1 AND retired_at IS NULL`,
      [keyId],
    );
    this.key = { privateKey, keyId };
    return this.key;
  }

  /** Signs `data` with the active key: `{keyId, signature}` (base64). */
  async sign(data: Buffer): Promise<{ keyId: string; signature: string }> {
    const { privateKey, keyId } = await this.current();
    return { keyId, signature: sign(null, data, privateKey).toString('base64') };
  }

  /**
   * The public keys to trust: the active key's and those in AUDIT_PREVIOUS_PUBLIC_KEYS_FILE,
   * read from files only, so a database writer cannot plant one. Newest (active) first.
   */
  async trusted(): Promise<SigningKeyInfo[]> {
    const { privateKey, keyId } = await this.current();
    const active = createPublicKey(privateKey);
    const keys: SigningKeyInfo[] = [
      {
        keyId,
        algorithm: 'Ed25519',
        publicKeyPem: active.export({ type: 'spki', format: 'pem' }).toString(),
        createdAt: (await this.recorded(keyId))?.created_at ?? new Date(),
        retiredAt: null,
      },
    ];
    const file = this.config.AUDIT_PREVIOUS_PUBLIC_KEYS_FILE;
    if (file) {
      const bundle = await readFile(resolve(file), 'utf8');
      for (const pem of bundle.match(
        /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g,
      ) ?? []) {
        const key = createPublicKey(pem);
        if (key.asymmetricKeyType !== 'ed25519') continue;
        const id = keyIdOf(key);
        if (id === keyId) continue;
        const recorded = await this.recorded(id);
        keys.push({
          keyId: id,
          algorithm: 'Ed25519',
          publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(),
          createdAt: recorded?.created_at ?? new Date(0),
          // When it stopped signing, as recorded at rotation (unknown: not limited).
          retiredAt: recorded?.retired_at ?? null,
        });
      }
    }
    return keys;
  }

  /** Verifies an Ed25519 signature (base64) over `data` by one of the {@link trusted} keys. */
  async verifyTrusted(data: Buffer, keyId: string, signature: Buffer): Promise<boolean> {
    const key = (await this.trusted()).find((k) => k.keyId === keyId);
    return key ? verify(null, data, createPublicKey(key.publicKeyPem), signature) : false;
  }

  private async recorded(
    keyId: string,
  ): Promise<{ created_at: Date; retired_at: Date | null } | undefined> {
    const [row]: { created_at: Date; retired_at: Date | null }[] = await this.dataSource.query(
      'SELECT created_at, retired_at FROM audit_signing_keys WHERE key_id = $1',
      [keyId],
    );
    return row;
  }

  private async loadOrGenerate(): Promise<KeyObject> {
    const file = resolve(
      this.config.AUDIT_SIGNING_KEY_FILE ?? join(this.config.DATA_DIR, 'audit-signing-key.pem'),
    );
    try {
      return this.parse(await readFile(file, 'utf8'), file);
    } catch (error) {
      if (
        (error as NodeJS.ErrnoException).code !== 'ENOENT' ||
        this.config.AUDIT_SIGNING_KEY_FILE
      ) {
        throw error;
      }
    }
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    try {
      await writeFile(file, pem, { flag: 'wx', mode: 0o600 });
      this.logger.log(`generated the audit signing key at ${file}`);
      return privateKey;
    } catch (error) {
      // Another process generated it first: use theirs.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        return this.parse(await readFile(file, 'utf8'), file);
      }
      throw error;
    }
  }

  private parse(pem: string, file: string): KeyObject {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new Error(`${file} is not an Ed25519 private key (got ${key.asymmetricKeyType})`);
    }
    return key;
  }
}
