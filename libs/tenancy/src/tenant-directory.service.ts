import { TenantDirectory } from '@app/authz';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * Authorization's view of tenants: the scope check run at the start of each tenant-scoped
 * transaction, and account-manager assignments for authentication (through the `auth_*` SQL
 * function, which bypasses RLS for its own body only; AuthLookups migration).
 */
@Injectable()
export class TenantDirectoryService implements TenantDirectory {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  readonly scopeCheckSql =
    "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = app_current_tenant() AND kind = 'customer') AS tenant_exists";

  async assignedTenantIds(userId: string): Promise<string[]> {
    const rows: { tenant_id: string }[] = await this.dataSource.query(
      'SELECT tenant_id FROM auth_assigned_tenants($1)',
      [userId],
    );
    return rows.map((row) => row.tenant_id);
  }
}
