import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { ClsService } from 'nestjs-cls';
import { from, lastValueFrom, Observable } from 'rxjs';
import { CLS_REQUEST_SCOPE } from './policies.guard';
import { DbScope, TenantDb } from './tenant-db';

/**
 * Runs each authorized request's handler inside one transaction scoped (RLS) to the tenant the
 * guard resolved. The response is sent only after the commit; an error rolls back everything the
 * request wrote (and, once the audit library exists, its audit events with it).
 */
/** RFC 9110 §9.2.1 safe methods: they run in read-only transactions. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

@Injectable()
export class TenantTransactionInterceptor implements NestInterceptor {
  constructor(
    private readonly cls: ClsService,
    private readonly db: TenantDb,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const scope = this.cls.isActive()
      ? this.cls.get<DbScope | undefined>(CLS_REQUEST_SCOPE)
      : undefined;
    if (!scope) return next.handle();
    return from(
      this.db.run(scope, () => lastValueFrom(next.handle(), { defaultValue: undefined }), {
        readOnly: SAFE_METHODS.has(context.switchToHttp().getRequest<Request>().method),
      }),
    );
  }
}
