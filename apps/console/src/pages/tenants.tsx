import {
  Button,
  Chip,
  Link,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Paper,
  Typography,
} from '@mui/material';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, Page, Tenant } from '../api';
import { QueryView } from '../components/states';

/** The tenants the caller may see: an account manager's assigned ones, all for platform staff. */
export function TenantsPage() {
  const tenants = useInfiniteQuery({
    queryKey: ['tenants'],
    queryFn: ({ pageParam }) =>
      api.get<Page<Tenant>>('/v1/tenants', { limit: 50, after: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const rows = tenants.data?.pages.flatMap((page) => page.data) ?? [];
  return (
    <section aria-labelledby="tenants-title">
      <Typography id="tenants-title" variant="h4" component="h1" gutterBottom>
        Tenants
      </Typography>
      <QueryView
        query={{ isPending: tenants.isPending, error: tenants.error, data: rows }}
        what="tenants"
        isEmpty={(list) => list.length === 0}
        empty="No tenants are assigned to you yet."
      >
        {(list) => (
          <TableContainer component={Paper}>
            <Table aria-labelledby="tenants-title" size="small">
              <TableHead>
                <TableRow>
                  <TableCell>Name</TableCell>
                  <TableCell>Slug</TableCell>
                  <TableCell>Status</TableCell>
                  <TableCell>Data classification</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {list.map((tenant) => (
                  <TableRow key={tenant.id}>
                    <TableCell>
                      <Link component={RouterLink} to={`/tenants/${tenant.id}`}>
                        {tenant.name}
                      </Link>
                    </TableCell>
                    <TableCell>{tenant.slug}</TableCell>
                    <TableCell>
                      <Chip size="small" label={tenant.status} />
                    </TableCell>
                    <TableCell>{tenant.complianceProfile.dataClassification}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
        )}
      </QueryView>
      {tenants.hasNextPage && (
        <Button
          onClick={() => tenants.fetchNextPage()}
          disabled={tenants.isFetchingNextPage}
          sx={{ mt: 2 }}
        >
          More tenants
        </Button>
      )}
    </section>
  );
}
