import type { Reservation } from '@app/metering';
import { bearer, platformAdminKey } from './tenant-session';
import type { TestApp } from './test-app';

type Granted = Extract<Reservation, { granted: true }>;

/** The reservation, which must have been granted (else the test fails, showing the refusal). */
export function granted(reservation: Reservation): Granted {
  if (!reservation.granted) throw new Error(`refused: ${JSON.stringify(reservation)}`);
  return reservation;
}

/** `GET /v1/tenants/{tenantId}/quotas` as the platform admin: the lines' status (`data`). */
export async function quotaLines(
  t: TestApp,
  tenantId: string,
): Promise<{ metric: string; used: number; overage: number; [field: string]: unknown }[]> {
  const res = await t.http
    .get(`/v1/tenants/${tenantId}/quotas`)
    .set(bearer(platformAdminKey()))
    .expect(200);
  return res.body.data;
}
