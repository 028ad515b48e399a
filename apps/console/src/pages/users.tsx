import { Alert, Button, Chip, Stack, Typography } from '@mui/material';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router-dom';
import { api, problemOf, TenantUser } from '../api';
import { ConfirmDialog } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { PageSection } from '../components/page';
import { MoreButton, usePagedList } from '../components/paging';
import { formatInstant, isNotFound, QueryView } from '../components/states';
import { StatusChip } from '../components/status-chip';
import { useSession } from '../session';
import { NotFoundPage } from './not-found';

/**
 * The tenant's people (`GET /v1/tenants/{id}/users`): roles (read-only: the IdP's groups decide
 * them at each sign-in), status and last sign-in; tenant admins disable (which ends the person's
 * sessions at once) and enable them.
 */
export function UsersPage() {
  const { tenantId = '' } = useParams();
  const { can, me } = useSession();
  const queries = useQueryClient();
  const readable = can('read', 'User', tenantId);
  const users = usePagedList<TenantUser>(['users', tenantId], `/v1/tenants/${tenantId}/users`, {
    enabled: readable,
  });
  const [disabling, setDisabling] = useState<TenantUser | null>(null);
  const base = `/v1/tenants/${tenantId}/users`;
  const refresh = () => queries.invalidateQueries({ queryKey: ['users', tenantId] });
  const disable = useMutation({
    mutationFn: (user: TenantUser) => api.post<TenantUser>(`${base}/${user.id}/disable`),
    onSuccess: async () => {
      setDisabling(null);
      await refresh();
    },
  });
  const enable = useMutation({
    mutationFn: (user: TenantUser) => api.post<TenantUser>(`${base}/${user.id}/enable`),
    onSuccess: refresh,
  });

  if (!readable || (users.error && isNotFound(users.error))) return <NotFoundPage what="users" />;
  const self = (user: TenantUser) => me.actor.type === 'user' && me.actor.id === user.id;

  return (
    <PageSection
      id="users-title"
      title="Users and roles"
      back={{ to: `/tenants/${tenantId}`, label: 'Back to the tenant' }}
    >
      <Alert severity="info" sx={{ mb: 2 }}>
        People arrive through single sign-on. Their roles come from their groups at your identity
        provider (the SAML connection&apos;s group-to-role rules) and are set again at each sign-in,
        so they are shown here but changed at the identity provider.
      </Alert>
      {enable.error && (
        <Alert severity="error" role="alert" sx={{ mb: 2 }}>
          {problemOf(enable.error).message}
        </Alert>
      )}
      <QueryView
        query={users.view}
        what="users"
        isEmpty={(rows) => rows.length === 0}
        empty="Nobody has signed in yet."
      >
        {(rows) => (
          <DataTable
            label="Users"
            rows={rows}
            rowKey={(user) => user.id}
            columns={[
              {
                header: 'Email',
                cell: (user) => (
                  <>
                    {user.email}
                    {user.displayName && (
                      <Typography variant="body2" color="text.secondary">
                        {user.displayName}
                      </Typography>
                    )}
                  </>
                ),
              },
              {
                header: 'Roles',
                cell: (user) => (
                  <Stack direction="row" spacing={0.5} sx={{ flexWrap: 'wrap' }}>
                    {user.roles.length
                      ? user.roles.map((role) => (
                          <Chip key={role} size="small" variant="outlined" label={role} />
                        ))
                      : 'none'}
                  </Stack>
                ),
              },
              {
                header: 'Status',
                cell: (user) => (
                  <StatusChip status={user.status} label={`Status of ${user.email}`} />
                ),
              },
              { header: 'Last sign-in', cell: (user) => formatInstant(user.lastSignInAt) },
              { header: 'Since', cell: (user) => formatInstant(user.createdAt) },
              {
                header: 'Actions',
                hideHeader: true,
                cell: (user) =>
                  self(user) ? (
                    <Typography variant="body2" color="text.secondary">
                      you
                    </Typography>
                  ) : user.status === 'active' ? (
                    can('disable', 'User', tenantId) && (
                      <Button
                        color="error"
                        size="small"
                        onClick={() => {
                          disable.reset();
                          setDisabling(user);
                        }}
                        aria-label={`Disable ${user.email}`}
                      >
                        Disable
                      </Button>
                    )
                  ) : (
                    can('enable', 'User', tenantId) && (
                      <Button
                        size="small"
                        onClick={() => enable.mutate(user)}
                        disabled={enable.isPending}
                        aria-label={`Enable ${user.email}`}
                      >
                        Enable
                      </Button>
                    )
                  ),
              },
            ]}
          />
        )}
      </QueryView>
      <MoreButton list={users} label="More users" />
      <ConfirmDialog
        open={disabling !== null}
        title={`Disable ${disabling?.email ?? ''}?`}
        confirmLabel="Disable"
        pending={disable.isPending}
        error={disable.error}
        onConfirm={() => disabling && disable.mutate(disabling)}
        onClose={() => setDisabling(null)}
      >
        Their sessions end now, and they cannot sign in until a tenant admin enables them again.
      </ConfirmDialog>
    </PageSection>
  );
}
