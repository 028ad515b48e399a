import { bearer, platformAdminKey } from './tenant-session';
import type { TestApp } from './test-app';

export interface TestQuotaLine {
  metric: string;
  limit: number;
  period: 'term' | 'month' | 'day';
  enforcement: 'hard' | 'soft';
  overageUnitPriceMinor?: number;
}

/**
 * Drafts and activates a contract for `tenantId` over HTTP as the platform admin: a one-year
 * term from `termStart` (default: 36 hours ago, so daily periods began 12 hours ago) with `quotaLines`.
 *
 * @returns the contract's id
 */
export async function activeContract(
  t: TestApp,
  tenantId: string,
  quotaLines: TestQuotaLine[],
  termStart: Date = new Date(Date.now() - 36 * 3_600_000),
  extra: Record<string, unknown> = {},
): Promise<string> {
  const admin = bearer(platformAdminKey());
  const draft = await t.http
    .post(`/v1/tenants/${tenantId}/contracts`)
    .set(admin)
    .send({
      contractNumber: `C-${Math.random().toString(36).slice(2, 10)}`,
      termStart: termStart.toISOString(),
      currency: 'USD',
      committedSpendMinor: 0,
      billingModel: 'postpaid_commitment',
      sla: { availabilityTarget: 99.5 },
      quotaLines: quotaLines.map((line) => ({
        ...line,
        ...(line.enforcement === 'soft' && line.overageUnitPriceMinor === undefined
          ? { overageUnitPriceMinor: 1 }
          : {}),
      })),
      ...extra,
    });
  if (draft.status !== 201) {
    throw new Error(`drafting a contract answered ${draft.status}: ${JSON.stringify(draft.body)}`);
  }
  const activated = await t.http
    .post(`/v1/tenants/${tenantId}/contracts/${draft.body.id}/activate`)
    .set(admin);
  if (activated.status !== 200) {
    throw new Error(`activating answered ${activated.status}: ${JSON.stringify(activated.body)}`);
  }
  return draft.body.id as string;
}
