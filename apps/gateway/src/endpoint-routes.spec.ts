import { AppConfig } from '@app/core';
import { ObservedDeployment } from '@app/endpoints';
import { EndpointRoutes, UNREACHABLE_MS } from './endpoint-routes';
import { OpenAiError } from './openai-error';

const TENANT = '6f1c2a52-0a6e-4c57-9b1e-3f1d2c4b5a60';

/**
 * Where the gateway sends a tenant's requests, read from its endpoints' observed state (a
 * PostgreSQL row per endpoint, here given by a stubbed TenantDb).
 */
describe('EndpointRoutes', () => {
  let rows: {
    id: string;
    modelId: string;
    status: string;
    observed: ObservedDeployment;
    contextLength: number;
  }[] = [];
  const db = {
    inTenant: (_tenantId: string, work: (manager: unknown) => Promise<unknown>) =>
      work({ query: async () => rows }),
  };
  const routes = () =>
    new EndpointRoutes(db as never, { GATEWAY_ROUTE_CACHE_TTL_MS: 60_000 } as AppConfig);
  const replica = (id: string, ready: boolean, url: string | null) => ({
    id,
    generation: 1,
    ready,
    url,
    startedAt: '2027-01-01T00:00:00.000Z',
  });

  it('sends requests to the Service in front of ready replicas that have no address of their own (kubernetes provider)', async () => {
    const service = 'http://ep-1.ai-endpoints.svc.cluster.local:80';
    rows = [
      {
        id: 'e1',
        modelId: 'llama-3-8b-local',
        status: 'running',
        contextLength: 8192,
        observed: {
          url: service,
          replicas: [replica('pod-a', true, null), replica('pod-b', false, null)],
        },
      },
    ];
    await expect(routes().route(TENANT, 'llama-3-8b-local')).resolves.toMatchObject({
      endpointId: 'e1',
      replicaUrl: service,
      replicaAddress: 'ep-1.ai-endpoints.svc.cluster.local',
      replicaPort: 80,
    });
  });

  it('answers model_not_ready while no replica behind the Service is ready', async () => {
    rows = [
      {
        id: 'e1',
        modelId: 'llama-3-8b-local',
        status: 'provisioning',
        contextLength: 8192,
        observed: {
          url: 'http://ep-1.ai-endpoints.svc.cluster.local:80',
          replicas: [replica('pod-a', false, null)],
        },
      },
    ];
    const refused = await routes()
      .route(TENANT, 'llama-3-8b-local')
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAiError);
    expect(refused).toMatchObject({ status: 503, code: 'model_not_ready' });
  });

  it('passes over a replica that could not be reached, even after the routes are read again, while another can serve', async () => {
    const local = (port: number) => `http://127.0.0.1:${port}`;
    rows = [
      {
        id: 'e1',
        modelId: 'llama-3-8b-local',
        status: 'running',
        contextLength: 8192,
        observed: {
          url: null,
          replicas: [replica('r-1', true, local(4001)), replica('r-2', true, local(4002))],
        },
      },
    ];
    const now = jest.spyOn(Date, 'now');
    try {
      now.mockReturnValue(1_000_000);
      // Routes read again every second.
      const gateway = new EndpointRoutes(
        db as never,
        {
          GATEWAY_ROUTE_CACHE_TTL_MS: 1000,
        } as AppConfig,
      );
      const chosen = async () => (await gateway.route(TENANT, 'llama-3-8b-local')).replicaUrl;
      await chosen();
      gateway.unreachable(TENANT, local(4001));
      // Past the route cache's life: read again, still listing it (the reconciler has not seen).
      now.mockReturnValue(1_000_000 + 2_000);
      expect([await chosen(), await chosen(), await chosen()]).toEqual([
        local(4002),
        local(4002),
        local(4002),
      ]);
      // Another tenant's replica at the same address is not passed over.
      const other = '0b9d3c1e-7a2f-4e5b-8c6d-1f2e3d4c5b6a';
      const others = new Set<string>();
      for (let i = 0; i < 4; i += 1) {
        others.add((await gateway.route(other, 'llama-3-8b-local')).replicaUrl);
      }
      expect(others).toEqual(new Set([local(4001), local(4002)]));
      // After UNREACHABLE_MS, back in turn.
      now.mockReturnValue(1_000_000 + UNREACHABLE_MS + 1);
      expect(new Set([await chosen(), await chosen()])).toEqual(
        new Set([local(4001), local(4002)]),
      );
      // When no other can serve, it is chosen again (it may be back).
      gateway.unreachable(TENANT, local(4001));
      gateway.unreachable(TENANT, local(4002));
      expect(new Set([await chosen(), await chosen()])).toEqual(
        new Set([local(4001), local(4002)]),
      );
    } finally {
      now.mockRestore();
    }
  });
});
