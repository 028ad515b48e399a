import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tenant webhooks (webhooks library).
 *
 * - `webhook_endpoints`: where a tenant wants events sent, which event types, and the signing
 *   secret, encrypted (AES-256-GCM under the secrets key, bound to the row's tenant and id).
 * - `webhook_deliveries`: the outbox. One row per (event, endpoint), written in the transaction
 *   that produced the event; the worker claims due rows (`FOR UPDATE SKIP LOCKED`), sends them
 *   and records the outcome. Deleting an endpoint deletes its deliveries.
 */
export class Webhooks1764634400000 implements MigrationInterface {
  name = 'Webhooks1764634400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_endpoints (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        url               text NOT NULL CHECK (length(url) <= 2048),
        description       text CHECK (length(description) <= 500),
        event_types       text[] NOT NULL CHECK (cardinality(event_types) > 0),
        status            text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
        secret_ciphertext bytea NOT NULL,
        secret_rotated_at timestamptz,
        created_at        timestamptz NOT NULL DEFAULT now(),
        created_by        text,
        updated_at        timestamptz NOT NULL DEFAULT now(),
        updated_by        text,
        -- Lets deliveries reference (tenant_id, id): a delivery never pairs a tenant with another
        -- tenant's endpoint.
        UNIQUE (tenant_id, id)
      )`);
    await queryRunner.query(
      `CREATE INDEX webhook_endpoints_tenant_created_idx ON webhook_endpoints (tenant_id, created_at DESC, id DESC)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'webhook_endpoints');

    await queryRunner.query(`
      CREATE TABLE webhook_deliveries (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id        uuid NOT NULL,
        endpoint_id      uuid NOT NULL,
        event_type       text NOT NULL,
        payload          jsonb NOT NULL,
        status           text NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'delivering', 'delivered', 'failed')),
        attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        -- pending: when the next attempt is due; delivering: when the claim expires (a worker
        -- that died mid-send); NULL once delivered or failed.
        next_attempt_at  timestamptz DEFAULT now(),
        last_status_code integer,
        last_error       text CHECK (length(last_error) <= 1000),
        created_at       timestamptz NOT NULL DEFAULT now(),
        delivered_at     timestamptz,
        FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE,
        CHECK ((status IN ('pending', 'delivering')) = (next_attempt_at IS NOT NULL))
      )`);
    await queryRunner.query(
      `CREATE INDEX webhook_deliveries_endpoint_created_idx ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC, id DESC)`,
    );
    // The dispatcher's due-query: unfinished rows by due time, across tenants (platform scope).
    await queryRunner.query(
      `CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
         WHERE status IN ('pending', 'delivering')`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'webhook_deliveries');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'webhook_deliveries');
    await queryRunner.query(`DROP TABLE webhook_deliveries`);
    await disableTenantRowLevelSecurity(queryRunner, 'webhook_endpoints');
    await queryRunner.query(`DROP TABLE webhook_endpoints`);
  }
}
