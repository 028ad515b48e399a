import { Global, Module, OnApplicationBootstrap } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { IdempotencyModule } from '@app/core';
import { AccessEvents } from './access-events';
import { PoliciesGuard } from './policies.guard';
import { CurrentAccess } from './request-principal';
import { RouteCatalog } from './route-catalog';
import { TenantDb } from './tenant-db';
import { TenantTransactionInterceptor } from './tenant-transaction.interceptor';

/**
 * What every process needs to reach tenant data: the RLS-scoped {@link TenantDb} and the access
 * event hooks. The worker imports this alone; the process must also provide TENANT_DIRECTORY
 * (tenancy).
 */
@Global()
@Module({
  providers: [TenantDb, AccessEvents],
  exports: [TenantDb, AccessEvents],
})
export class AuthzCoreModule {}

/**
 * Authorization for an HTTP app: the global deny-by-default guard, the per-request scoped
 * transaction, and the boot check that every route declares a policy or is public. The app must
 * also provide AUTHENTICATOR (identity) and TENANT_DIRECTORY (tenancy).
 */
@Global()
@Module({
  imports: [DiscoveryModule, IdempotencyModule, AuthzCoreModule],
  providers: [
    CurrentAccess,
    RouteCatalog,
    { provide: APP_GUARD, useClass: PoliciesGuard },
    { provide: APP_INTERCEPTOR, useClass: TenantTransactionInterceptor },
  ],
  exports: [CurrentAccess, RouteCatalog],
})
export class AuthzModule implements OnApplicationBootstrap {
  constructor(private readonly catalog: RouteCatalog) {}

  /** @throws Error naming every route that is neither `@Public()` nor under a policy. */
  onApplicationBootstrap(): void {
    const undeclared = this.catalog.routes().filter((route) => route.access === 'undeclared');
    if (undeclared.length) {
      throw new Error(
        `routes without @CheckPolicies or @Public: ${undeclared.map((r) => `${r.method} ${r.path} (${r.controller}.${r.handler})`).join(', ')}`,
      );
    }
  }
}
