/**
 * What policy checks and row-level security cost on a tenant-scoped list route:
 * `GET /v1/tenants/{tenantId}/api-keys` as the product serves it (guard: tenant resolution and
 * CASL check; the handler in a transaction that sets `app.tenant_id`; RLS on the table) against
 * the same list served with both switched off (a bench-only route that authenticates the same
 * session, then calls the same service and view on the table owner's connection without a
 * transaction). Same process, same run.
 */
import '../apps/api/src/instrument';
import { asTenantId, AUTHENTICATOR, Authenticator, buildAbility, Public } from '@app/authz';
import { ApiKey, ApiKeyService } from '@app/identity';
import { ClsService } from 'nestjs-cls';
import { dataSourceOptions, loadConfig, NotFound, PageQueryDto } from '@app/core';
import { bearer, createTenant, createTenantKey, createTestApp, signIn } from '@app/testing';
import { Controller, Get, Inject, Module, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { API_HTTP_OPTIONS, AppModule } from '../apps/api/src/app.module';
import { compare } from './harness';

const owner = new DataSource({
  ...dataSourceOptions(loadConfig(process.env), 'bench-owner'),
  entities: [ApiKey],
});

/**
 * The same list through the same service and view code, with policy and RLS switched off: no
 * guard policy (the route is public and only authenticates), no scoped transaction, and the
 * table owner's connection, on which RLS is not applied (superuser).
 */
@Public()
@Controller('bench/tenants/:tenantId/api-keys')
class UnprotectedApiKeysController {
  constructor(
    @Inject(AUTHENTICATOR) private readonly authenticator: Authenticator,
    private readonly keys: ApiKeyService,
    private readonly cls: ClsService,
  ) {}

  @Get()
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: PageQueryDto,
    @Req() request: Request,
  ) {
    const token = request.header('authorization')?.slice('Bearer '.length) ?? '';
    const principal = await this.authenticator.authenticate(token, request);
    if (!principal) throw new NotFound();
    this.cls.set('authz.entityManager', owner.manager);
    const page = await this.keys.list(asTenantId(tenantId), query.limit, query.after);
    const ability = buildAbility(principal);
    return {
      data: page.data.map((key) => this.keys.view(ability, key)),
      nextCursor: page.nextCursor,
    };
  }
}

@Module({ controllers: [UnprotectedApiKeysController] })
class BenchModule {}

async function main(): Promise<void> {
  const t = await createTestApp((config, options) => {
    const app = AppModule.register(config, options);
    return { ...app, imports: [...(app.imports ?? []), BenchModule] };
  }, API_HTTP_OPTIONS);
  await owner.initialize();
  const tenant = await createTenant(t);
  for (let i = 0; i < 20; i += 1) await createTenantKey(t, tenant.id, ['viewer']);
  const { token } = await signIn(t, ['tenant_admin'], tenant.id);
  const headers = bearer(token);
  const port = (t.app.getHttpServer().address() as AddressInfo).port;
  const protectedUrl = `http://127.0.0.1:${port}/v1/tenants/${tenant.id}/api-keys`;
  const unprotectedUrl = `http://127.0.0.1:${port}/bench/tenants/${tenant.id}/api-keys`;

  for (const url of [unprotectedUrl, protectedUrl]) {
    const res = await fetch(url, { headers });
    const body = (await res.json()) as { data?: unknown[] };
    if (res.status !== 200 || body.data?.length !== 20) {
      throw new Error(`${url} answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    }
  }
  await compare('GET /v1/tenants/{tenantId}/api-keys (20 keys), session auth in both', [
    { name: 'policy + RLS off (baseline)', url: unprotectedUrl, headers },
    { name: 'policy + RLS on', url: protectedUrl, headers },
  ]);
  await t.close();
  await owner.destroy();
}

void main();
