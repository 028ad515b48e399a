import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Idempotent usage ingestion (metering library): a usage event's id is recorded once per tenant
 * here, so the same event sent twice (a retried batch, two replicas) counts once. The ledger
 * itself is partitioned by month, and a unique key on a partitioned table must include the
 * partition key, which would let the same id count twice with another timestamp.
 */
export class UsageIngestion1764634200000 implements MigrationInterface {
  name = 'UsageIngestion1764634200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE usage_event_ids (
        tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        id          uuid NOT NULL,
        occurred_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, id)
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'usage_event_ids');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'usage_event_ids');
    await queryRunner.query(`DROP TABLE usage_event_ids`);
  }
}
