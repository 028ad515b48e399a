import type { QueryRunner } from 'typeorm';

/**
 * Row-level security for a tenant-owned table, for use in migrations: rows are visible and
 * writable only when their tenant column equals the transaction's `app.tenant_id`, or when the
 * transaction set the explicit platform bypass `app.bypass_rls = 'on'`. FORCE applies the policy
 * to the table owner too. A transaction that set neither sees no row at all.
 *
 * The functions `app_current_tenant()` and `app_rls_bypass()` come from the AppRole migration.
 */
export async function enableTenantRowLevelSecurity(
  queryRunner: QueryRunner,
  table: string,
  tenantColumn = 'tenant_id',
): Promise<void> {
  await queryRunner.query(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
  await queryRunner.query(`ALTER TABLE ${table} FORCE ROW LEVEL SECURITY`);
  await queryRunner.query(
    `CREATE POLICY ${table}_tenant_isolation ON ${table}
       USING (${tenantColumn} = app_current_tenant() OR app_rls_bypass())
       WITH CHECK (${tenantColumn} = app_current_tenant() OR app_rls_bypass())`,
  );
}

/** The `down` of {@link enableTenantRowLevelSecurity}. */
export async function disableTenantRowLevelSecurity(
  queryRunner: QueryRunner,
  table: string,
): Promise<void> {
  await queryRunner.query(`DROP POLICY IF EXISTS ${table}_tenant_isolation ON ${table}`);
  await queryRunner.query(`ALTER TABLE ${table} NO FORCE ROW LEVEL SECURITY`);
  await queryRunner.query(`ALTER TABLE ${table} DISABLE ROW LEVEL SECURITY`);
}
