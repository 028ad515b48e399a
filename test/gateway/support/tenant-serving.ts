import {
  bearer,
  createTenantKey,
  deployableTenant,
  expectEventually,
  platformAdminKey,
  TestApp,
} from '@app/testing';
import OpenAI from 'openai';

export interface ServingTenant {
  id: string;
  /** An inference key (plain text) and its id. */
  key: string;
  keyId: string;
  /** The official client on the gateway with that key. */
  client: OpenAI;
}

/**
 * A tenant with an active contract holding `lines`, running endpoints (one replica each, eu-west-1)
 * of `models`, and an inference key whose client talks to the gateway at `baseURL`.
 */
export async function tenantServing(
  api: TestApp,
  baseURL: string,
  models: string[],
  lines: { metric: string; limit: number; enforcement: 'hard' | 'soft' }[] = [],
): Promise<ServingTenant> {
  const admin = bearer(platformAdminKey());
  const id = await deployableTenant(api, {
    profile: { allowedModelFamilies: ['llama', 'e5'] },
    lines,
    activate: false,
  });
  const ids: string[] = [];
  for (const model of models) {
    const res = await api.http
      .post(`/v1/tenants/${id}/endpoints`)
      .set(admin)
      .send({
        name: model.split('-')[0],
        model,
        region: 'eu-west-1',
        minReplicas: 1,
        maxReplicas: 1,
      })
      .expect(201);
    ids.push(res.body.id);
  }
  await expectEventually(
    async () => {
      for (const endpointId of ids) {
        const res = await api.http.get(`/v1/tenants/${id}/endpoints/${endpointId}`).set(admin);
        expect(res.body.status).toBe('running');
      }
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  const key = await createTenantKey(api, id, [], ['inference']);
  return {
    id,
    key: key.key,
    keyId: key.id,
    client: new OpenAI({ baseURL, apiKey: key.key, maxRetries: 0 }),
  };
}
