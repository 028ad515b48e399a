import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The region catalog (platform-wide, not tenant-owned), the tenant lifecycle status and billing
 * time zone, and versioned compliance profiles (tenancy library). The `auth_*` lookups now also
 * return the caller's tenant status, so a suspended tenant's keys and sessions are refused
 * without another round trip.
 */
export class RegionsAndComplianceProfiles1764633700000 implements MigrationInterface {
  name = 'RegionsAndComplianceProfiles1764633700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE regions (
        code           text PRIMARY KEY CHECK (code ~ '^[a-z]{2,12}(-[a-z0-9]{1,16}){1,3}$'),
        name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        data_zone      text NOT NULL CHECK (data_zone ~ '^[a-z]{2,16}$'),
        certifications text[] NOT NULL DEFAULT '{}',
        gpu_capacity   jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(gpu_capacity) = 'object'),
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
    // A realistic default catalog; the platform admin edits it through /v1/regions.
    await queryRunner.query(`
      INSERT INTO regions (code, name, data_zone, certifications, gpu_capacity) VALUES
        ('us-east-1', 'US East (N. Virginia)', 'us', '{fedramp_moderate,hipaa,iso27001,pci_dss,soc2}', '{"h100": 128, "a100": 64}'),
        ('us-west-2', 'US West (Oregon)', 'us', '{hipaa,iso27001,pci_dss,soc2}', '{"h100": 64, "l4": 128}'),
        ('eu-west-1', 'EU West (Ireland)', 'eu', '{gdpr,hipaa,iso27001,pci_dss,soc2}', '{"h100": 64}'),
        ('eu-central-1', 'EU Central (Frankfurt)', 'eu', '{gdpr,iso27001,pci_dss,soc2}', '{"h100": 32, "a100": 32}'),
        ('ap-northeast-1', 'Asia Pacific (Tokyo)', 'apac', '{iso27001,pci_dss,soc2}', '{"a100": 32}')`);

    await queryRunner.query(`
      ALTER TABLE tenants
        ADD COLUMN status text NOT NULL DEFAULT 'active'
          CHECK (status IN ('onboarding', 'active', 'suspended', 'offboarded')),
        ADD COLUMN status_reason text,
        ADD COLUMN status_changed_at timestamptz,
        ADD COLUMN billing_time_zone text NOT NULL DEFAULT 'UTC',
        ADD COLUMN compliance_profile jsonb NOT NULL DEFAULT '{}',
        ADD COLUMN compliance_profile_version integer NOT NULL DEFAULT 1`);
    // Rows that existed before the lifecycle were in use; new tenants start onboarding.
    await queryRunner.query(`ALTER TABLE tenants ALTER COLUMN status SET DEFAULT 'onboarding'`);

    await queryRunner.query(`
      CREATE TABLE compliance_profile_versions (
        tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        version    integer NOT NULL CHECK (version >= 1),
        profile    jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text,
        PRIMARY KEY (tenant_id, version)
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'compliance_profile_versions');

    await queryRunner.query(`DROP FUNCTION auth_api_key(bytea)`);
    await queryRunner.query(`
      CREATE FUNCTION auth_api_key(p_secret_hash bytea)
      RETURNS TABLE (id uuid, tenant_id uuid, prefix text, roles text[], scopes text[],
                     expires_at timestamptz, revoked_at timestamptz, last_used_at timestamptz,
                     tenant_status text)
      LANGUAGE sql STABLE SET app.bypass_rls = 'on' AS $$
        SELECT k.id, k.tenant_id, k.prefix, k.roles, k.scopes, k.expires_at, k.revoked_at,
               k.last_used_at, t.status
          FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
         WHERE k.secret_hash = p_secret_hash
      $$`);
    await queryRunner.query(`DROP FUNCTION auth_session(bytea)`);
    await queryRunner.query(`
      CREATE FUNCTION auth_session(p_token_hash bytea)
      RETURNS TABLE (id uuid, tenant_id uuid, user_id uuid, email text, user_status text,
                     last_seen_at timestamptz, absolute_expires_at timestamptz, revoked_at timestamptz,
                     roles text[], tenant_status text)
      LANGUAGE sql STABLE SET app.bypass_rls = 'on' AS $$
        SELECT s.id, s.tenant_id, s.user_id, u.email, u.status, s.last_seen_at, s.absolute_expires_at,
               s.revoked_at,
               coalesce((SELECT array_agg(r.role ORDER BY r.role) FROM role_assignments r
                          WHERE r.user_id = s.user_id AND r.tenant_id = s.tenant_id), '{}'),
               t.status
          FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id
         WHERE s.token_hash = p_token_hash
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION auth_session(bytea)`);
    await queryRunner.query(`
      CREATE FUNCTION auth_session(p_token_hash bytea)
      RETURNS TABLE (id uuid, tenant_id uuid, user_id uuid, email text, user_status text,
                     last_seen_at timestamptz, absolute_expires_at timestamptz, revoked_at timestamptz,
                     roles text[])
      LANGUAGE sql STABLE SET app.bypass_rls = 'on' AS $$
        SELECT s.id, s.tenant_id, s.user_id, u.email, u.status, s.last_seen_at, s.absolute_expires_at,
               s.revoked_at,
               coalesce((SELECT array_agg(r.role ORDER BY r.role) FROM role_assignments r
                          WHERE r.user_id = s.user_id AND r.tenant_id = s.tenant_id), '{}')
          FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = p_token_hash
      $$`);
    await queryRunner.query(`DROP FUNCTION auth_api_key(bytea)`);
    await queryRunner.query(`
      CREATE FUNCTION auth_api_key(p_secret_hash bytea)
      RETURNS TABLE (id uuid, tenant_id uuid, prefix text, roles text[], scopes text[],
                     expires_at timestamptz, revoked_at timestamptz, last_used_at timestamptz)
      LANGUAGE sql STABLE SET app.bypass_rls = 'on' AS $$
        SELECT k.id, k.tenant_id, k.prefix, k.roles, k.scopes, k.expires_at, k.revoked_at, k.last_used_at
          FROM api_keys k WHERE k.secret_hash = p_secret_hash
      $$`);
    await disableTenantRowLevelSecurity(queryRunner, 'compliance_profile_versions');
    await queryRunner.query(`DROP TABLE compliance_profile_versions`);
    await queryRunner.query(`
      ALTER TABLE tenants
        DROP COLUMN compliance_profile_version, DROP COLUMN compliance_profile,
        DROP COLUMN billing_time_zone, DROP COLUMN status_changed_at, DROP COLUMN status_reason,
        DROP COLUMN status`);
    await queryRunner.query(`DROP TABLE regions`);
  }
}
