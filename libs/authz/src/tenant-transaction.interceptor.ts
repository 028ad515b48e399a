import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { HEADERS_METADATA } from '@nestjs/common/constants';
import { IdempotencyService, readIdempotencyKey } from '@app/core';
import type { Request, Response } from 'express';
import { ClsService } from 'nestjs-cls';
import { from, lastValueFrom, Observable } from 'rxjs';
import { CLS_PRINCIPAL, CLS_REQUEST_SCOPE, credentialOf } from './policies.guard';
import { PLATFORM_TENANT_ID, Principal } from './principal';
import { DbScope, TenantDb } from './tenant-db';

/** RFC 9110 §9.2.1 safe methods: they run in read-only transactions. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Runs each authorized request's handler inside one transaction scoped (RLS) to the tenant the
 * guard resolved. The response is sent only after the commit; an error rolls back everything the
 * request wrote (and, once the audit library exists, its audit events with it).
 *
 * A POST with an `Idempotency-Key` runs through {@link IdempotencyService} inside that
 * transaction; its answer (first or replayed) is thrown as a `StoredResponse` after the commit,
 * which the problem filter writes verbatim. Other methods ignore the header.
 */
@Injectable()
export class TenantTransactionInterceptor implements NestInterceptor {
  constructor(
    private readonly cls: ClsService,
    private readonly db: TenantDb,
    private readonly idempotency: IdempotencyService,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const scope = this.cls.isActive()
      ? this.cls.get<DbScope | undefined>(CLS_REQUEST_SCOPE)
      : undefined;
    if (!scope) return next.handle();
    const request = context.switchToHttp().getRequest<Request>();
    const handle = () => lastValueFrom(next.handle(), { defaultValue: undefined });
    if (request.method === 'POST') return from(this.post(context, scope, request, handle));
    return from(this.db.run(scope, handle, { readOnly: SAFE_METHODS.has(request.method) }));
  }

  private async post(
    context: ExecutionContext,
    scope: DbScope,
    request: Request,
    handle: () => Promise<unknown>,
  ): Promise<unknown> {
    const key = readIdempotencyKey(request);
    if (key === undefined) return this.db.run(scope, handle);
    const principal = this.cls.get<Principal | undefined>(CLS_PRINCIPAL);
    const credential = credentialOf(request);
    // The guard authenticated this request with exactly this credential.
    if (!principal || !credential) throw new Error('idempotent request without a principal');
    const response = context.switchToHttp().getResponse<Response>();
    const stored = await this.db.run(scope, () =>
      this.idempotency.execute(
        {
          manager: this.db.manager,
          key,
          actor: principal.actor,
          tenantId: scope.kind === 'tenant' ? scope.tenantId : PLATFORM_TENANT_ID,
          credential,
          request,
          routeHeaders: routeHeadersOf(context),
          // Nest set the route's status (@HttpCode, else 201) before interceptors ran.
          successStatus: () => response.statusCode,
        },
        handle,
      ),
    );
    // After the commit: the filter writes it as stored (status, headers, bytes).
    throw stored;
  }
}

/** The headers a route declares with `@Header(name, value)`, as Nest applies them. */
function routeHeadersOf(context: ExecutionContext): Record<string, string> {
  const declared =
    (Reflect.getMetadata(HEADERS_METADATA, context.getHandler()) as
      { name: string; value: string | (() => string) }[] | undefined) ?? [];
  return Object.fromEntries(
    declared.map(({ name, value }) => [name, typeof value === 'function' ? value() : value]),
  );
}
