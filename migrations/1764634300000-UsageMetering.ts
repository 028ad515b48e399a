import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Metering, the rest of it:
 * - `usage_ensure_partitions(from, months)`: monthly partitions of `usage_events` (UTC months),
 *   created ahead by the worker. Rows that already landed in the DEFAULT partition for a month
 *   being created are moved into it under a lock, so creating a partition late never fails.
 *   SECURITY DEFINER: the apps act as `cp_app`, which owns no tables.
 * - `usage_hourly`: the rollup, maintained in the ingesting transaction: per tenant, metric, UTC
 *   hour, endpoint and API key, the summed quantity and event count. A period's usage is its full
 *   hours from here plus its partial edge hours from the ledger, so the answer is exact for any
 *   period boundary (contracts anchor periods at any instant).
 * - `quota_alert_settings` and `quota_alerts`: thresholds per tenant and the alerts sent, one per
 *   (line, period, threshold).
 */
export class UsageMetering1764634300000 implements MigrationInterface {
  name = 'UsageMetering1764634300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION usage_ensure_partitions(from_month date, months integer)
      RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $fn$
      DECLARE
        lo timestamptz;
        hi timestamptz;
        part text;
        created integer := 0;
      BEGIN
        IF months < 1 OR months > 120 THEN
          RAISE EXCEPTION 'months must be between 1 and 120';
        END IF;
        -- The ledger is row-level secured even for its owner: moving rows is platform work.
        PERFORM set_config('app.bypass_rls', 'on', true);
        FOR i IN 0 .. months - 1 LOOP
          lo := (date_trunc('month', from_month::timestamp) + make_interval(months => i)) AT TIME ZONE 'UTC';
          hi := (date_trunc('month', from_month::timestamp) + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
          part := 'usage_events_y' || to_char(lo AT TIME ZONE 'UTC', 'YYYY"m"MM');
          CONTINUE WHEN to_regclass(part) IS NOT NULL;
          -- Nothing may land in DEFAULT for this range between the move and the attach.
          LOCK TABLE usage_events_default IN ACCESS EXCLUSIVE MODE;
          EXECUTE format('CREATE TABLE %I (LIKE usage_events INCLUDING DEFAULTS)', part);
          EXECUTE format(
            'INSERT INTO %I SELECT * FROM usage_events_default WHERE occurred_at >= $1 AND occurred_at < $2',
            part) USING lo, hi;
          DELETE FROM usage_events_default WHERE occurred_at >= lo AND occurred_at < hi;
          EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L)',
            part, part || '_range', lo, hi);
          EXECUTE format('ALTER TABLE usage_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
            part, lo, hi);
          EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_range');
          EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
          EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
          EXECUTE format(
            'CREATE POLICY %I ON %I USING (tenant_id = app_current_tenant() OR app_rls_bypass()) '
            'WITH CHECK (tenant_id = app_current_tenant() OR app_rls_bypass())',
            part || '_tenant_isolation', part);
          EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO cp_app', part);
          created := created + 1;
        END LOOP;
        RETURN created;
      END
      $fn$`);
    await queryRunner.query(
      `REVOKE ALL ON FUNCTION usage_ensure_partitions(date, integer) FROM PUBLIC`,
    );
    await queryRunner.query(
      `GRANT EXECUTE ON FUNCTION usage_ensure_partitions(date, integer) TO cp_app`,
    );
    await queryRunner.query(
      `SELECT usage_ensure_partitions((date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date, 4)`,
    );

    await queryRunner.query(`
      CREATE TABLE usage_hourly (
        tenant_id    uuid NOT NULL,
        metric       text NOT NULL,
        hour         timestamptz NOT NULL CHECK (date_trunc('hour', hour, 'UTC') = hour),
        endpoint_id  uuid,
        api_key_id   uuid,
        quantity     bigint NOT NULL,
        events       bigint NOT NULL,
        updated_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX usage_hourly_key ON usage_hourly
         (tenant_id, metric, hour, endpoint_id, api_key_id) NULLS NOT DISTINCT`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'usage_hourly');

    await queryRunner.query(`
      CREATE TABLE quota_alert_settings (
        tenant_id   uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        thresholds  smallint[] NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        updated_by  text
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'quota_alert_settings');

    await queryRunner.query(`
      CREATE TABLE quota_alerts (
        id            uuid NOT NULL DEFAULT gen_random_uuid(),
        tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        contract_id   uuid NOT NULL,
        metric        text NOT NULL,
        period        text NOT NULL,
        period_start  timestamptz NOT NULL,
        period_end    timestamptz NOT NULL,
        threshold     smallint NOT NULL,
        enforcement   text NOT NULL,
        quota_limit   bigint NOT NULL,
        used          bigint NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        -- The limit is part of the key: an amendment that changes it re-arms the thresholds.
        PRIMARY KEY (tenant_id, metric, period, period_start, quota_limit, threshold),
        UNIQUE (id)
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'quota_alerts');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'quota_alerts');
    await queryRunner.query(`DROP TABLE quota_alerts`);
    await disableTenantRowLevelSecurity(queryRunner, 'quota_alert_settings');
    await queryRunner.query(`DROP TABLE quota_alert_settings`);
    await disableTenantRowLevelSecurity(queryRunner, 'usage_hourly');
    await queryRunner.query(`DROP TABLE usage_hourly`);
    // Fold the monthly partitions back into DEFAULT, which is all the earlier schema knows.
    const parts: { name: string }[] = await queryRunner.query(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'usage_events'::regclass AND c.relname <> 'usage_events_default'`,
    );
    await queryRunner.query(`SELECT set_config('app.bypass_rls', 'on', true)`);
    for (const { name } of parts) {
      await queryRunner.query(`ALTER TABLE usage_events DETACH PARTITION ${name}`);
      await queryRunner.query(`INSERT INTO usage_events_default SELECT * FROM ${name}`);
      await queryRunner.query(`DROP TABLE ${name}`);
    }
    await queryRunner.query(`DROP FUNCTION usage_ensure_partitions(date, integer)`);
  }
}
