import { TenantDb } from '@app/authz';
import { deployableTenant, TestApp } from '@app/testing';

/**
 * A tenant that may deploy endpoints, whose contract promises 99.9 % with credit tiers of 10 %
 * below 99.9, 25 % below 99 and 100 % below 95, on a committed spend of 120,000,000 minor units.
 * @returns its id
 */
export function slaTenant(t: TestApp): Promise<string> {
  return deployableTenant(t, {
    contract: {
      fields: {
        committedSpendMinor: 120_000_000,
        sla: {
          availabilityTarget: 99.9,
          creditTiers: [
            { below: 99.9, creditPercent: 10 },
            { below: 99, creditPercent: 25 },
            { below: 95, creditPercent: 100 },
          ],
        },
      },
    },
  });
}

/** The process ids of an endpoint's `local` replicas, from its observed state. */
export async function replicaPids(t: TestApp, endpointId: string): Promise<number[]> {
  const [row]: { observed: { replicas: { handle?: { pid?: number } }[] } }[] = await t.app
    .get(TenantDb)
    .asPlatform('test: replica pids', (m) =>
      m.query(`SELECT observed FROM endpoints WHERE id = $1`, [endpointId]),
    );
  return row.observed.replicas.map((r) => r.handle?.pid).filter((p): p is number => !!p);
}
