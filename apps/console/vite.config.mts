import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

/**
 * The web console: built into dist/apps/console, which the api serves at /console (the base of
 * every asset URL). `npm run dev:console` serves it with hot reload and forwards the API's paths
 * to an api on localhost:3000 (`npm start`), so the session cookie stays same-origin.
 */
export default defineConfig({
  root,
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: resolve(root, '../../dist/apps/console'),
    emptyOutDir: true,
    // One chunk per vendor family keeps each under Vite's size warning.
    rollupOptions: {
      // MUI marks its modules 'use client' for React Server Components; meaningless in an SPA.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
      output: {
        manualChunks(id: string) {
          if (/node_modules\/(recharts|d3-|victory-vendor)/.test(id)) return 'charts';
          if (/node_modules\/(@mui|@emotion)/.test(id)) return 'mui';
          if (/node_modules\//.test(id)) return 'vendor';
          return undefined;
        },
      },
    },
  },
  server: {
    proxy: { '/v1': 'http://localhost:3000', '/sso': 'http://localhost:3000' },
  },
});
