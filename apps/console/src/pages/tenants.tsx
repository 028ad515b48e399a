import { Link, Typography } from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';
import type { Tenant } from '../api';
import { DataTable } from '../components/data-table';
import { MoreButton, usePagedList } from '../components/paging';
import { QueryView } from '../components/states';
import { StatusChip } from '../components/status-chip';

/** The tenants the caller may see: an account manager's assigned ones, all for platform staff. */
export function TenantsPage() {
  const tenants = usePagedList<Tenant>(['tenants'], '/v1/tenants');
  return (
    <section aria-labelledby="tenants-title">
      <Typography id="tenants-title" variant="h4" component="h1" gutterBottom>
        Tenants
      </Typography>
      <QueryView
        query={tenants.view}
        what="tenants"
        isEmpty={(list) => list.length === 0}
        empty="No tenants are assigned to you yet."
      >
        {(list) => (
          <DataTable
            label="Tenants"
            rows={list}
            rowKey={(tenant) => tenant.id}
            columns={[
              {
                header: 'Name',
                cell: (tenant) => (
                  <Link component={RouterLink} to={`/tenants/${tenant.id}`}>
                    {tenant.name}
                  </Link>
                ),
              },
              { header: 'Slug', cell: (tenant) => tenant.slug },
              { header: 'Status', cell: (tenant) => <StatusChip status={tenant.status} /> },
              {
                header: 'Data classification',
                cell: (tenant) => tenant.complianceProfile.dataClassification,
              },
            ]}
          />
        )}
      </QueryView>
      <MoreButton list={tenants} label="More tenants" />
    </section>
  );
}
