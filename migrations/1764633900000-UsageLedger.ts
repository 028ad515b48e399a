import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The usage ledger (metering library): one row per usage event, partitioned by month of
 * `occurred_at`. Only the DEFAULT partition exists yet; the metering issue adds monthly
 * partitions, ingestion and rollups. Quota status reads it from day one (empty until then).
 * Row-level security is enabled on the partition too, since a query naming a partition
 * directly does not go through the parent's policy.
 */
export class UsageLedger1764633900000 implements MigrationInterface {
  name = 'UsageLedger1764633900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE usage_events (
        tenant_id           uuid NOT NULL,
        id                  uuid NOT NULL,
        metric              text NOT NULL,
        quantity            bigint NOT NULL,
        occurred_at         timestamptz NOT NULL,
        endpoint_id         uuid,
        api_key_id          uuid,
        fine_tuning_job_id  text,
        attributes          jsonb NOT NULL DEFAULT '{}',
        recorded_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, occurred_at, id)
      ) PARTITION BY RANGE (occurred_at)`);
    await queryRunner.query(`CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT`);
    await queryRunner.query(
      `CREATE INDEX usage_events_tenant_metric_idx ON usage_events (tenant_id, metric, occurred_at)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'usage_events');
    await enableTenantRowLevelSecurity(queryRunner, 'usage_events_default');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'usage_events_default');
    await disableTenantRowLevelSecurity(queryRunner, 'usage_events');
    await queryRunner.query(`DROP TABLE usage_events`);
  }
}
