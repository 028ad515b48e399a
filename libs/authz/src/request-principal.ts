import { createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { ClsService, ClsServiceManager } from 'nestjs-cls';
import type { AppAbility } from './ability';
import { CLS_ABILITY, CLS_PRINCIPAL, CLS_REQUEST_SCOPE } from './policies.guard';
import type { DbScope } from './tenant-db';
import type { Principal } from './principal';

/** The authenticated principal and ability of the current request. */
@Injectable()
export class CurrentAccess {
  constructor(private readonly cls: ClsService) {}

  /** @throws Error outside an authenticated request (a bug: the route must declare a policy). */
  get principal(): Principal {
    const principal = this.cls.get<Principal | undefined>(CLS_PRINCIPAL);
    if (!principal) throw new Error('no authenticated principal in this context');
    return principal;
  }

  /** The data scope the guard resolved: the request's tenant, or platform-wide for staff. */
  get scope(): DbScope {
    const scope = this.cls.get<DbScope | undefined>(CLS_REQUEST_SCOPE);
    if (!scope) throw new Error('no request scope in this context');
    return scope;
  }

  /** @throws Error outside an authenticated request. */
  get ability(): AppAbility {
    const ability = this.cls.get<AppAbility | undefined>(CLS_ABILITY);
    if (!ability) throw new Error('no ability in this context');
    return ability;
  }
}

/** Handler parameter: the current principal. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, _context: ExecutionContext): Principal => {
    const principal = ClsServiceManager.getClsService().get<Principal | undefined>(CLS_PRINCIPAL);
    if (!principal) throw new Error('no authenticated principal in this context');
    return principal;
  },
);
