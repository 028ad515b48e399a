import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dedicated endpoints (endpoints library).
 *
 * - `catalog_models`: the model catalog. Base models (`tenant_id` NULL) are the operator's and
 *   visible to every tenant; fine-tuned models belong to one tenant and only it sees them.
 *   Seeded with three base models the `local` provider serves.
 * - `endpoints`: a tenant's dedicated endpoint. Desired spec (`desired_*`, `generation`, bumped
 *   on every change the provider must act on) and observed status (`status`, `observed`, written
 *   by the reconciler). A name is unique among the tenant's endpoints that are not deleted.
 * - `endpoint_events`: every transition and notable observation of an endpoint, newest first.
 * - `endpoint_replica_runs`: when each replica ran and on how many GPUs; GPU-hours are metered
 *   from it (`endpoints.gpu_hours_recorded` is how many whole hours the ledger already holds).
 * - `region_gpus_allocated(region, gpu_type)`: GPUs held in a region by every tenant's endpoints
 *   (SECURITY DEFINER: the capacity check must see other tenants' endpoints, but returns only a
 *   sum).
 */
export class Endpoints1764634700000 implements MigrationInterface {
  name = 'Endpoints1764634700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE catalog_models (
        id               text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._:-]{0,199}$'),
        tenant_id        uuid REFERENCES tenants (id) ON DELETE CASCADE,
        family           text NOT NULL CHECK (family ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        modality         text NOT NULL CHECK (modality IN ('chat', 'completion', 'embedding')),
        context_length   integer NOT NULL CHECK (context_length BETWEEN 1 AND 10000000),
        regions          text[] NOT NULL,
        gpu_type         text NOT NULL CHECK (gpu_type ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
        gpus_per_replica integer NOT NULL CHECK (gpus_per_replica BETWEEN 1 AND 64),
        fine_tunable     boolean NOT NULL DEFAULT false,
        base_model_id    text REFERENCES catalog_models (id),
        artifact_uri     text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now(),
        CHECK ((tenant_id IS NULL) = (base_model_id IS NULL))
      )`);
    await queryRunner.query(
      `CREATE INDEX catalog_models_tenant_idx ON catalog_models (tenant_id, id)`,
    );
    await queryRunner.query(`ALTER TABLE catalog_models ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE catalog_models FORCE ROW LEVEL SECURITY`);
    // Base models are everyone's to read; only platform work writes them. A tenant reads and
    // writes its own fine-tuned models.
    await queryRunner.query(`
      CREATE POLICY catalog_models_visibility ON catalog_models
        USING (tenant_id IS NULL OR tenant_id = app_current_tenant() OR app_rls_bypass())
        WITH CHECK (tenant_id = app_current_tenant() OR app_rls_bypass())`);
    await queryRunner.query(`
      INSERT INTO catalog_models (id, family, modality, context_length, regions, gpu_type,
                                  gpus_per_replica, fine_tunable)
      VALUES
        ('llama-3-8b-local', 'llama', 'chat', 8192,
         ARRAY['eu-west-1', 'eu-central-1', 'us-east-1', 'us-west-2'], 'h100', 1, true),
        ('mistral-7b-local', 'mistral', 'chat', 8192,
         ARRAY['eu-central-1', 'us-east-1', 'ap-northeast-1'], 'a100', 1, true),
        ('e5-small-local', 'e5', 'embedding', 512,
         ARRAY['eu-west-1', 'eu-central-1', 'us-east-1', 'us-west-2'], 'h100', 1, false)`);

    await queryRunner.query(`
      CREATE TABLE endpoints (
        id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        name                text NOT NULL CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
        model_id            text NOT NULL REFERENCES catalog_models (id),
        region              text NOT NULL REFERENCES regions (code),
        provider            text NOT NULL,
        min_replicas        integer NOT NULL CHECK (min_replicas BETWEEN 0 AND 64),
        max_replicas        integer NOT NULL CHECK (max_replicas BETWEEN 1 AND 64),
        desired_replicas    integer NOT NULL CHECK (desired_replicas BETWEEN 0 AND 64),
        autoscaling         jsonb,
        -- Since when the autoscaler has wanted fewer replicas (scale-down waits for its delay).
        scale_down_since    timestamptz,
        desired_state       text NOT NULL CHECK (desired_state IN ('running', 'stopped', 'deleted')),
        gpu_type            text NOT NULL,
        gpus_per_replica    integer NOT NULL CHECK (gpus_per_replica >= 1),
        generation          integer NOT NULL DEFAULT 1 CHECK (generation >= 1),
        status              text NOT NULL,
        status_reason       text CHECK (length(status_reason) <= 1000),
        observed            jsonb NOT NULL DEFAULT '{"replicas": [], "url": null}',
        observed_generation integer,
        reconcile_failures  integer NOT NULL DEFAULT 0,
        gpu_hours_recorded  bigint NOT NULL DEFAULT 0,
        quota_event_id      uuid NOT NULL,
        -- The +1 dedicated_endpoints usage event is in the ledger (the commit after create, or
        -- the reconciler's repair when that commit was lost).
        quota_recorded      boolean NOT NULL DEFAULT false,
        created_at          timestamptz NOT NULL DEFAULT now(),
        created_by          text,
        updated_at          timestamptz NOT NULL DEFAULT now(),
        updated_by          text,
        deleted_at          timestamptz,
        CHECK (min_replicas <= max_replicas),
        UNIQUE (tenant_id, id)
      )`);
    await queryRunner.query(
      `CREATE INDEX endpoints_tenant_created_idx ON endpoints (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX endpoints_tenant_name_live_idx ON endpoints (tenant_id, name)
         WHERE status <> 'deleted'`,
    );
    // The reconciler's sweep: every endpoint not yet deleted, across tenants.
    await queryRunner.query(
      `CREATE INDEX endpoints_live_idx ON endpoints (updated_at) WHERE status <> 'deleted'`,
    );
    await queryRunner.query(
      `CREATE INDEX endpoints_region_idx ON endpoints (region, gpu_type) WHERE desired_state = 'running'`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'endpoints');

    await queryRunner.query(`
      CREATE TABLE endpoint_events (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id   uuid NOT NULL,
        endpoint_id uuid NOT NULL,
        type        text NOT NULL,
        from_status text,
        to_status   text,
        message     text NOT NULL CHECK (length(message) <= 2000),
        details     jsonb,
        actor       text,
        created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        FOREIGN KEY (tenant_id, endpoint_id) REFERENCES endpoints (tenant_id, id) ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX endpoint_events_endpoint_idx ON endpoint_events (tenant_id, endpoint_id, created_at DESC, id DESC)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'endpoint_events');

    await queryRunner.query(`
      CREATE TABLE endpoint_replica_runs (
        tenant_id   uuid NOT NULL,
        endpoint_id uuid NOT NULL,
        replica_id  text NOT NULL,
        gpus        integer NOT NULL CHECK (gpus >= 1),
        started_at  timestamptz NOT NULL,
        ended_at    timestamptz,
        PRIMARY KEY (tenant_id, endpoint_id, replica_id),
        FOREIGN KEY (tenant_id, endpoint_id) REFERENCES endpoints (tenant_id, id) ON DELETE CASCADE,
        CHECK (ended_at IS NULL OR ended_at >= started_at)
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'endpoint_replica_runs');

    await queryRunner.query(`
      CREATE FUNCTION region_gpus_allocated(region_code text, gpu text)
      RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $fn$
      DECLARE
        prior text := coalesce(current_setting('app.bypass_rls', true), '');
        total bigint;
      BEGIN
        -- Sees every tenant's endpoints for this one sum, then puts the caller's scope back:
        -- set_config(..., true) would otherwise last to the end of the caller's transaction.
        PERFORM set_config('app.bypass_rls', 'on', true);
        SELECT coalesce(sum(max_replicas::bigint * gpus_per_replica), 0) INTO total
          FROM endpoints
         WHERE region = region_code AND gpu_type = gpu AND desired_state = 'running';
        PERFORM set_config('app.bypass_rls', prior, true);
        RETURN total;
      END $fn$`);
    await queryRunner.query(`REVOKE ALL ON FUNCTION region_gpus_allocated(text, text) FROM PUBLIC`);
    await queryRunner.query(
      `GRANT EXECUTE ON FUNCTION region_gpus_allocated(text, text) TO cp_app`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION region_gpus_allocated(text, text)`);
    await disableTenantRowLevelSecurity(queryRunner, 'endpoint_replica_runs');
    await queryRunner.query(`DROP TABLE endpoint_replica_runs`);
    await disableTenantRowLevelSecurity(queryRunner, 'endpoint_events');
    await queryRunner.query(`DROP TABLE endpoint_events`);
    await disableTenantRowLevelSecurity(queryRunner, 'endpoints');
    await queryRunner.query(`DROP TABLE endpoints`);
    await queryRunner.query(`DROP TABLE catalog_models`);
  }
}
