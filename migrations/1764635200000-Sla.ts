import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SLA monitoring (SLA library, issue 11).
 *
 * - `sla_probe_results`: one row per synthetic probe of an endpoint (health plus a one-token
 *   completion), written by the worker; `probe_id` (the job id) makes a retried job write nothing
 *   twice.
 * - `inference_samples.recorded_at`: when the gateway wrote the sample, so the rollup finds late
 *   ones (a long stream's sample arrives when it ends).
 * - `sla_minutes`: per endpoint per SLA minute, the rollup of `inference_samples` (requests,
 *   errors, latency histograms) and of the probes. A minute that received raw rows is recomputed
 *   (not added to) from all of its raw rows, so a rollup that runs twice counts nothing twice. Histograms are jsonb maps
 *   from bucket index to count (see `latency-histogram.ts`).
 * - `sla_rollup_state`: how far the rollup has gone (platform-wide, one row).
 * - `sla_evaluation_state`: per tenant, up to which minute incidents have been evaluated.
 * - `sla_incidents`: opened at the first bad minute, closed after N good ones; one open per tenant.
 * - `sla_burn_rate_alerts`: one row per episode of a burn-rate alert; one open per tenant and
 *   severity, so an episode fires once.
 * - `maintenance_windows`: declared in advance, excluded from availability.
 * - `sla_reports`: frozen months (report JSON and CSV as served, with the signed manifest).
 */
export class Sla1764635200000 implements MigrationInterface {
  name = 'Sla1764635200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE sla_probe_results (
        tenant_id   uuid NOT NULL,
        endpoint_id uuid NOT NULL,
        probe_id    text NOT NULL CHECK (length(probe_id) <= 200),
        probed_at   timestamptz NOT NULL,
        ok          boolean NOT NULL,
        latency_ms  integer NOT NULL CHECK (latency_ms >= 0),
        error       text CHECK (length(error) <= 300),
        -- When the row was written (probes are written after they finish).
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, endpoint_id, probe_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX sla_probe_results_time_idx ON sla_probe_results (tenant_id, endpoint_id, probed_at)`,
    );
    await queryRunner.query(
      `CREATE INDEX sla_probe_results_recorded_at_idx ON sla_probe_results (recorded_at)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'sla_probe_results');

    // The gateway writes a sample when its request ends, which for a long stream is minutes
    // after \`started_at\`: the rollup finds new samples by when they were written.
    await queryRunner.query(
      `ALTER TABLE inference_samples ADD COLUMN recorded_at timestamptz NOT NULL DEFAULT now()`,
    );
    await queryRunner.query(
      `CREATE INDEX inference_samples_recorded_at_idx ON inference_samples (recorded_at)`,
    );

    await queryRunner.query(`
      CREATE TABLE sla_minutes (
        tenant_id      uuid NOT NULL,
        endpoint_id    uuid NOT NULL,
        minute         timestamptz NOT NULL,
        requests       integer NOT NULL DEFAULT 0 CHECK (requests >= 0),
        errors         integer NOT NULL DEFAULT 0 CHECK (errors >= 0 AND errors <= requests),
        ttfb_hist      jsonb NOT NULL DEFAULT '{}',
        total_hist     jsonb NOT NULL DEFAULT '{}',
        probes         integer NOT NULL DEFAULT 0 CHECK (probes >= 0),
        probe_failures integer NOT NULL DEFAULT 0 CHECK (probe_failures >= 0 AND probe_failures <= probes),
        probe_hist     jsonb NOT NULL DEFAULT '{}',
        probe_error    text,
        PRIMARY KEY (tenant_id, endpoint_id, minute)
      )`);
    await queryRunner.query(
      `CREATE INDEX sla_minutes_tenant_minute_idx ON sla_minutes (tenant_id, minute)`,
    );
    // The evaluation's platform-wide look for tenants with recent minutes.
    await queryRunner.query(`CREATE INDEX sla_minutes_minute_idx ON sla_minutes (minute)`);
    await enableTenantRowLevelSecurity(queryRunner, 'sla_minutes');

    await queryRunner.query(`
      CREATE TABLE sla_rollup_state (
        id            boolean PRIMARY KEY DEFAULT true CHECK (id),
        rolled_up_to  timestamptz NOT NULL
      )`);

    await queryRunner.query(`
      CREATE TABLE sla_evaluation_state (
        tenant_id     uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        evaluated_to  timestamptz NOT NULL
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'sla_evaluation_state');

    await queryRunner.query(`
      CREATE TABLE sla_incidents (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        status          text NOT NULL CHECK (status IN ('open', 'closed')),
        started_at      timestamptz NOT NULL,
        last_bad_minute timestamptz NOT NULL,
        ended_at        timestamptz,
        closed_at       timestamptz,
        causes          text[] NOT NULL,
        endpoint_ids    uuid[] NOT NULL,
        bad_minutes     integer NOT NULL DEFAULT 1,
        timeline        jsonb NOT NULL DEFAULT '[]',
        created_at      timestamptz NOT NULL DEFAULT now(),
        CHECK ((status = 'closed') = (ended_at IS NOT NULL))
      )`);
    await queryRunner.query(
      `CREATE INDEX sla_incidents_tenant_created_idx ON sla_incidents (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX sla_incidents_tenant_started_idx ON sla_incidents (tenant_id, started_at)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX sla_incidents_one_open ON sla_incidents (tenant_id) WHERE status = 'open'`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'sla_incidents');

    await queryRunner.query(`
      CREATE TABLE sla_burn_rate_alerts (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        severity      text NOT NULL CHECK (severity IN ('fast', 'slow')),
        started_at    timestamptz NOT NULL,
        ended_at      timestamptz,
        burn_rates    jsonb NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX sla_burn_rate_alerts_tenant_created_idx ON sla_burn_rate_alerts (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX sla_burn_rate_alerts_one_open ON sla_burn_rate_alerts (tenant_id, severity) WHERE ended_at IS NULL`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'sla_burn_rate_alerts');

    await queryRunner.query(`
      CREATE TABLE maintenance_windows (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        starts_at   timestamptz NOT NULL,
        ends_at     timestamptz NOT NULL,
        reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
        created_at  timestamptz NOT NULL DEFAULT now(),
        created_by  text,
        CHECK (ends_at > starts_at)
      )`);
    await queryRunner.query(
      `CREATE INDEX maintenance_windows_tenant_created_idx ON maintenance_windows (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX maintenance_windows_tenant_time_idx ON maintenance_windows (tenant_id, starts_at, ends_at)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'maintenance_windows');

    await queryRunner.query(`
      CREATE TABLE sla_reports (
        tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        month       text NOT NULL CHECK (month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
        report_json text NOT NULL,
        report_csv  text NOT NULL,
        manifest    jsonb NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, month)
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'sla_reports');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'sla_reports',
      'maintenance_windows',
      'sla_burn_rate_alerts',
      'sla_incidents',
      'sla_evaluation_state',
    ]) {
      await disableTenantRowLevelSecurity(queryRunner, table);
      await queryRunner.query(`DROP TABLE ${table}`);
    }
    await queryRunner.query(`DROP TABLE sla_rollup_state`);
    await disableTenantRowLevelSecurity(queryRunner, 'sla_minutes');
    await queryRunner.query(`DROP TABLE sla_minutes`);
    await queryRunner.query(`DROP INDEX inference_samples_recorded_at_idx`);
    await queryRunner.query(`ALTER TABLE inference_samples DROP COLUMN recorded_at`);
    await disableTenantRowLevelSecurity(queryRunner, 'sla_probe_results');
    await queryRunner.query(`DROP TABLE sla_probe_results`);
  }
}
