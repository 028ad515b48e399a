/**
 * What policy checks and row-level security cost on a tenant-scoped list route:
 * `GET /v1/tenants/{tenantId}/api-keys` as the product serves it (guard: tenant resolution and
 * CASL check; the handler in a transaction that sets `app.tenant_id`; RLS on the table) against
 * the same list served with both switched off (a bench-only route that authenticates the same
 * key, then runs the same SQL as the table owner without a transaction). Same process, same run.
 */
import '../apps/api/src/instrument';
import { AUTHENTICATOR, Authenticator, Public } from '@app/authz';
import { dataSourceOptions, loadConfig, NotFound } from '@app/core';
import { bearer, createTenant, createTenantKey, createTestApp, signIn } from '@app/testing';
import { Controller, Get, Inject, Module, Param, Req } from '@nestjs/common';
import type { Request } from 'express';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { API_HTTP_OPTIONS, AppModule } from '../apps/api/src/app.module';
import { load, report } from './harness';

const owner = new DataSource(dataSourceOptions(loadConfig(process.env), 'bench-owner'));

@Public()
@Controller('bench/tenants/:tenantId/api-keys')
class UnprotectedApiKeysController {
  constructor(@Inject(AUTHENTICATOR) private readonly authenticator: Authenticator) {}

  @Get()
  async list(@Param('tenantId') tenantId: string, @Req() request: Request) {
    const token = request.header('authorization')?.slice('Bearer '.length) ?? '';
    if (!(await this.authenticator.authenticate(token, request))) throw new NotFound();
    const rows = await owner.query(
      `SELECT id, name, prefix, roles, scopes, expires_at, last_used_at, revoked_at, rotated_at, created_at
         FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 21`,
      [tenantId],
    );
    return { data: rows, nextCursor: null };
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

  await load('warm-up', unprotectedUrl, { durationSeconds: 2, headers });
  await load('warm-up', protectedUrl, { durationSeconds: 2, headers });
  const results = [
    await load('policy + RLS off (baseline)', unprotectedUrl, { headers }),
    await load('policy + RLS on', protectedUrl, { headers }),
    await load('policy + RLS off (baseline, again)', unprotectedUrl, { headers }),
  ];
  report('GET /v1/tenants/{tenantId}/api-keys (20 keys), session auth in both', results);
  await t.close();
  await owner.destroy();
}

void main();
