import { TenantDb } from '@app/authz';
import { activeContract } from './contracts';
import { bearer, createTenant, platformAdminKey } from './tenant-session';
import type { TestApp } from './test-app';

/**
 * Marks every endpoint of this jest worker's database deleted. Test files share a database and a
 * Redis prefix per jest worker, and a worker app's reconciler sweep provisions every endpoint
 * that is not deleted: without this, a later file's worker would start model servers for the
 * endpoints an earlier file left. Call it in `afterAll` after closing the file's worker apps
 * (their shutdown stops the processes they run).
 */
export async function retireEndpoints(t: TestApp): Promise<void> {
  await t.app.get(TenantDb).asPlatform('tests: retire the endpoints this file created', (manager) =>
    manager.query(
      `UPDATE endpoints SET status = 'deleted', desired_state = 'deleted', deleted_at = now()
          WHERE status <> 'deleted'`,
    ),
  );
}

export interface DeployableTenantOptions {
  /** Compliance profile fields over the default (eu-west-1 allowed, llama, no certifications). */
  profile?: Record<string, unknown>;
  /** Quota lines (period `term` unless given) besides a hard `dedicated_endpoints` line of 5. */
  lines?: {
    metric: string;
    limit: number;
    enforcement: 'hard' | 'soft';
    period?: 'term' | 'month' | 'day';
  }[];
  /** Activate the tenant (default true: an onboarding tenant cannot be suspended). */
  activate?: boolean;
  /** Fields of the tenant's create request (e.g. `billingTimeZone`). */
  tenant?: Record<string, unknown>;
  /** The contract's term start (default 36 hours ago) and fields over the defaults (e.g. `sla`). */
  contract?: { termStart?: Date; fields?: Record<string, unknown> };
}

/**
 * A tenant that may deploy endpoints, made over HTTP as the platform admin: a compliance profile
 * allowing eu-west-1 and the llama family (override with `profile`), optionally activated, and an
 * active contract with a `dedicated_endpoints` line and `lines`. @returns the tenant id
 */
export async function deployableTenant(
  t: TestApp,
  {
    profile = {},
    lines = [],
    activate = true,
    tenant: extra,
    contract,
  }: DeployableTenantOptions = {},
): Promise<string> {
  const admin = bearer(platformAdminKey());
  const tenant = await createTenant(t, 'Test tenant', extra);
  const put = await t.http
    .put(`/v1/tenants/${tenant.id}/compliance-profile`)
    .set(admin)
    .send({
      allowedRegions: ['eu-west-1'],
      allowedDataZones: [],
      allowedModelFamilies: ['llama'],
      dataClassification: 'confidential',
      requiredCertifications: [],
      auditRetentionDays: 365,
      ...profile,
    });
  if (put.status !== 200)
    throw new Error(`profile answered ${put.status}: ${JSON.stringify(put.body)}`);
  if (activate) {
    const res = await t.http.post(`/v1/tenants/${tenant.id}/activate`).set(admin).send({});
    if (res.status !== 200) throw new Error(`activate answered ${res.status}`);
  }
  await activeContract(
    t,
    tenant.id,
    [
      { metric: 'dedicated_endpoints', limit: 5, period: 'term', enforcement: 'hard' },
      ...lines.map((line) => ({ ...line, period: line.period ?? ('term' as const) })),
    ],
    contract?.termStart,
    contract?.fields,
  );
  return tenant.id;
}

/**
 * Creates a dedicated endpoint over HTTP as the platform admin (one replica of
 * `llama-3-8b-local` in eu-west-1 unless given); it stays `pending` until a worker runs.
 *
 * @returns its id
 */
export async function createEndpoint(
  t: TestApp,
  tenantId: string,
  fields: { name?: string; model?: string; region?: string } = {},
): Promise<string> {
  const res = await t.http
    .post(`/v1/tenants/${tenantId}/endpoints`)
    .set(bearer(platformAdminKey()))
    .send({
      name: 'e',
      model: 'llama-3-8b-local',
      region: 'eu-west-1',
      minReplicas: 1,
      maxReplicas: 1,
      ...fields,
    });
  if (res.status !== 201)
    throw new Error(`creating an endpoint answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}
