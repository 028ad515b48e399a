import {
  bearer,
  createEndpoint,
  deployableTenant,
  expectEventually,
  platformAdminKey,
  retireEndpoints,
  TestApp,
} from '@app/testing';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';
import { SHORT_SLA_TIME } from './support/short-sla-time';
import { slaTenant } from './support/sla-tenant';

jest.setTimeout(180_000);
const admin = () => bearer(platformAdminKey());

/**
 * Endpoints without replicas by design are not outages (found by an adversarial review): the
 * operator suspends a tenant (its endpoints scaled to zero, shown `degraded`, desired state still
 * `running`), or a tenant scales an endpoint to zero replicas. Neither is probed, so neither
 * makes bad minutes, incidents or service credits.
 */
describe('SLA: endpoints without replicas by design', () => {
  let api: TestApp;
  let worker: TestApp;

  /** One endpoint's SLA figures for the current month, as the platform admin reads them. */
  const endpointSla = async (tenantId: string, endpointId: string) =>
    (
      await api.http
        .get(`/v1/tenants/${tenantId}/endpoints/${endpointId}/sla`)
        .set(admin())
        .expect(200)
    ).body;

  /** Waits (up to 30 s) until the endpoint, as the platform admin reads it, meets `check`. */
  const endpointEventually = (
    tenantId: string,
    endpointId: string,
    check: (endpoint: { status: string; observed: { replicas: number } }) => void,
  ) =>
    expectEventually(
      async () =>
        check(
          (
            await api.http
              .get(`/v1/tenants/${tenantId}/endpoints/${endpointId}`)
              .set(admin())
              .expect(200)
          ).body,
        ),
      { timeoutMs: 30_000, intervalMs: 300 },
    );

  beforeAll(async () => {
    api = await startApi({ env: SHORT_SLA_TIME });
    worker = await startWorker({
      env: { ...SHORT_SLA_TIME, ENDPOINT_RECONCILE_INTERVAL_MS: '500' },
    });
  });
  afterAll(async () => {
    await worker.close();
    await retireEndpoints(api);
    await api.close();
  });

  it('counts minutes while the operator has the tenant suspended as good, with no incident', async () => {
    const tenantId = await slaTenant(api);
    const endpointId = await createEndpoint(api, tenantId, { name: 'prod' });
    const endpointReport = () => endpointSla(tenantId, endpointId);
    await expectEventually(
      async () => {
        const e = await endpointReport();
        expect(e.probes).toBeGreaterThanOrEqual(8);
        expect(e.badMinutes).toBe(0);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    await api.http
      .post(`/v1/tenants/${tenantId}/suspend`)
      .set(admin())
      .send({ reason: 'Unpaid invoice' })
      .expect(200);
    await endpointEventually(tenantId, endpointId, (ep) => expect(ep.status).toBe('degraded'));
    // Ten SLA "minutes" of suspension (20 s), then settle.
    await new Promise((resolve) => setTimeout(resolve, 24_000));
    const e = await endpointReport();
    const incidents = (
      await api.http.get(`/v1/tenants/${tenantId}/sla/incidents`).set(admin()).expect(200)
    ).body.data;
    const tenantReport = (await api.http.get(`/v1/tenants/${tenantId}/sla`).set(admin())).body;
    // Expected: a suspension the operator imposed is not an outage of the service.
    expect(e.badMinutes).toBe(0);
    expect(incidents).toEqual([]);
    expect(tenantReport.creditPercent).toBe(0);
  });

  it('does not count an endpoint scaled to zero replicas (still desired running) as down', async () => {
    const tenantId = await deployableTenant(api, {
      contract: {
        fields: {
          committedSpendMinor: 120_000_000,
          sla: { availabilityTarget: 99.9, creditTiers: [{ below: 95, creditPercent: 100 }] },
        },
      },
    });
    const endpointId = await createEndpoint(api, tenantId, { name: 'zero' });
    const endpointReport = () => endpointSla(tenantId, endpointId);
    await expectEventually(
      async () => expect((await endpointReport()).probes).toBeGreaterThanOrEqual(8),
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const patched = await api.http
      .patch(`/v1/tenants/${tenantId}/endpoints/${endpointId}`)
      .set(admin())
      .send({ minReplicas: 0, replicas: 0 });
    expect(patched.status).toBe(200);
    // Bad minutes before the scale-down (a probe timing out on a loaded machine) are not what
    // this test is about: count from when the replica is gone and those minutes are rolled up.
    await endpointEventually(tenantId, endpointId, (ep) => expect(ep.observed.replicas).toBe(0));
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const before = await endpointReport();
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    const e = await endpointReport();
    const tenantReport = (await api.http.get(`/v1/tenants/${tenantId}/sla`).set(admin())).body;
    // Expected: zero replicas asked for by the tenant is not an outage (like a stop).
    expect(e.badMinutes).toBe(before.badMinutes);
    expect(e.probes).toBe(before.probes);
    if (before.badMinutes === 0) expect(tenantReport.creditPercent).toBe(0);
  });
});
