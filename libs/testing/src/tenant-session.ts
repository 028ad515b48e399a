import { asTenantId, PLATFORM_TENANT_ID, Role } from '@app/authz';
import { SessionService, UserService } from '@app/identity';
import { randomUUID } from 'node:crypto';
import type { TestApp } from './test-app';

/** The platform admin key the test app bootstrapped from `BOOTSTRAP_ADMIN_TOKEN` (worker-env.ts). */
export function platformAdminKey(): string {
  const key = process.env.BOOTSTRAP_ADMIN_TOKEN;
  if (!key) throw new Error('BOOTSTRAP_ADMIN_TOKEN is not set (worker-env.ts sets it)');
  return key;
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

export interface TestTenant {
  id: string;
  slug: string;
  name: string;
}

/** A fresh tenant with a unique slug (and `extra` fields), created over HTTP by the platform admin. */
export async function createTenant(
  t: TestApp,
  name = 'Test tenant',
  extra: Record<string, unknown> = {},
): Promise<TestTenant> {
  const slug = `t-${randomUUID().slice(0, 12)}`;
  const res = await t.http
    .post('/v1/tenants')
    .set(bearer(platformAdminKey()))
    .send({ slug, name, ...extra });
  if (res.status !== 201)
    throw new Error(`creating a tenant answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as TestTenant;
}

/** An API key of `tenantId` with `roles`/`scopes`, created over HTTP by the platform admin. */
export async function createTenantKey(
  t: TestApp,
  tenantId: string,
  roles: Role[],
  scopes: string[] = [],
): Promise<{ id: string; key: string; prefix: string }> {
  const res = await t.http
    .post(`/v1/tenants/${tenantId}/api-keys`)
    .set(bearer(platformAdminKey()))
    .send({ name: `test ${roles.join('+')}`, roles, scopes });
  if (res.status !== 201)
    throw new Error(`creating a key answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * A person signed in: a user of `tenantId` (or operator staff when `tenantId` is omitted) with
 * `roles`, and a session token, made through the identity services as SSO will.
 */
export async function signIn(
  t: TestApp,
  roles: Role[],
  tenantId: string = PLATFORM_TENANT_ID,
): Promise<{ userId: string; token: string; email: string }> {
  const email = `user-${randomUUID().slice(0, 8)}@example.test`;
  const user = await t.app.get(UserService).create(asTenantId(tenantId), { email, roles });
  const { token } = await t.app.get(SessionService).start(asTenantId(tenantId), user.id);
  return { userId: user.id, token, email };
}

/** A tenant with one signed-in user per tenant role, for cross-tenant and role tests. */
export async function tenantWithMembers(
  t: TestApp,
): Promise<TestTenant & { tokens: Record<Role, string> }> {
  const tenant = await createTenant(t);
  const tokens = {} as Record<Role, string>;
  for (const role of ['tenant_admin', 'ml_engineer', 'compliance_officer', 'viewer'] as const) {
    tokens[role] = (await signIn(t, [role], tenant.id)).token;
  }
  return { ...tenant, tokens };
}

/** A signed-in account manager assigned (by the platform admin) to each of `tenantIds`. */
export async function accountManagerFor(
  t: TestApp,
  ...tenantIds: string[]
): Promise<{ userId: string; token: string }> {
  const manager = await signIn(t, ['account_manager']);
  for (const tenantId of tenantIds) {
    const res = await t.http
      .post(`/v1/tenants/${tenantId}/account-managers`)
      .set(bearer(platformAdminKey()))
      .send({ userId: manager.userId });
    if (res.status !== 201)
      throw new Error(`assigning answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return manager;
}
