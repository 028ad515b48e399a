import {
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  NestInterceptor,
  Optional,
} from '@nestjs/common';
import { HEADERS_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { IdempotencyService, readIdempotencyKey, renderProblem, StoredResponse } from '@app/core';
import type { Request, Response } from 'express';
import { ClsService } from 'nestjs-cls';
import { from, lastValueFrom, Observable } from 'rxjs';
import { CLS_PRINCIPAL, CLS_REQUEST_SCOPE, credentialOf } from './policies.guard';
import {
  AUTHENTICATED,
  OUTSIDE_REQUEST_TRANSACTION,
  POLICY_METADATA,
  RoutePolicy,
} from './policy.decorators';
import { MUTATION_AUDITOR, MutationAuditor, MutationFailure, MutationInfo } from './ports';
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
 *
 * Every other method (a mutation) is reported to the audit log ({@link MutationAuditor}): its
 * success inside the same transaction, so the event commits or rolls back with the change; its
 * failure after the rollback, in a transaction of its own.
 */
@Injectable()
export class TenantTransactionInterceptor implements NestInterceptor {
  constructor(
    private readonly cls: ClsService,
    private readonly db: TenantDb,
    private readonly idempotency: IdempotencyService,
    private readonly reflector: Reflector,
    @Optional() @Inject(MUTATION_AUDITOR) private readonly auditor?: MutationAuditor,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const scope = this.cls.isActive()
      ? this.cls.get<DbScope | undefined>(CLS_REQUEST_SCOPE)
      : undefined;
    if (!scope) return next.handle();
    const request = context.switchToHttp().getRequest<Request>();
    const handle = () => lastValueFrom(next.handle(), { defaultValue: undefined });
    const outside = this.reflector.get<boolean | undefined>(
      OUTSIDE_REQUEST_TRANSACTION,
      context.getHandler(),
    );
    if (outside && SAFE_METHODS.has(request.method)) {
      // The tenant check still runs (the transaction's first round trip), then the handler
      // opens its own short transactions.
      return from(this.db.run(scope, async () => undefined, { readOnly: true }).then(handle));
    }
    if (SAFE_METHODS.has(request.method)) {
      return from(this.db.run(scope, handle, { readOnly: true }));
    }
    const mutation = this.auditor ? this.mutationOf(context, request, scope) : undefined;
    const audited =
      mutation && this.auditor
        ? async () => {
            const result = await handle();
            await this.auditor!.succeeded(this.db.manager, mutation, result);
            return result;
          }
        : handle;
    const work =
      request.method === 'POST'
        ? this.post(context, scope, request, audited)
        : this.db.run(scope, audited);
    return from(
      work.catch(async (error: unknown) => {
        if (mutation && this.auditor) {
          const failure =
            error instanceof StoredResponse ? storedFailure(error) : problemOf(error, request);
          if (failure) await this.auditor.failed(mutation, failure);
        }
        throw error;
      }),
    );
  }

  private mutationOf(context: ExecutionContext, request: Request, scope: DbScope): MutationInfo {
    const policy = this.reflector.getAllAndOverride<RoutePolicy | undefined>(POLICY_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    return {
      method: request.method,
      route: (request.route as { path?: string } | undefined)?.path ?? request.path,
      params: { ...(request.params as Record<string, string>) },
      policy:
        policy && policy !== AUTHENTICATED
          ? { action: policy.action, subject: policy.subject }
          : undefined,
      tenantId: scope.kind === 'tenant' ? scope.tenantId : null,
    };
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

/** The failure an idempotent request stored (first answers only: replays changed nothing). */
function storedFailure(stored: StoredResponse): MutationFailure | undefined {
  if (stored.replayed || stored.response.status < 400) return undefined;
  try {
    const body = JSON.parse(stored.response.body.toString('utf8')) as {
      code?: string;
      detail?: string;
    };
    return { status: stored.response.status, code: body.code ?? 'error', detail: body.detail };
  } catch {
    return { status: stored.response.status, code: 'error' };
  }
}

function problemOf(error: unknown, request: Request): MutationFailure {
  const { body } = renderProblem(error, request);
  return { status: body.status, code: body.code, detail: body.detail };
}
