import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `inference_samples`: one row per inference request the gateway served or refused after
 * routing (time to first byte, total time, HTTP status, tokens), written in batches off the
 * request path. The SLA library reads them (per endpoint per minute); they are the tenant's own
 * traffic, so row-level security applies.
 */
export class InferenceSamples1764634900000 implements MigrationInterface {
  name = 'InferenceSamples1764634900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE inference_samples (
        tenant_id         uuid NOT NULL,
        endpoint_id       uuid NOT NULL,
        api_key_id        uuid,
        kind              text NOT NULL CHECK (kind IN ('chat', 'completion', 'embedding')),
        started_at        timestamptz NOT NULL,
        status            integer NOT NULL,
        ttfb_ms           integer,
        total_ms          integer NOT NULL CHECK (total_ms >= 0),
        prompt_tokens     integer NOT NULL DEFAULT 0,
        completion_tokens integer NOT NULL DEFAULT 0,
        error             text CHECK (length(error) <= 200)
      )`);
    await queryRunner.query(
      `CREATE INDEX inference_samples_endpoint_idx ON inference_samples (tenant_id, endpoint_id, started_at)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'inference_samples');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'inference_samples');
    await queryRunner.query(`DROP TABLE inference_samples`);
  }
}
