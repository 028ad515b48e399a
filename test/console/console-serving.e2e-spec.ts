import { bearer, platformAdminKey, signIn, TestApp } from '@app/testing';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startApi } from '../support/api';
import { buildConsole, removeConsoleBuild } from './support/browser';

/**
 * The api serves the console's static files at /console (SPA fallback, cache headers) without
 * touching its other routes, and refuses cookie-authenticated writes from other sites (CSRF).
 */
describe('console serving and CSRF protection', () => {
  let t: TestApp;
  let asset: string;

  beforeAll(async () => {
    const dir = await buildConsole();
    asset = (await readdir(join(dir, 'assets'))).find((name) => name.endsWith('.js'))!;
    t = await startApi({ env: { CONSOLE_DIR: dir } });
  });
  afterAll(async () => {
    await t.close();
    await removeConsoleBuild();
  });

  describe('static files', () => {
    it('serves index.html at /console/ and at any client-side route, revalidated on every load', async () => {
      for (const path of [
        '/console/',
        '/console/tenants/123/contracts/new',
        '/console/sign-in?next=%2F',
      ]) {
        const res = await t.http.get(path).expect(200);
        expect(res.headers['content-type']).toMatch(/text\/html/);
        expect(res.headers['cache-control']).toBe('no-cache');
        expect(res.headers['content-security-policy']).toContain("script-src 'self'");
        expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.text).toContain('<div id="root"></div>');
        expect(res.text).toContain('/console/assets/');
      }
    });

    it('redirects /console to /console/ so relative URLs resolve', async () => {
      const res = await t.http.get('/console').expect(301);
      expect(res.headers.location).toBe('/console/');
    });

    it('serves hashed assets as immutable for a year', async () => {
      const res = await t.http.get(`/console/assets/${asset}`).expect(200);
      expect(res.headers['content-type']).toMatch(/javascript/);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    });

    it('answers a missing asset and other methods with the problem+json 404, not the page', async () => {
      for (const req of [
        t.http.get('/console/assets/missing-abc123.js'),
        t.http.get('/console/favicon.ico'),
        t.http.post('/console/tenants').send({}),
      ]) {
        const res = await req.expect(404);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(res.body.code).toBe('not_found');
      }
    });

    it("leaves the api's routes and its 404s as they were", async () => {
      await t.http.get('/health/live').expect(200);
      await t.http.get('/v1/me').set(bearer(platformAdminKey())).expect(200);
      const unknown = await t.http.get('/consoles').expect(404);
      expect(unknown.headers['content-type']).toMatch(/application\/problem\+json/);
      const v1 = await t.http.get('/v1/no-such-route').expect(404);
      expect(v1.body.code).toBe('not_found');
    });
  });

  describe('cookie-authenticated writes (CSRF)', () => {
    let cookie: string;
    beforeAll(async () => {
      cookie = `cp_session=${(await signIn(t, ['platform_admin'])).token}`;
    });
    const create = (slug: string) =>
      t.http.post('/v1/tenants').set('Cookie', cookie).send({ slug, name: 'CSRF probe' });
    const slug = () => `csrf-${randomUUID().slice(0, 8)}`;

    async function expectRefusedAndNothingWritten(headers: Record<string, string>): Promise<void> {
      const wanted = slug();
      const req = create(wanted);
      for (const [name, value] of Object.entries(headers)) req.set(name, value);
      const res = await req.expect(403);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.code).toBe('cross_site_request_refused');
      const list = await t.http
        .get('/v1/tenants')
        .query({ limit: 100 })
        .set(bearer(platformAdminKey()));
      expect(list.body.data.map((tenant: { slug: string }) => tenant.slug)).not.toContain(wanted);
    }

    it('refuses a write from another site (Fetch Metadata cross-site)', () =>
      expectRefusedAndNothingWritten({
        'Sec-Fetch-Site': 'cross-site',
        Origin: 'https://evil.example',
      }));

    it('refuses a write from a sibling subdomain (same-site is not same-origin)', () =>
      expectRefusedAndNothingWritten({ 'Sec-Fetch-Site': 'same-site' }));

    it('refuses a write whose Origin is another site when no Fetch Metadata is sent', () =>
      expectRefusedAndNothingWritten({ Origin: 'https://evil.example' }));

    it('refuses a write with neither header (no browser omits both on a write)', () =>
      expectRefusedAndNothingWritten({}));

    it('accepts a write from our own origin, by Fetch Metadata or by Origin', async () => {
      await create(slug()).set('Sec-Fetch-Site', 'same-origin').expect(201);
      await create(slug()).set('Origin', t.config.PUBLIC_URL).expect(201);
    });

    it('leaves reads with the cookie and writes with a bearer credential alone', async () => {
      await t.http
        .get('/v1/me')
        .set('Cookie', cookie)
        .set('Sec-Fetch-Site', 'cross-site')
        .expect(200);
      await t.http
        .post('/v1/tenants')
        .set(bearer(platformAdminKey()))
        .set('Sec-Fetch-Site', 'cross-site')
        .send({ slug: slug(), name: 'Bearer client' })
        .expect(201);
    });
  });
});
