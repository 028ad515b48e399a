import { CssBaseline, ThemeProvider, createTheme } from '@mui/material';
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { ApiError } from './api';
import { App } from './app';

/**
 * A session that ended (logout elsewhere, idle or absolute timeout) answers 401 anywhere: read
 * `/v1/me` again, whose own 401 sends the person to sign-in, back to this page afterwards.
 */
const sessionEnded = (error: unknown) => error instanceof ApiError && error.status === 401;
const checkSession = () => void queries.invalidateQueries({ queryKey: ['me'] });

const queries: QueryClient = new QueryClient({
  queryCache: new QueryCache({
    // Not for `/v1/me` itself: its 401 is the answer, not a reason to ask again.
    onError: (error, query) => {
      if (sessionEnded(error) && query.queryKey[0] !== 'me') checkSession();
    },
  }),
  mutationCache: new MutationCache({
    onError: (error) => {
      if (sessionEnded(error)) checkSession();
    },
  }),
  defaultOptions: {
    queries: {
      // A 4xx will answer the same again; retry only what may pass (network, 5xx), once.
      retry: (count, error) =>
        count < 1 && !(error instanceof ApiError && error.status >= 400 && error.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});

const theme = createTheme({ palette: { primary: { main: '#1f4e79' } } });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <QueryClientProvider client={queries}>
        <BrowserRouter basename="/console">
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </ThemeProvider>
  </StrictMode>,
);
