import { Alert, Box, Button, Paper, TextField, Typography } from '@mui/material';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useSearchParams } from 'react-router-dom';
import { ApiError, api, Me } from '../api';

/**
 * Sign-in by work email: home-realm discovery (`POST /sso/discover`) finds the tenant that
 * verified the email's domain, and the browser goes to its IdP with where to come back
 * (RelayState, a path of the console). The IdP posts to the ACS, which sets the session cookie.
 */
export function SignInPage() {
  const [params] = useSearchParams();
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get('next'));
  // Someone already signed in goes on to where they were headed (a session read just now: an
  // earlier answer may be of a session that has since ended).
  const me = useQuery({ queryKey: ['me'], queryFn: () => api.get<Me>('/v1/me') });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      setError('Enter your work email address, like alice@example.com.');
      return;
    }
    setBusy(true);
    try {
      const { loginUrl } = await api.post<{ loginUrl: string }>('/sso/discover', { email });
      const url = new URL(loginUrl, window.location.origin);
      url.searchParams.set('RelayState', `/console${next}`);
      window.location.assign(url.toString());
    } catch (caught) {
      setBusy(false);
      setError(
        caught instanceof ApiError && caught.status === 404
          ? 'Single sign-on is not set up for this email domain. Ask your administrator.'
          : caught instanceof ApiError
            ? caught.detail
            : 'Sign-in failed; try again.',
      );
    }
  };

  if (me.isSuccess && me.isFetchedAfterMount) return <Navigate to={next} replace />;

  return (
    <Box component="main" sx={{ display: 'flex', justifyContent: 'center', mt: 10 }}>
      <Paper component="section" aria-labelledby="sign-in-title" sx={{ p: 4, width: 420 }}>
        <Typography id="sign-in-title" variant="h5" component="h1" gutterBottom>
          Sign in to the control plane
        </Typography>
        {params.get('signedOut') && (
          <Alert severity="info" sx={{ mb: 2 }}>
            You are signed out.
          </Alert>
        )}
        <form onSubmit={submit} noValidate>
          <TextField
            label="Work email"
            type="email"
            autoComplete="email"
            value={email}
            onChange={(event) => setEmail(event.target.value)}
            error={Boolean(error)}
            helperText={error ?? 'You continue at your company’s identity provider.'}
            fullWidth
            autoFocus
            required
          />
          <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={busy}>
            {busy ? 'Finding your sign-in…' : 'Continue'}
          </Button>
        </form>
      </Paper>
    </Box>
  );
}

/** Only a path inside the console, never another site (the API checks RelayState too). */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}
