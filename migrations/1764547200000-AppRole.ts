import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The non-owner role the apps act as (`cp_app`, see APP_DB_ROLE), its grants, and the two
 * functions every row-level-security policy uses. Roles are cluster-wide, so `down` revokes this
 * database's grants but leaves the role for other databases of the cluster.
 */
export class AppRole1764547200000 implements MigrationInterface {
  name = 'AppRole1764547200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cp_app') THEN
          CREATE ROLE cp_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF;
        -- A non-superuser login role must be a member to SET ROLE cp_app.
        IF NOT pg_has_role(current_user, 'cp_app', 'MEMBER') THEN
          EXECUTE format('GRANT cp_app TO %I', current_user);
        END IF;
      END $$`);
    await queryRunner.query(`GRANT USAGE ON SCHEMA public TO cp_app`);
    await queryRunner.query(`GRANT SELECT ON migrations TO cp_app`);
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON worker_heartbeats TO cp_app`);
    await queryRunner.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO cp_app`,
    );
    await queryRunner.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO cp_app`,
    );
    await queryRunner.query(`
      CREATE FUNCTION app_current_tenant() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE AS
      $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$`);
    await queryRunner.query(`
      CREATE FUNCTION app_rls_bypass() RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS
      $$ SELECT coalesce(current_setting('app.bypass_rls', true), '') = 'on' $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION app_rls_bypass()`);
    await queryRunner.query(`DROP FUNCTION app_current_tenant()`);
    await queryRunner.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM cp_app`,
    );
    await queryRunner.query(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM cp_app`,
    );
    await queryRunner.query(`REVOKE ALL ON worker_heartbeats FROM cp_app`);
    await queryRunner.query(`REVOKE ALL ON migrations FROM cp_app`);
    await queryRunner.query(`REVOKE USAGE ON SCHEMA public FROM cp_app`);
  }
}
