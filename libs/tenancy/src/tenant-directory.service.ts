import { TenantDirectory } from '@app/authz';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

/**
 * The guard's view of tenants, before any tenant scope exists: one-statement lookups through
 * the `auth_*` SQL functions, which bypass RLS for their own body only (AuthLookups migration).
 */
@Injectable()
export class TenantDirectoryService implements TenantDirectory {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async lookup(tenantId: string): Promise<{ id: string; status: string } | null> {
    const rows: { id: string }[] = await this.dataSource.query(
      'SELECT id FROM auth_customer_tenant($1)',
      [tenantId],
    );
    return rows[0] ? { id: rows[0].id, status: 'active' } : null;
  }

  async assignedTenantIds(userId: string): Promise<string[]> {
    const rows: { tenant_id: string }[] = await this.dataSource.query(
      'SELECT tenant_id FROM auth_assigned_tenants($1)',
      [userId],
    );
    return rows.map((row) => row.tenant_id);
  }
}
