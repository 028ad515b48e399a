import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Narrow, single-round-trip lookups that must run before the tenant is known (authentication and
 * staff checks). Each function turns on the RLS bypass for its own body only
 * (`SET app.bypass_rls = 'on'` as a function attribute), so nothing else in the calling session
 * gains it, and each returns only what authentication needs (never the hash).
 */
export class AuthLookups1764547600000 implements MigrationInterface {
  name = 'AuthLookups1764547600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION auth_api_key(p_secret_hash bytea)
      RETURNS TABLE (id uuid, tenant_id uuid, prefix text, roles text[], scopes text[],
                     expires_at timestamptz, revoked_at timestamptz, last_used_at timestamptz)
      LANGUAGE sql STABLE SET app.bypass_rls = 'on' AS $$
        SELECT k.id, k.tenant_id, k.prefix, k.roles, k.scopes, k.expires_at, k.revoked_at, k.last_used_at
          FROM api_keys k WHERE k.secret_hash = p_secret_hash
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION auth_touch_api_key(p_id uuid) RETURNS void
      LANGUAGE sql VOLATILE SET app.bypass_rls = 'on' AS $$
        UPDATE api_keys SET last_used_at = now() WHERE id = p_id
      $$`);
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
    await queryRunner.query(`
      CREATE FUNCTION auth_touch_session(p_id uuid) RETURNS void
      LANGUAGE sql VOLATILE SET app.bypass_rls = 'on' AS $$
        UPDATE sessions SET last_seen_at = now() WHERE id = p_id
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION auth_assigned_tenants(p_user_id uuid) RETURNS TABLE (tenant_id uuid)
      LANGUAGE sql STABLE SET app.bypass_rls = 'on' AS $$
        SELECT a.tenant_id FROM account_manager_assignments a WHERE a.user_id = p_user_id
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION auth_staff_has_role(p_user_id uuid, p_role text) RETURNS boolean
      LANGUAGE sql STABLE SET app.bypass_rls = 'on' AS $$
        SELECT EXISTS (
          SELECT 1 FROM users u JOIN role_assignments r ON r.user_id = u.id AND r.tenant_id = u.tenant_id
           WHERE u.id = p_user_id AND u.status = 'active' AND r.role = p_role
             AND u.tenant_id = '00000000-0000-0000-0000-000000000000')
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const fn of [
      'auth_staff_has_role(uuid, text)',
      'auth_assigned_tenants(uuid)',
      'auth_touch_session(uuid)',
      'auth_session(bytea)',
      'auth_touch_api_key(uuid)',
      'auth_api_key(bytea)',
    ]) {
      await queryRunner.query(`DROP FUNCTION ${fn}`);
    }
  }
}
