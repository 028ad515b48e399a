import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/** Users, role assignments, API keys and sessions (identity library), all tenant-owned. */
export class Identity1764547400000 implements MigrationInterface {
  name = 'Identity1764547400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE users (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        email        text NOT NULL,
        display_name text,
        status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX users_tenant_email_key ON users (tenant_id, lower(email))`,
    );
    // Lets sessions and role assignments reference (tenant_id, user_id): a row can never pair a
    // tenant with another tenant's user.
    await queryRunner.query(
      `ALTER TABLE users ADD CONSTRAINT users_tenant_id_id_key UNIQUE (tenant_id, id)`,
    );
    await queryRunner.query(`
      CREATE TABLE role_assignments (
        id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        user_id    uuid NOT NULL,
        role       text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX role_assignments_user_role_key ON role_assignments (tenant_id, user_id, role)`,
    );
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        name         text NOT NULL,
        prefix       text NOT NULL,
        secret_hash  bytea NOT NULL,
        roles        text[] NOT NULL DEFAULT '{}',
        scopes       text[] NOT NULL DEFAULT '{}',
        expires_at   timestamptz,
        last_used_at timestamptz,
        revoked_at   timestamptz,
        rotated_at   timestamptz,
        created_by   text,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX api_keys_secret_hash_key ON api_keys (secret_hash)`,
    );
    await queryRunner.query(
      `CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(`
      CREATE TABLE sessions (
        id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        user_id             uuid NOT NULL,
        token_hash          bytea NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now(),
        last_seen_at        timestamptz NOT NULL DEFAULT now(),
        absolute_expires_at timestamptz NOT NULL,
        revoked_at          timestamptz,
        ip                  text,
        user_agent          text,
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash)`);
    await queryRunner.query(
      `CREATE INDEX sessions_tenant_user_idx ON sessions (tenant_id, user_id)`,
    );
    for (const table of ['users', 'role_assignments', 'api_keys', 'sessions']) {
      await enableTenantRowLevelSecurity(queryRunner, table);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['sessions', 'api_keys', 'role_assignments', 'users']) {
      await disableTenantRowLevelSecurity(queryRunner, table);
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
