import {
  AUTHENTICATED,
  buildAbility,
  PLATFORM_TENANT_ID,
  Principal,
  reaches,
  Role,
  RouteCatalog,
  RoutePolicy,
  subjectOf,
} from '@app/authz';
import {
  bearer,
  createTenant,
  createTenantKey,
  platformAdminKey,
  signIn,
  TestApp,
} from '@app/testing';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';

interface Caller {
  name: string;
  token: string;
  principal: Principal;
}

describe('authorization', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  it('declares a policy (or @Public) on every route; a diff here is a permission change', () => {
    const table = t.app
      .get(RouteCatalog)
      .routes()
      .map((route) => {
        const access =
          route.access === 'public'
            ? 'public'
            : route.access === 'undeclared'
              ? 'UNDECLARED'
              : route.access === AUTHENTICATED
                ? 'authenticated'
                : `${route.access.action} ${route.access.subject} (${route.access.scope})`;
        return `${route.method.padEnd(6)} ${route.path.padEnd(48)} ${access}`;
      });
    expect(table).toMatchSnapshot();
  });

  describe('matrix: role × route × own/other tenant, from the same policy declarations', () => {
    let own: string;
    let otherTenant: string;
    const callers: Caller[] = [];

    beforeAll(async () => {
      own = (await createTenant(t)).id;
      otherTenant = (await createTenant(t)).id;
      const principal = (
        homeTenantId: string,
        roles: Role[],
        assignedTenantIds: string[] = [],
      ): Principal => ({
        actor: { type: 'user', id: 'x' },
        homeTenantId,
        roles,
        scopes: [],
        assignedTenantIds,
      });
      callers.push({
        name: 'platform_admin',
        token: platformAdminKey(),
        principal: principal(PLATFORM_TENANT_ID, ['platform_admin']),
      });
      const manager = await signIn(t, ['account_manager']);
      await t.http
        .post(`/v1/tenants/${own}/account-managers`)
        .set(bearer(platformAdminKey()))
        .send({ userId: manager.userId })
        .expect(201);
      callers.push({
        name: 'account_manager',
        token: manager.token,
        principal: principal(PLATFORM_TENANT_ID, ['account_manager'], [own]),
      });
      callers.push({
        name: 'platform compliance_officer',
        token: (await signIn(t, ['compliance_officer'])).token,
        principal: principal(PLATFORM_TENANT_ID, ['compliance_officer']),
      });
      for (const role of [
        'tenant_admin',
        'ml_engineer',
        'compliance_officer',
        'viewer',
      ] as Role[]) {
        callers.push({
          name: `tenant ${role}`,
          token: (await createTenantKey(t, own, [role])).key,
          principal: principal(own, [role]),
        });
      }
    });

    /** What the guard must answer, computed from the declarations: 404, 403, or allowed. */
    function expected(
      policy: RoutePolicy,
      caller: Caller,
      tenantId: string | undefined,
    ): 404 | 403 | 'allowed' {
      const { principal } = caller;
      const platform = principal.homeTenantId === PLATFORM_TENANT_ID;
      const ability = buildAbility(principal);
      let scopeTenant: string | undefined;
      if (tenantId) {
        if (!reaches(principal, tenantId)) return 404;
        scopeTenant = tenantId;
      } else if (policy.scope === 'member' && platform) {
        return 403; // tenant_caller_required: staff belong to no customer tenant
      } else if (policy.scope === 'operator') {
        if (!platform) return 404;
        scopeTenant = PLATFORM_TENANT_ID;
      } else if (!(policy.scope === 'platform' && platform)) {
        scopeTenant = principal.homeTenantId;
      }
      if (policy === AUTHENTICATED) return 'allowed';
      const allowed = scopeTenant
        ? ability.can(
            policy.action,
            subjectOf(
              policy.subject,
              policy.subject === 'Tenant'
                ? { id: scopeTenant, tenantId: scopeTenant }
                : { tenantId: scopeTenant },
            ),
          )
        : ability.can(policy.action, policy.subject);
      return allowed ? 'allowed' : 403;
    }

    it('answers every caller on every route as the policies say', async () => {
      const routes = t.app
        .get(RouteCatalog)
        .routes()
        .filter(
          (r) => r.access !== 'public' && r.access !== 'undeclared' && r.path.startsWith('/v1/'),
        )
        // Logout ends the callers' sessions, so it goes last.
        .sort(
          (x, y) => Number(x.path === '/v1/auth/logout') - Number(y.path === '/v1/auth/logout'),
        );
      expect(routes.length).toBeGreaterThan(10);
      const mismatches: string[] = [];
      let checked = 0;
      for (const route of routes) {
        const policy = route.access as RoutePolicy;
        const targets = route.path.includes(':tenantId') ? [own, otherTenant] : [undefined];
        for (const tenantId of targets) {
          for (const caller of callers) {
            const path = route.path
              .replace(':tenantId', tenantId ?? '')
              .replace(/:(\w+)/g, () => randomUUID());
            const method = route.method.toLowerCase() as
              'get' | 'post' | 'put' | 'patch' | 'delete';
            const res = await t.http[method](path).set(bearer(caller.token)).send({});
            const want = expected(policy, caller, tenantId);
            const gotDenied =
              res.status === 403 ||
              res.status === 401 ||
              (res.status === 404 && res.body.detail === 'No such tenant.');
            const ok =
              want === 'allowed'
                ? !gotDenied && res.status !== 401
                : res.status === want && (want !== 404 || res.body.code === 'not_found');
            checked += 1;
            if (!ok)
              mismatches.push(
                `${caller.name} ${route.method} ${path} (${tenantId === own ? 'own' : tenantId ? 'other' : '-'}): want ${want}, got ${res.status} ${res.body.code ?? ''}`,
              );
          }
        }
      }
      expect(mismatches).toEqual([]);
      expect(checked).toBeGreaterThan(100);
      // One request per route, caller and tenant, in turn: it grows with every route (over a
      // thousand requests), beyond the default 30 s on a loaded machine.
    }, 120_000);

    it('names the missing permission in a 403', async () => {
      const viewer = callers.find((c) => c.name === 'tenant viewer')!;
      const res = await t.http
        .post(`/v1/tenants/${own}/api-keys`)
        .set(bearer(viewer.token))
        .send({})
        .expect(403);
      expect(res.body).toMatchObject({
        code: 'missing_permission',
        detail: 'Missing permission: create ApiKey.',
        missingPermission: { action: 'create', subject: 'ApiKey' },
      });
    });
  });
});
