import { Injectable } from '@nestjs/common';
import { ClsService, ClsStore } from 'nestjs-cls';

/** Who is acting. Filled by the authentication guard (identity issue) or by a job processor. */
export interface Actor {
  type: 'user' | 'api_key' | 'system';
  id: string;
  email?: string;
  keyPrefix?: string;
}

/** How an actor is written in `created_by` columns: `user:<id>`, `api_key:<id>`, `system:<id>`. */
export function actorRef(actor: Actor): string {
  return `${actor.type}:${actor.id}`;
}

export interface RequestContextStore extends ClsStore {
  requestId?: string;
  actor?: Actor;
  /** The tenant the current work is for; unset means platform scope. */
  tenantId?: string;
  ip?: string;
  userAgent?: string;
  /** What a mutated resource looked like before the change, for the audit log. */
  changeBefore?: unknown;
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

  /** The client address (Express `req.ip`, honouring TRUST_PROXY). */
  get ip(): string | undefined {
    return this.cls.isActive() ? this.cls.get('ip') : undefined;
  }

  get userAgent(): string | undefined {
    return this.cls.isActive() ? this.cls.get('userAgent') : undefined;
  }

  get tenantId(): string | undefined {
    return this.cls.isActive() ? this.cls.get('tenantId') : undefined;
  }

  /** The snapshot a service noted with {@link recordBefore}, if any. */
  get changeBefore(): unknown {
    return this.cls.isActive() ? this.cls.get('changeBefore') : undefined;
  }

  /**
   * Notes what the resource a mutation changes looked like before it (a plain snapshot, the way
   * the API shows it); the audit log records it as `changes.before`. Secrets are redacted there.
   */
  recordBefore(snapshot: unknown): void {
    if (this.cls.isActive()) this.cls.set('changeBefore', snapshot);
  }

  set(values: Partial<Pick<RequestContextStore, 'actor' | 'tenantId'>>): void {
    for (const [key, value] of Object.entries(values)) this.cls.set(key as 'actor', value as Actor);
  }
}
