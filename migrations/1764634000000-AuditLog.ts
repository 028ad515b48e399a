import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tamper-evident audit log (audit library).
 *
 * - `audit_events`: one hash chain per tenant (`tenant_id`), the operator's own chain under the
 *   platform tenant's id. `hash = SHA-256(prev_hash ‖ RFC 8785 JSON of the event)`; `(tenant_id,
 *   sequence)` is the key, so two writers can never both append sequence n.
 * - `audit_chain_heads`: the last sequence and hash of each chain. Appending locks the head row
 *   for the rest of the transaction, so writers to one chain queue up and never fork it.
 * - Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, and the app role holds only
 *   SELECT and INSERT. Retention deletes through `audit_drop_through()`, a SECURITY DEFINER
 *   function that records a checkpoint of the dropped prefix's last hash.
 * - `audit_signing_keys`: public halves of the Ed25519 keys that sign report manifests and
 *   retention checkpoints, kept after rotation so old signatures still verify.
 * - `audit_reports`: exports and their signed manifests.
 */
export class AuditLog1764634000000 implements MigrationInterface {
  name = 'AuditLog1764634000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_chain_heads (
        tenant_id     uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        last_sequence bigint NOT NULL CHECK (last_sequence >= 0),
        last_hash     bytea NOT NULL CHECK (length(last_hash) = 32),
        -- The hash before last_hash: lets one UPDATE both move the head and return the link.
        last_prev_hash bytea NOT NULL CHECK (length(last_prev_hash) = 32),
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'audit_chain_heads');
    // The app creates and moves heads; it never deletes one (verification relies on them).
    await queryRunner.query(`REVOKE DELETE, TRUNCATE ON audit_chain_heads FROM cp_app`);

    await queryRunner.query(`
      CREATE TABLE audit_events (
        tenant_id        uuid NOT NULL REFERENCES tenants (id),
        sequence         bigint NOT NULL CHECK (sequence >= 1),
        id               uuid NOT NULL,
        occurred_at      timestamptz NOT NULL,
        actor_type       text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system', 'anonymous')),
        actor_id         text,
        actor_email      text,
        actor_key_prefix text,
        actor_ip         text,
        actor_user_agent text,
        action           text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$'),
        resource_type    text,
        resource_id      text,
        outcome          text NOT NULL CHECK (outcome IN ('success', 'denied', 'failure')),
        reason           text,
        request_id       text,
        trace_id         text,
        changes          jsonb,
        prev_hash        bytea NOT NULL CHECK (length(prev_hash) = 32),
        hash             bytea NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (tenant_id, sequence)
      )`);
    await queryRunner.query(
      `CREATE INDEX audit_events_tenant_time_idx ON audit_events (tenant_id, occurred_at, sequence)`,
    );
    await queryRunner.query(`CREATE INDEX audit_events_time_idx ON audit_events (occurred_at, id)`);
    await queryRunner.query(
      `CREATE INDEX audit_events_tenant_actor_idx ON audit_events (tenant_id, actor_id, sequence)`,
    );
    await queryRunner.query(
      `CREATE INDEX audit_events_tenant_resource_idx ON audit_events (tenant_id, resource_type, resource_id, sequence)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'audit_events');
    await queryRunner.query(`REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM cp_app`);
    await queryRunner.query(`
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('audit.retention', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()`);
    await queryRunner.query(`
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()`);

    await queryRunner.query(`
      CREATE TABLE audit_checkpoints (
        tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        through_sequence bigint NOT NULL,
        through_hash     bytea NOT NULL CHECK (length(through_hash) = 32),
        through_occurred_at timestamptz NOT NULL,
        dropped_count    bigint NOT NULL,
        key_id           text NOT NULL,
        signature        bytea NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, through_sequence)
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'audit_checkpoints');
    await queryRunner.query(`REVOKE UPDATE, DELETE, TRUNCATE ON audit_checkpoints FROM cp_app`);

    // Retention's only way to delete: a prefix of one chain, through a sequence whose checkpoint
    // (signed by the caller) is recorded in the same statement's transaction.
    await queryRunner.query(`
      CREATE FUNCTION audit_drop_through(p_tenant uuid, p_through bigint) RETURNS bigint
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
      DECLARE dropped bigint;
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM audit_checkpoints
                        WHERE tenant_id = p_tenant AND through_sequence = p_through) THEN
          RAISE EXCEPTION 'no checkpoint for sequence % of chain %', p_through, p_tenant;
        END IF;
        -- No retention is shorter than a day: recent evidence is never dropped.
        IF EXISTS (SELECT 1 FROM audit_events WHERE tenant_id = p_tenant AND sequence <= p_through
                      AND occurred_at > now() - interval '1 day') THEN
          RAISE EXCEPTION 'refusing to drop events of chain % younger than a day', p_tenant;
        END IF;
        PERFORM set_config('audit.retention', 'on', true);
        DELETE FROM audit_events WHERE tenant_id = p_tenant AND sequence <= p_through;
        GET DIAGNOSTICS dropped = ROW_COUNT;
        PERFORM set_config('audit.retention', 'off', true);
        RETURN dropped;
      END $$`);
    await queryRunner.query(`REVOKE ALL ON FUNCTION audit_drop_through(uuid, bigint) FROM PUBLIC`);
    await queryRunner.query(`GRANT EXECUTE ON FUNCTION audit_drop_through(uuid, bigint) TO cp_app`);

    await queryRunner.query(`
      CREATE TABLE audit_signing_keys (
        key_id         text PRIMARY KEY,
        algorithm      text NOT NULL DEFAULT 'Ed25519',
        public_key_pem text NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        retired_at     timestamptz
      )`);
    // A record of the keys used, not a trust anchor (those come from the key files): still, the
    // app only adds and retires, never rewrites or deletes.
    await queryRunner.query(`REVOKE DELETE, TRUNCATE ON audit_signing_keys FROM cp_app`);

    await queryRunner.query(`
      CREATE TABLE audit_reports (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        status          text NOT NULL DEFAULT 'queued'
                          CHECK (status IN ('queued', 'running', 'completed', 'failed')),
        from_at         timestamptz NOT NULL,
        to_at           timestamptz NOT NULL,
        format          text NOT NULL CHECK (format IN ('jsonl', 'csv')),
        filters         jsonb NOT NULL DEFAULT '{}',
        row_count       bigint,
        sha256          text,
        first_sequence  bigint,
        last_sequence   bigint,
        first_prev_hash text,
        last_hash       text,
        contiguous      boolean,
        key_id          text,
        signature       text,
        manifest        jsonb,
        storage_key     text,
        error           text,
        created_by      text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        completed_at    timestamptz,
        CHECK (to_at > from_at)
      )`);
    await queryRunner.query(
      `CREATE INDEX audit_reports_tenant_idx ON audit_reports (tenant_id, created_at, id)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'audit_reports');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'audit_reports');
    await queryRunner.query(`DROP TABLE audit_reports`);
    await queryRunner.query(`DROP TABLE audit_signing_keys`);
    await queryRunner.query(`DROP FUNCTION audit_drop_through(uuid, bigint)`);
    await disableTenantRowLevelSecurity(queryRunner, 'audit_checkpoints');
    await queryRunner.query(`DROP TABLE audit_checkpoints`);
    await queryRunner.query(`DROP TRIGGER audit_events_no_truncate ON audit_events`);
    await queryRunner.query(`DROP TRIGGER audit_events_append_only ON audit_events`);
    await queryRunner.query(`DROP FUNCTION audit_events_append_only()`);
    await disableTenantRowLevelSecurity(queryRunner, 'audit_events');
    await queryRunner.query(`DROP TABLE audit_events`);
    await disableTenantRowLevelSecurity(queryRunner, 'audit_chain_heads');
    await queryRunner.query(`DROP TABLE audit_chain_heads`);
  }
}
