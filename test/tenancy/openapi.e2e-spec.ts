import { TestApp } from '@app/testing';
import { startApi } from '../support/api';

interface Operation {
  parameters?: { name: string; in: string; schema?: Record<string, unknown> }[];
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> };
}

const TENANCY_PATH = /^\/v1\/(tenants|regions)/;
/**
 * The tenancy library's own routes (the identity, audit and fine-tuning libraries document
 * theirs; file ids are OpenAI-style `file-…`, not UUIDs).
 */
const NOT_TENANCY = /\/(api-keys|audit|sso|domains|users|files|fine_tuning)\b/;

describe('tenancy OpenAPI (/docs-json) matches what the routes answer', () => {
  let t: TestApp;
  let doc: Document;

  beforeAll(async () => {
    t = await startApi();
    doc = (await t.http.get('/docs-json').expect(200)).body as Document;
  });
  afterAll(() => t.close());

  const op = (method: string, path: string): Operation => {
    const found = doc.paths[path]?.[method];
    if (!found) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
    return found;
  };
  const tenancyOperations = () =>
    Object.entries(doc.paths)
      .filter(([path]) => TENANCY_PATH.test(path) && !NOT_TENANCY.test(path))
      .flatMap(([path, ops]) => Object.entries(ops).map(([method, o]) => ({ path, method, o })));

  it('documents every id path parameter as a uuid, and region codes by their pattern', () => {
    const wrong: string[] = [];
    for (const { path, method, o } of tenancyOperations()) {
      for (const param of o.parameters ?? []) {
        if (param.in !== 'path') continue;
        const want = param.name === 'code' ? undefined : 'uuid';
        if (param.schema?.format !== want) wrong.push(`${method} ${path} {${param.name}}`);
        if (param.name === 'code' && typeof param.schema?.pattern !== 'string')
          wrong.push(`${method} ${path} {code} has no pattern`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('documents 404 on every route under a tenant, and 409 on every write there (tenant_offboarded)', () => {
    const missing: string[] = [];
    for (const { path, method, o } of tenancyOperations()) {
      if (!path.includes('{tenantId}')) continue;
      if (!o.responses['404']) missing.push(`${method} ${path}: 404`);
      if (method !== 'get' && !o.responses['409']) missing.push(`${method} ${path}: 409`);
    }
    expect(missing).toEqual([]);
  });

  it.each([
    ['post', '/v1/tenants/{tenantId}/contracts/{id}/amendments', ['201', '404', '409', '422']],
    ['patch', '/v1/tenants/{tenantId}/contracts/{id}', ['200', '404', '409']],
    ['delete', '/v1/tenants/{tenantId}/contracts/{id}', ['204', '404', '409']],
    ['post', '/v1/tenants/{tenantId}/contracts/{id}/activate', ['200', '404', '409', '422']],
    ['post', '/v1/tenants/{tenantId}/contracts/{id}/terminate', ['200', '404', '409']],
    ['post', '/v1/tenants/{tenantId}/contracts/{id}/renew', ['201', '404', '409']],
    ['get', '/v1/tenants/{tenantId}/contracts/{id}/versions', ['200', '404']],
    ['get', '/v1/tenants/{tenantId}/quotas', ['200', '404']],
    ['get', '/v1/tenants/{tenantId}/compliance-profile', ['200', '404']],
    ['put', '/v1/tenants/{tenantId}/compliance-profile', ['200', '404', '409', '422']],
    ['post', '/v1/tenants/{tenantId}/account-managers', ['201', '404', '409', '422']],
    ['delete', '/v1/tenants/{tenantId}/account-managers/{userId}', ['204', '404', '409']],
    ['patch', '/v1/regions/{code}', ['200', '404', '409']],
  ])('documents %s %s answering %j', (method, path, statuses) => {
    expect(Object.keys(op(method, path).responses)).toEqual(expect.arrayContaining(statuses));
  });

  it('documents the account-manager list as a {data, nextCursor} page', () => {
    const schema = op('get', '/v1/tenants/{tenantId}/account-managers').responses['200'].content![
      'application/json'
    ].schema;
    const name = String(schema.$ref).split('/').pop()!;
    expect(Object.keys(doc.components.schemas[name].properties).sort()).toEqual([
      'data',
      'nextCursor',
    ]);
  });

  it('gives integer DTO fields their bounds', () => {
    const props = (name: string) => doc.components.schemas[name].properties;
    expect(props('QuotaLineDto').limit).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
    });
    expect(props('QuotaLineDto').overageUnitPriceMinor).toMatchObject({
      type: 'integer',
      minimum: 0,
    });
    expect(props('CreditTierDto').creditPercent).toMatchObject({ minimum: 1, maximum: 100 });
    expect(props('SlaTermsDto').latencyP95Ms).toMatchObject({ minimum: 1, maximum: 600_000 });
    expect(props('ComplianceProfileDto').auditRetentionDays).toMatchObject({
      type: 'integer',
      minimum: 1,
    });
    expect(props('QuotaLineStatusResponse').overflow).toMatchObject({ type: 'boolean' });
    expect(props('QuotaLineStatusResponse').used).toMatchObject({
      maximum: Number.MAX_SAFE_INTEGER,
    });
  });
});
