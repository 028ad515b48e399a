import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tenants (tenancy library). The operator's own organization is the row with the nil UUID
 * (`kind = 'platform'`), so staff users and platform keys are tenant-owned like everything else.
 * A tenant sees its own row only (RLS on `id`).
 */
export class Tenants1764547300000 implements MigrationInterface {
  name = 'Tenants1764547300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE tenants (
        id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug       text NOT NULL,
        name       text NOT NULL,
        kind       text NOT NULL DEFAULT 'customer' CHECK (kind IN ('customer', 'platform')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$')
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug)`);
    await queryRunner.query(`CREATE INDEX tenants_created_at_idx ON tenants (created_at, id)`);
    await queryRunner.query(`
      INSERT INTO tenants (id, slug, name, kind)
      VALUES ('00000000-0000-0000-0000-000000000000', 'platform', 'Platform operator', 'platform')`);
    await enableTenantRowLevelSecurity(queryRunner, 'tenants', 'id');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'tenants');
    await queryRunner.query(`DROP TABLE tenants`);
  }
}
