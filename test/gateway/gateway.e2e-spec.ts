import {
  bearer,
  createTenantKey,
  expectEventually,
  ledgerSum,
  platformAdminKey,
  retireEndpoints,
  TestApp,
} from '@app/testing';
import { asTenantId, AUTHENTICATOR, Authenticator, TenantDb } from '@app/authz';
import { Endpoint, ObservedReplica } from '@app/endpoints';
import { ClientRequest, IncomingMessage, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { startApi } from '../support/api';
import { EndpointRoutes } from '../../apps/gateway/src/endpoint-routes';
import { startGateway } from '../support/gateway';
import { startWorker } from '../support/worker';
import { tenantServing as servingTenant } from './support/tenant-serving';

jest.setTimeout(180_000);
const admin = () => bearer(platformAdminKey());

/**
 * The data plane end to end: the official `openai` client, pointed at the gateway with a tenant
 * key, reaches real model-server processes of the tenant's dedicated endpoints; quota holds and
 * usage land in the ledger; errors come in OpenAI's shape.
 */
describe('gateway (OpenAI-compatible inference through dedicated endpoints)', () => {
  let api: TestApp;
  let worker: TestApp;
  let gateway: TestApp;
  let baseURL: string;

  beforeAll(async () => {
    api = await startApi();
    worker = await startWorker({
      env: { ENDPOINT_RECONCILE_INTERVAL_MS: '500', LOCAL_MODEL_TOKEN_LATENCY_MS: '3' },
    });
    gateway = await startGateway({
      env: { GATEWAY_MAX_BODY_BYTES: '64kb', GATEWAY_KEY_CACHE_TTL_MS: '2000' },
    });
    const { port } = gateway.app.getHttpServer().address() as AddressInfo;
    baseURL = `http://127.0.0.1:${port}/v1`;
  });
  afterAll(async () => {
    await gateway.close();
    await worker.close();
    await retireEndpoints(api);
    await api.close();
  });

  const tenantServing = (
    models: string[],
    lines: { metric: string; limit: number; enforcement: 'hard' | 'soft' }[] = [],
  ) => servingTenant(api, baseURL, models, lines);

  const ledger = (tenantId: string, metric: string) => ledgerSum(api, tenantId, metric);

  describe('with the official openai client', () => {
    let tenant: Awaited<ReturnType<typeof tenantServing>>;
    beforeAll(async () => {
      tenant = await tenantServing(['llama-3-8b-local', 'e5-small-local']);
    });

    it('gets a chat completion, a completion and embeddings, and meters them', async () => {
      const chat = await tenant.client.chat.completions.create({
        model: 'llama-3-8b-local',
        messages: [{ role: 'user', content: 'A long speech, please.' }],
        max_tokens: 16,
        // The small model may end its turn at once; this seed makes it speak (~50 tokens).
        seed: 5,
      });
      expect(chat.object).toBe('chat.completion');
      expect(chat.choices[0].message.content?.length).toBeGreaterThan(0);
      expect(chat.usage?.prompt_tokens).toBeGreaterThan(0);

      const completion = await tenant.client.completions.create({
        model: 'llama-3-8b-local',
        prompt: 'First Citizen:\n',
        max_tokens: 8,
        seed: 5,
      });
      expect(completion.choices[0].text.length).toBeGreaterThan(0);

      const embeddings = await tenant.client.embeddings.create({
        model: 'e5-small-local',
        input: ['the people are hungry', 'corn at our own price'],
      });
      expect(embeddings.data).toHaveLength(2);
      expect(embeddings.data[0].embedding.length).toBe(256);

      const seen = [chat.usage!, completion.usage!, embeddings.usage];
      await expectEventually(async () => {
        expect(await ledger(tenant.id, 'total_tokens')).toBe(
          seen.reduce((sum, u) => sum + u.total_tokens, 0),
        );
        expect(await ledger(tenant.id, 'requests')).toBe(3);
      });
    });

    it('streams chunks as they are generated, with usage only when asked for', async () => {
      const started = Date.now();
      const arrivals: number[] = [];
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined | null;
      const stream = await tenant.client.chat.completions.create({
        model: 'llama-3-8b-local',
        messages: [{ role: 'user', content: 'A long speech, please.' }],
        max_tokens: 60,
        // This seed makes the small model speak ~50 tokens, ~3 ms apart upstream.
        seed: 5,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of stream) {
        arrivals.push(Date.now() - started);
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(arrivals.length).toBeGreaterThan(3);
      // The first chunk arrived well before the last (tokens are ~3 ms apart upstream).
      expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThan(20);
      expect(text.length).toBeGreaterThan(0);
      expect(usage?.completion_tokens).toBeGreaterThan(0);

      const quiet = await tenant.client.chat.completions.create({
        model: 'llama-3-8b-local',
        messages: [{ role: 'user', content: 'Speak.' }],
        max_tokens: 10,
        stream: true,
      });
      for await (const chunk of quiet) expect(chunk.usage ?? null).toBeNull();
    });

    it('lists the models the tenant can call', async () => {
      const models = await tenant.client.models.list();
      expect(models.data.map((m) => m.id).sort()).toEqual(['e5-small-local', 'llama-3-8b-local']);
    });
  });

  describe('errors in OpenAI’s shape', () => {
    let tenant: Awaited<ReturnType<typeof tenantServing>>;
    beforeAll(async () => {
      tenant = await tenantServing(['llama-3-8b-local']);
    });
    const post = (path: string, key: string | null, body: unknown, type = 'application/json') => {
      const request = gateway.http.post(path).set('content-type', type);
      if (key) request.set(bearer(key));
      return request.send(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const chat = { model: 'llama-3-8b-local', messages: [{ role: 'user', content: 'hi' }] };

    it.each([
      ['no key', null, chat, 401, 'invalid_api_key'],
      ['an unknown key', 'cp_live_nope', chat, 401, 'invalid_api_key'],
      [
        'a model the tenant does not deploy',
        'KEY',
        { ...chat, model: 'mistral-7b-local' },
        404,
        'model_not_found',
      ],
      ['missing messages', 'KEY', { model: 'llama-3-8b-local' }, 400, 'invalid_request'],
      ['a bad max_tokens', 'KEY', { ...chat, max_tokens: -1 }, 400, 'invalid_request'],
      ['malformed JSON', 'KEY', '{"model": ', 400, 'invalid_json'],
      [
        'a body over the limit',
        'KEY',
        { ...chat, messages: [{ role: 'user', content: 'x'.repeat(70_000) }] },
        413,
        'request_too_large',
      ],
    ])('answers %s with %s %s', async (_name, key, body, status, code) => {
      const res = await post('/v1/chat/completions', key === 'KEY' ? tenant.key : key, body);
      expect(res.status).toBe(status);
      expect(res.body.error).toMatchObject({
        code,
        type: expect.any(String),
        message: expect.any(String),
      });
    });

    it('refuses a tenant key without the inference scope (403)', async () => {
      const other = await createTenantKey(api, tenant.id, ['ml_engineer']);
      const res = await post('/v1/chat/completions', other.key, chat).expect(403);
      expect(res.body.error.code).toBe('insufficient_permissions');
    });

    it("applies the key's requests-per-minute limit: 429 rate_limit_exceeded with Retry-After", async () => {
      const { body: key } = await api.http
        .post(`/v1/tenants/${tenant.id}/api-keys`)
        .set(admin())
        .send({
          name: 'limited',
          roles: [],
          scopes: ['inference'],
          rateLimits: { requestsPerMinute: 3 },
        })
        .expect(201);
      const statuses: number[] = [];
      let last:
        { status: number; headers: Record<string, string>; body: { error?: unknown } } | undefined;
      for (let i = 0; i < 4; i++) {
        last = await post('/v1/chat/completions', key.key, { ...chat, max_tokens: 2 });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      const first = await post('/v1/chat/completions', tenant.key, { ...chat, max_tokens: 2 });
      expect(first.headers['x-ratelimit-limit-requests']).toBeUndefined();
      expect(last!.headers['retry-after']).toMatch(/^\d+$/);
      expect(last!.body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    });

    it('sends OpenAI rate-limit headers on answers to a limited key', async () => {
      const { body: key } = await api.http
        .post(`/v1/tenants/${tenant.id}/api-keys`)
        .set(admin())
        .send({
          name: 'headers',
          roles: [],
          scopes: ['inference'],
          rateLimits: { requestsPerMinute: 10, tokensPerMinute: 100_000 },
        })
        .expect(201);
      const res = await post('/v1/chat/completions', key.key, { ...chat, max_tokens: 2 }).expect(
        200,
      );
      expect(res.headers).toMatchObject({
        'x-ratelimit-limit-requests': '10',
        'x-ratelimit-remaining-requests': '9',
        'x-ratelimit-limit-tokens': '100000',
        'x-ratelimit-reset-requests': expect.stringMatching(/^\d+s$/),
      });
    });

    it('forwards exactly the reserved completion budget, whichever field the client used', async () => {
      const completion = await post('/v1/completions', tenant.key, {
        model: 'llama-3-8b-local',
        prompt: 'First Citizen:',
        max_completion_tokens: 1,
        max_tokens: 2000,
        seed: 5,
      }).expect(200);
      expect(completion.body.usage.completion_tokens).toBeLessThanOrEqual(1);
      const nulls = await post('/v1/chat/completions', tenant.key, {
        ...chat,
        max_completion_tokens: null,
        max_tokens: 1,
        seed: 5,
      }).expect(200);
      expect(nulls.body.usage.completion_tokens).toBeLessThanOrEqual(1);
      const bad = await post('/v1/chat/completions', tenant.key, {
        ...chat,
        stream: true,
        stream_options: 'abc',
      }).expect(400);
      expect(bad.body.error.param).toBe('stream_options');
    });

    it('keeps the HTTP contract on its own inference handler and on the routes Express still serves', async () => {
      const body = { ...chat, max_tokens: 1, seed: 5 };
      // The handler ahead of Express: the caller's request id is echoed, a bad one replaced.
      const own = await post('/v1/chat/completions?trace=1', tenant.key, body)
        .set('x-request-id', 'client-req-42')
        .expect(200);
      expect(own.headers['x-request-id']).toBe('client-req-42');
      expect(own.headers['content-type']).toMatch(/^application\/json/);
      const replaced = await post('/v1/chat/completions', tenant.key, body)
        .set('x-request-id', 'not ok!')
        .expect(200);
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      // A body only body-parser can read (gzip), and another spelling of the path, go through
      // Express and the controller: same answers.
      const gzipped = await fetch(`${baseURL}/chat/completions`, {
        method: 'POST',
        headers: {
          ...bearer(tenant.key),
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body: gzipSync(JSON.stringify(body)),
      });
      expect(gzipped.status).toBe(200);
      expect(((await gzipped.json()) as { object: string }).object).toBe('chat.completion');
      expect(gzipped.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const slash = await post('/v1/chat/completions/', tenant.key, body).expect(200);
      expect(slash.body.object).toBe('chat.completion');
      const latin1 = await post(
        '/v1/chat/completions',
        tenant.key,
        body,
        'text/plain; charset=latin1',
      );
      expect(latin1.status).toBe(415);
      // A top-level value that is not an object or an array is malformed JSON, as body-parser says.
      const scalar = await post('/v1/chat/completions', tenant.key, '"hello"').expect(400);
      expect(scalar.body.error.code).toBe('invalid_json');
      // Both paths are timed under the route's template.
      const metrics = await gateway.http.get('/metrics').expect(200);
      expect(metrics.text).toMatch(
        /http_server_request_duration_seconds_count\{[^}]*route="\/v1\/chat\/completions"[^}]*status_code="200"[^}]*\} [1-9]/,
      );
    });

    it('writes the access log line of an inference request, without the key', async () => {
      const logged = await startGateway({ captureLogs: true });
      try {
        await logged.http
          .post('/v1/chat/completions')
          .set(bearer(tenant.key))
          .set('x-request-id', 'logged-req-1')
          .send({ ...chat, max_tokens: 1, seed: 5 })
          .expect(200);
        await expectEventually(async () => {
          const line = logged.logs.find((l) => l.requestId === 'logged-req-1');
          expect(line).toMatchObject({
            msg: 'request completed',
            req: { id: 'logged-req-1', method: 'POST', url: '/v1/chat/completions' },
            res: { statusCode: 200 },
            responseTime: expect.any(Number),
          });
          expect(JSON.stringify(line)).not.toContain(tenant.key);
        });
      } finally {
        await logged.close();
      }
    });

    it("fits requests to the model's context before reserving anything", async () => {
      const over = await post('/v1/chat/completions', tenant.key, { ...chat, max_tokens: 9000 });
      expect(over.status).toBe(400);
      expect(over.body.error).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
      // Without max_tokens the default budget shrinks to what the context leaves.
      const long = await post('/v1/chat/completions', tenant.key, {
        model: 'llama-3-8b-local',
        messages: [{ role: 'user', content: ' word'.repeat(7600) }],
      });
      expect(long.status).toBe(200);
    });

    it('looks a key up once for a burst of requests that find it uncached', async () => {
      const key = await createTenantKey(api, tenant.id, [], ['inference']);
      const authenticator = gateway.app.get<Authenticator>(AUTHENTICATOR);
      const lookups = jest.spyOn(authenticator, 'authenticate');
      try {
        const answers = await Promise.all(
          Array.from({ length: 20 }, () =>
            post('/v1/chat/completions', key.key, { ...chat, max_tokens: 1 }),
          ),
        );
        expect(answers.map((res) => res.status)).toEqual(Array(20).fill(200));
        expect(lookups.mock.calls.filter(([presented]) => presented === key.key)).toHaveLength(1);
      } finally {
        lookups.mockRestore();
      }
    });

    it('stops a revoked key within the key cache TTL', async () => {
      const key = await createTenantKey(api, tenant.id, [], ['inference']);
      await post('/v1/chat/completions', key.key, { ...chat, max_tokens: 2 }).expect(200);
      await api.http
        .post(`/v1/tenants/${tenant.id}/api-keys/${key.id}/revoke`)
        .set(admin())
        .send({})
        .expect(200);
      const revokedAt = Date.now();
      await expectEventually(
        async () => {
          const res = await post('/v1/chat/completions', key.key, { ...chat, max_tokens: 2 });
          expect(res.status).toBe(401);
        },
        { timeoutMs: 6000, intervalMs: 100 },
      );
      expect(Date.now() - revokedAt).toBeLessThan(5000);
    });
  });

  describe('robustness', () => {
    let tenant: Awaited<ReturnType<typeof tenantServing>>;
    beforeAll(async () => {
      tenant = await tenantServing(['llama-3-8b-local']);
    });

    /**
     * A tenant's endpoint's replicas (the robustness tenant's, its first endpoint, by default), as
     * the reconciler stored them.
     */
    async function replicasOf(
      tenantId = tenant.id,
      endpointId?: string,
    ): Promise<ObservedReplica[]> {
      const { body: endpoints } = await api.http
        .get(`/v1/tenants/${tenantId}/endpoints`)
        .set(admin());
      const endpoint = await worker.app
        .get(TenantDb)
        .inTenant(asTenantId(tenantId), (m) =>
          m.getRepository(Endpoint).findOneByOrFail({ id: endpointId ?? endpoints.data[0].id }),
        );
      return endpoint.observed.replicas;
    }
    const firstReplica = async () => (await replicasOf())[0];

    /** Kills a replica outright and waits until it refuses connections. */
    const kill = async (replica: ObservedReplica) => {
      process.kill((replica.handle as { pid: number }).pid, 'SIGKILL');
      await expectEventually(() => expect(fetch(`${replica.url}/health`)).rejects.toThrow());
      // Time for the gateway to see its kept-alive connections to it end: a request sent on
      // one of those before then may have reached the replica, so it is not sent elsewhere.
      await new Promise((resolve) => setTimeout(resolve, 200));
    };

    /**
     * A raw streamed chat request (the test decides exactly when the client leaves) for a long
     * answer: this seed makes the small model speak ~50 tokens (~150 ms upstream).
     */
    function longStream(
      onResponse: (res: IncomingMessage, req: ClientRequest) => void,
    ): ClientRequest {
      const { port } = gateway.app.getHttpServer().address() as AddressInfo;
      const req = httpRequest(
        `http://127.0.0.1:${port}/v1/chat/completions`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
        },
        (res) => onResponse(res, req),
      );
      req.end(
        JSON.stringify({
          model: 'llama-3-8b-local',
          messages: [{ role: 'user', content: 'A long speech, please.' }],
          max_tokens: 3000,
          seed: 5,
          stream: true,
        }),
      );
      return req;
    }

    it('aborts the upstream request when the client goes away, and meters what was delivered', async () => {
      const replica = await firstReplica();
      const inFlight = async () =>
        ((await (await fetch(`${replica.url}/health`)).json()) as { inFlight: number }).inFlight;
      // The client leaves after the first chunk.
      await new Promise<void>((resolve, reject) => {
        longStream((res, req) => {
          expect(res.statusCode).toBe(200);
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        }).on('error', (error) =>
          error.message.includes('socket hang up') ? resolve() : reject(error),
        );
      });
      await expectEventually(async () => expect(await inFlight()).toBe(0), { timeoutMs: 2000 });
      await expectEventually(async () => {
        expect(await ledger(tenant.id, 'requests')).toBe(1);
        const output = await ledger(tenant.id, 'output_tokens');
        expect(output).toBeGreaterThan(0);
        expect(output).toBeLessThan(3000);
      });
    });

    it('answers 504 when the replica is slower than the first-byte timeout, holding nothing', async () => {
      const impatient = await startGateway({ env: { GATEWAY_FIRST_BYTE_TIMEOUT_MS: '30' } });
      try {
        const before = await ledger(tenant.id, 'requests');
        const res = await impatient.http
          .post('/v1/chat/completions')
          .set(bearer(tenant.key))
          .send({
            model: 'llama-3-8b-local',
            messages: [{ role: 'user', content: 'A long speech, please.' }],
            max_tokens: 400,
            // ~50 tokens ~3 ms apart: the whole answer takes longer than the 30 ms allowed.
            seed: 5,
          })
          .expect(504);
        expect(res.body.error).toMatchObject({ code: 'upstream_timeout', type: 'server_error' });
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(await ledger(tenant.id, 'requests')).toBe(before);
      } finally {
        await impatient.close();
      }
    });

    it('answers 503 model_not_ready with Retry-After for a stopped endpoint', async () => {
      const other = await tenantServing(['llama-3-8b-local']);
      const { body } = await api.http.get(`/v1/tenants/${other.id}/endpoints`).set(admin());
      const url = `/v1/tenants/${other.id}/endpoints/${body.data[0].id}`;
      await api.http.post(`${url}/stop`).set(admin()).send({}).expect(202);
      await expectEventually(
        async () => expect((await api.http.get(url).set(admin())).body.status).toBe('stopped'),
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await expectEventually(async () => {
        const res = await gateway.http
          .post('/v1/chat/completions')
          .set(bearer(other.key))
          .send({ model: 'llama-3-8b-local', messages: [{ role: 'user', content: 'hi' }] });
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('60');
        expect(res.body.error).toMatchObject({
          code: 'model_not_ready',
          endpoint_status: ['stopped'],
        });
      });
    });

    it('sends a request whose replica refuses connections to another ready replica, and answers 502 when none can be reached', async () => {
      const other = await tenantServing(['llama-3-8b-local']);
      const { body } = await api.http.get(`/v1/tenants/${other.id}/endpoints`).set(admin());
      const url = `/v1/tenants/${other.id}/endpoints/${body.data[0].id}`;
      await api.http.patch(url).set(admin()).send({ minReplicas: 2, maxReplicas: 2 }).expect(200);
      await expectEventually(
        async () =>
          expect((await api.http.get(url).set(admin())).body.observed.readyReplicas).toBe(2),
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const replicas = await replicasOf(other.id);
      // A gateway that reads routes once a minute: within this test it keeps choosing the
      // replicas it first read, whatever the reconciler does after they die.
      const patient = await startGateway({ env: { GATEWAY_ROUTE_CACHE_TTL_MS: '60000' } });
      const ask = () =>
        patient.http
          .post('/v1/chat/completions')
          .set(bearer(other.key))
          .send({ model: 'llama-3-8b-local', messages: [{ role: 'user', content: 'hi' }] });
      try {
        expect((await ask()).status).toBe(200);
        await kill(replicas[0]);
        // Round-robin would send every other request to the dead replica.
        for (let i = 0; i < 4; i += 1) {
          const res = await ask();
          expect(res.status).toBe(200);
          expect(res.body.choices[0].message.content).toEqual(expect.any(String));
        }
        await expectEventually(async () => expect(await ledger(other.id, 'requests')).toBe(5));

        await kill(replicas[1]);
        const res = await ask();
        expect(res.status).toBe(502);
        expect(res.body.error).toMatchObject({
          code: 'upstream_unreachable',
          type: 'server_error',
        });
        // Nothing was sent anywhere, so nothing is billed.
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(await ledger(other.id, 'requests')).toBe(5);
      } finally {
        await patient.close();
      }
    });

    it("sends concurrent requests for a model whose endpoint died to another endpoint of it, metered and sampled as that endpoint's", async () => {
      const other = await tenantServing(['llama-3-8b-local']);
      const { body: second } = await api.http
        .post(`/v1/tenants/${other.id}/endpoints`)
        .set(admin())
        .send({
          name: 'second',
          model: 'llama-3-8b-local',
          region: 'eu-west-1',
          minReplicas: 1,
          maxReplicas: 1,
        })
        .expect(201);
      const secondUrl = `/v1/tenants/${other.id}/endpoints/${second.id}`;
      await expectEventually(
        async () =>
          expect((await api.http.get(secondUrl).set(admin())).body.status).toBe('running'),
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const { body: endpoints } = await api.http
        .get(`/v1/tenants/${other.id}/endpoints`)
        .set(admin());
      const first = (endpoints.data as { id: string }[]).find((e) => e.id !== second.id)!.id;
      const patient = await startGateway({ env: { GATEWAY_ROUTE_CACHE_TTL_MS: '60000' } });
      try {
        const { port } = patient.app.getHttpServer().address() as AddressInfo;
        const client = new OpenAI({
          baseURL: `http://127.0.0.1:${port}/v1`,
          apiKey: other.key,
          maxRetries: 0,
        });
        // The routes (both endpoints' replicas) are read without a request reaching either.
        expect((await client.models.list()).data.map((m) => m.id)).toEqual(['llama-3-8b-local']);
        const [dead] = await replicasOf(other.id, first);
        await kill(dead);
        const dropped = jest.spyOn(patient.app.get(EndpointRoutes), 'unreachable');
        const messages = [{ role: 'user' as const, content: 'hi' }];
        const usages = await Promise.all(
          Array.from({ length: 8 }, async (_, i) => {
            if (i % 2 === 0) {
              const answer = await client.chat.completions.create({
                model: 'llama-3-8b-local',
                messages,
                max_tokens: 4,
              });
              return answer.usage!.total_tokens;
            }
            const stream = await client.chat.completions.create({
              model: 'llama-3-8b-local',
              messages,
              max_tokens: 4,
              stream: true,
              stream_options: { include_usage: true },
            });
            let total = 0;
            for await (const chunk of stream) total += chunk.usage?.total_tokens ?? 0;
            return total;
          }),
        );
        expect(usages.every((total) => total > 0)).toBe(true);
        // Some went to the dead replica first (round-robin), and were sent on.
        expect(dropped).toHaveBeenCalledWith(other.id, dead.url);
        const sum = usages.reduce((a, b) => a + b, 0);
        await expectEventually(async () => {
          const { body: usage } = await api.http
            .get(`/v1/tenants/${other.id}/usage`)
            .query({
              metric: 'total_tokens',
              groupBy: 'endpoint',
              from: new Date(Date.now() - 3_600_000).toISOString(),
              to: new Date(Date.now() + 3_600_000).toISOString(),
            })
            .set(admin())
            .expect(200);
          expect(usage.data).toEqual([
            expect.objectContaining({ endpointId: second.id, quantity: sum, events: 8 }),
          ]);
          const samples: { endpoint_id: string; status: number }[] = await api.app
            .get(TenantDb)
            .asPlatform('test: gateway samples', (m) =>
              m.query(`SELECT endpoint_id, status FROM inference_samples WHERE tenant_id = $1`, [
                other.id,
              ]),
            );
          expect(samples).toEqual(Array(8).fill({ endpoint_id: second.id, status: 200 }));
        });
      } finally {
        await patient.close();
      }
    });

    it('ends a stream cut by the replica with an error event, not a clean end', async () => {
      const pid = ((await firstReplica()).handle as { pid: number }).pid;
      const text = await new Promise<string>((resolve, reject) => {
        longStream((res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (!body) process.kill(pid, 'SIGKILL');
            body += chunk;
          });
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
      expect(text).toMatch(/data: \{"error":\{[^\n]*"code":"upstream_error"/);
      expect(text).not.toContain('[DONE]');
    });
  });

  describe('quota', () => {
    it('cuts 50 concurrent streaming clients off at a hard total_tokens limit, never above it', async () => {
      const LIMIT = 3000;
      const tenant = await tenantServing(
        ['llama-3-8b-local'],
        [{ metric: 'total_tokens', limit: LIMIT, enforcement: 'hard' }],
      );
      const client = new OpenAI({ baseURL, apiKey: tenant.key, maxRetries: 0 });
      const seen: number[] = [];
      const refused: { status?: number; headers?: unknown; error?: unknown }[] = [];
      const one = async () => {
        for (let i = 0; i < 4; i++) {
          try {
            const stream = await client.chat.completions.create({
              model: 'llama-3-8b-local',
              messages: [{ role: 'user', content: 'Tell the people.' }],
              max_tokens: 40,
              stream: true,
              stream_options: { include_usage: true },
            });
            for await (const chunk of stream) if (chunk.usage) seen.push(chunk.usage.total_tokens);
          } catch (error) {
            refused.push(error as { status?: number });
          }
        }
      };
      await Promise.all(Array.from({ length: 50 }, one));
      expect(refused.length).toBeGreaterThan(0);
      // Every refusal is a 429 (a failure names the others: status and message).
      expect(
        refused
          .filter((e) => e.status !== 429)
          .map((e) => `${e.status}: ${(e as { message?: string }).message ?? String(e)}`),
      ).toEqual([]);
      const total = seen.reduce((a, b) => a + b, 0);
      expect(total).toBeLessThanOrEqual(LIMIT);
      await expectEventually(async () =>
        expect(await ledger(tenant.id, 'total_tokens')).toBe(total),
      );
      // Whatever room the estimates left (completions often stop early) runs out in a few more.
      let res = await gateway.http.get('/v1/models').set(bearer(tenant.key));
      for (let i = 0; i < 100 && res.status !== 429; i++) {
        res = await gateway.http
          .post('/v1/chat/completions')
          .set(bearer(tenant.key))
          .send({
            model: 'llama-3-8b-local',
            messages: [{ role: 'user', content: 'more' }],
            max_tokens: 40,
          });
      }
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.body.error).toMatchObject({
        code: 'quota_exceeded',
        type: 'insufficient_quota',
        quota_line: { metric: 'total_tokens', period: 'term', limit: LIMIT },
      });
    });
  });
});
