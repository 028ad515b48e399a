import { Logger } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where the console is served. */
export const CONSOLE_PATH = '/console';

/**
 * Headers of every console page: scripts only from our origin, no framing, no referrer leaking
 * tenant ids to other sites. Styles allow inline because the component library (MUI, through
 * Emotion) injects its styles at run time.
 */
const PAGE_HEADERS: Record<string, string> = {
  'Content-Security-Policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
};

/**
 * Vite names every built asset after its content hash (`assets/index-3f9a1c.js`), so a file
 * there never changes under its name and may be cached for a year; everything else (index.html
 * above all) is revalidated on each load, so a deployment reaches browsers at once.
 */
function cacheControlOf(path: string): string {
  return /[\\/]assets[\\/][^\\/]+$/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

/**
 * Serves the web console's built files (apps/console, `vite build`) at `/console`: a file that
 * exists is sent as is; any other GET of a path without a file extension is a client-side route
 * and gets `index.html` (SPA fallback). Anything else under `/console` (a missing asset, another
 * method) falls through to the app's routing and so answers its problem+json 404. Without a
 * build in `dir` nothing is mounted and `/console` is a 404 like any unknown path (logged once).
 */
export function serveConsole(app: NestExpressApplication, dir: string): void {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) {
    new Logger('Console').warn(
      `no console build in ${dir} (run npm run build): /console answers 404`,
    );
    return;
  }
  app.useStaticAssets(dir, {
    prefix: `${CONSOLE_PATH}/`,
    index: false,
    fallthrough: true,
    dotfiles: 'ignore',
    setHeaders: (res: Response, path: string) => {
      res.setHeader('Cache-Control', cacheControlOf(path));
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (path.endsWith('.html'))
        for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value);
    },
  });
  app.use(CONSOLE_PATH, (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // `/console` itself: relative asset URLs need the trailing slash.
    if (req.originalUrl === CONSOLE_PATH || req.originalUrl.startsWith(`${CONSOLE_PATH}?`)) {
      return res.redirect(301, `${CONSOLE_PATH}/${req.originalUrl.slice(CONSOLE_PATH.length)}`);
    }
    const last = req.path.split('/').pop() ?? '';
    if (last.includes('.')) return next();
    res.setHeader('Cache-Control', 'no-cache');
    for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value);
    res.sendFile(index, (error) => {
      if (error && !res.headersSent) next(error);
    });
  });
}
