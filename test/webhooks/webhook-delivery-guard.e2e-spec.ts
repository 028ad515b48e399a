import { bearer, createTenant, expectEventually, signIn, TestApp } from '@app/testing';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';
import { Receiver, startReceiver } from './support/receiver';

/**
 * The address policy holds at delivery time, not only when an endpoint is saved: here the api
 * accepted loopback URLs (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true), as it would have accepted a name
 * that resolved to a public address then and to an internal one now (DNS rebinding); the worker
 * runs with the default (false) and must not connect.
 */
describe('webhook delivery re-checks the address when it connects', () => {
  let api: TestApp;
  let worker: TestApp;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver();
    api = await startApi({
      env: { WEBHOOK_ALLOW_HTTP: 'true', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    worker = await startWorker({
      env: {
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'false',
        WEBHOOK_DISPATCH_INTERVAL_MS: '100',
        WEBHOOK_RETRY_BASE_MS: '50',
        WEBHOOK_MAX_ATTEMPTS: '2',
      },
    });
  });
  afterAll(async () => {
    await worker.close();
    await api.close();
    await receiver.close();
  });

  it.each([
    ['a name that resolves to loopback', (r: Receiver) => r.urlByName('/by-name'), '/by-name'],
    ['a loopback IP literal', (r: Receiver) => r.url('/by-ip'), '/by-ip'],
  ])('never connects to %s; the delivery fails after its attempts', async (_name, urlOf, path) => {
    const tenant = await createTenant(api);
    const admin = (await signIn(api, ['tenant_admin'], tenant.id)).token;
    const endpoints = `/v1/tenants/${tenant.id}/webhook-endpoints`;
    const { body: endpoint } = await api.http
      .post(endpoints)
      .set(bearer(admin))
      .send({ url: urlOf(receiver), eventTypes: ['webhook.test'] })
      .expect(201);
    await api.http.post(`${endpoints}/${endpoint.id}/test`).set(bearer(admin)).expect(202);
    await expectEventually(async () => {
      const res = await api.http
        .get(`${endpoints}/${endpoint.id}/deliveries`)
        .set(bearer(admin))
        .expect(200);
      expect(res.body.data[0]).toMatchObject({
        status: 'failed',
        attempts: 2,
        lastStatusCode: null,
        lastError: expect.stringMatching(/^not sent: .*non-public address/),
      });
    });
    expect(receiver.requestsTo(path)).toHaveLength(0);
  });
});
