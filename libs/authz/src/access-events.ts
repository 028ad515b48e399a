import { Injectable, Logger } from '@nestjs/common';
import type { Actor } from '@app/core';

/** A refused request: 401 (no or bad credentials), 403 (missing permission) or 404-by-policy. */
export interface AccessDeniedEvent {
  status: 401 | 403 | 404;
  reason:
    | 'unauthenticated'
    | 'invalid_credentials'
    | 'missing_permission'
    | 'tenant_not_reachable'
    | 'tenant_suspended'
    | 'no_policy'
    | 'cross_site_request'
    | 'tenant_caller_required';
  actor?: Actor;
  /** The tenant the request was for (when known). */
  tenantId?: string;
  /** The caller's own tenant (when authenticated): where the denial is recorded. */
  callerTenantId?: string;
  action?: string;
  subject?: string;
  method: string;
  path: string;
  requestId?: string;
}

export type AccessDeniedListener = (event: AccessDeniedEvent) => void | Promise<void>;

/** A request granted platform-wide access (the RLS bypass): who, which route, why. */
export interface PlatformAccessEvent {
  actor: Actor;
  reason: string;
  requestId?: string;
}

export type PlatformAccessListener = (event: PlatformAccessEvent) => void | Promise<void>;

/**
 * The single hook point for denials and platform-wide (RLS bypass) grants: the guard reports
 * every one here; the audit library subscribes when it exists, so no other code needs to know.
 */
@Injectable()
export class AccessEvents {
  private readonly logger = new Logger('AccessEvents');
  private readonly deniedListeners: AccessDeniedListener[] = [];
  private readonly platformListeners: PlatformAccessListener[] = [];

  onDenied(listener: AccessDeniedListener): void {
    this.deniedListeners.push(listener);
  }

  onPlatformAccess(listener: PlatformAccessListener): void {
    this.platformListeners.push(listener);
  }

  denied(event: AccessDeniedEvent): Promise<void> {
    return this.notify(this.deniedListeners, event);
  }

  platformAccess(event: PlatformAccessEvent): Promise<void> {
    this.logger.log({ actor: event.actor, reason: event.reason }, 'platform-wide access');
    return this.notify(this.platformListeners, event);
  }

  private async notify<E>(
    listeners: ((event: E) => void | Promise<void>)[],
    event: E,
  ): Promise<void> {
    for (const listener of listeners) {
      try {
        await listener(event);
      } catch (error) {
        this.logger.error({ err: error }, 'access listener failed');
      }
    }
  }
}
