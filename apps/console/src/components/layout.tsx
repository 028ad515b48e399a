import { AppBar, Box, Button, Container, Link, Stack, Toolbar, Typography } from '@mui/material';
import { useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Link as RouterLink, useNavigate } from 'react-router-dom';
import { api } from '../api';
import { useSession } from '../session';
import { TENANT_SECTIONS } from './sections';

/** The frame of every signed-in page: who you are, where you can go, sign-out. */
export function Layout({ children }: { children: ReactNode }) {
  const { me, staff, can } = useSession();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [signingOut, setSigningOut] = useState(false);
  const tenantId = me.tenantId;

  const signOut = async () => {
    setSigningOut(true);
    try {
      await api.post('/v1/auth/logout');
    } finally {
      queries.clear();
      navigate('/sign-in?signedOut=1', { replace: true });
    }
  };

  return (
    <>
      <AppBar position="static" component="header">
        <Toolbar sx={{ gap: 2 }}>
          <Typography variant="h6" component="p" sx={{ flexGrow: 1 }}>
            Control plane
          </Typography>
          <Box component="nav" aria-label="Main">
            <Stack direction="row" spacing={2}>
              {staff ? (
                <Link component={RouterLink} to="/tenants" color="inherit">
                  Tenants
                </Link>
              ) : (
                tenantId && (
                  <Link component={RouterLink} to={`/tenants/${tenantId}`} color="inherit">
                    My tenant
                  </Link>
                )
              )}
              {tenantId &&
                TENANT_SECTIONS.filter(
                  (section) => section.nav && section.visible(can, tenantId),
                ).map((section) => (
                  <Link
                    key={section.label}
                    component={RouterLink}
                    to={section.path(tenantId)}
                    color="inherit"
                  >
                    {section.label}
                  </Link>
                ))}
            </Stack>
          </Box>
          <Typography variant="body2" aria-label="Signed in as">
            {me.actor.email ?? me.actor.id} ({me.roles.join(', ')})
          </Typography>
          <Button color="inherit" variant="outlined" onClick={signOut} disabled={signingOut}>
            Sign out
          </Button>
        </Toolbar>
      </AppBar>
      <Container component="main" id="main" maxWidth="lg" sx={{ py: 3 }}>
        {children}
      </Container>
    </>
  );
}
