import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/** Which operator staff (account managers) act for which tenant (tenancy library). */
export class AccountManagerAssignments1764547500000 implements MigrationInterface {
  name = 'AccountManagerAssignments1764547500000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE account_manager_assignments (
        tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text,
        PRIMARY KEY (tenant_id, user_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX account_manager_assignments_user_idx ON account_manager_assignments (user_id)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'account_manager_assignments');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'account_manager_assignments');
    await queryRunner.query(`DROP TABLE account_manager_assignments`);
  }
}
