import { TenantDirectory } from '@app/authz';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * Authorization's view of tenants: the scope check run at the start of each tenant-scoped
 * transaction (existence and status, so that writes to an offboarded tenant are refused in one
 * place), and account-manager assignments for authentication (through the `auth_*` SQL
 * function, which bypasses RLS for its own body only; AuthLookups migration).
 */
@Injectable()
export class TenantDirectoryService implements TenantDirectory {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * One index lookup: whether the scope's tenant exists, and its lifecycle status. The
   * operator's own row passes too: the guard lets its id through only on the routes that opt in
   * (`@OperatorTenantInPath`, the platform's own SSO) and only for operator staff.
   */
  readonly scopeCheckSql =
    'SELECT count(*) > 0 AS tenant_exists, max(status) AS tenant_status FROM tenants WHERE id = app_current_tenant()';

  async assignedTenantIds(userId: string): Promise<string[]> {
    const rows: { tenant_id: string }[] = await this.dataSource.query(
      'SELECT tenant_id FROM auth_assigned_tenants($1)',
      [userId],
    );
    return rows.map((row) => row.tenant_id);
  }
}
