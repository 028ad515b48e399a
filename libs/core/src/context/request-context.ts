import { Injectable } from '@nestjs/common';
import { ClsService, ClsStore } from 'nestjs-cls';

/** Who is acting. Filled by the authentication guard (identity issue) or by a job processor. */
export interface Actor {
  type: 'user' | 'api_key' | 'system';
  id: string;
  email?: string;
  keyPrefix?: string;
}

export interface RequestContextStore extends ClsStore {
  requestId?: string;
  actor?: Actor;
  /** The tenant the current work is for; unset means platform scope. */
  tenantId?: string;
  ip?: string;
  userAgent?: string;
}

/**
 * Typed access to the per-request (or per-job) context held in AsyncLocalStorage by nestjs-cls.
 * Slots start empty; authentication and job processors fill them.
 */
@Injectable()
export class RequestContext {
  constructor(private readonly cls: ClsService<RequestContextStore>) {}

  get requestId(): string | undefined {
    return this.cls.isActive() ? this.cls.get('requestId') : undefined;
  }

  get actor(): Actor | undefined {
    return this.cls.isActive() ? this.cls.get('actor') : undefined;
  }

  get tenantId(): string | undefined {
    return this.cls.isActive() ? this.cls.get('tenantId') : undefined;
  }

  set(values: Partial<Pick<RequestContextStore, 'actor' | 'tenantId'>>): void {
    for (const [key, value] of Object.entries(values)) this.cls.set(key as 'actor', value as Actor);
  }
}
