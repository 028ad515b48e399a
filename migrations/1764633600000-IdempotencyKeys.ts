import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotency keys (core, `IdempotencyService`): one row per (actor, key), written in the same
 * transaction as the request it answers, so a row is never seen without its response
 * (`status_code` is null only inside that transaction). `response_body` is AES-256-GCM
 * ciphertext under a key derived from the caller's credential and `salt`. Tenant-owned (the
 * request's scope tenant; the platform tenant for platform-wide requests) under RLS.
 */
export class IdempotencyKeys1764633600000 implements MigrationInterface {
  name = 'IdempotencyKeys1764633600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        actor_type          text NOT NULL,
        actor_id            text NOT NULL,
        key                 text NOT NULL CHECK (key ~ '^[\\x20-\\x7e]{1,255}$'),
        tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        request_fingerprint bytea NOT NULL CHECK (octet_length(request_fingerprint) = 32),
        status_code         integer CHECK (status_code BETWEEN 100 AND 599),
        response_headers    jsonb,
        response_body       bytea,
        salt                bytea,
        created_at          timestamptz NOT NULL DEFAULT now(),
        expires_at          timestamptz NOT NULL,
        PRIMARY KEY (actor_type, actor_id, key),
        CONSTRAINT idempotency_keys_answer_complete CHECK (
          status_code IS NULL
          OR (response_headers IS NOT NULL AND response_body IS NOT NULL AND salt IS NOT NULL))
      )`);
    await queryRunner.query(
      `CREATE INDEX idempotency_keys_tenant_expires_idx ON idempotency_keys (tenant_id, expires_at)`,
    );
    // The purge job deletes by expiry across tenants.
    await queryRunner.query(
      `CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at)`,
    );
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO cp_app`);
    await enableTenantRowLevelSecurity(queryRunner, 'idempotency_keys');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'idempotency_keys');
    await queryRunner.query(`DROP TABLE idempotency_keys`);
  }
}
