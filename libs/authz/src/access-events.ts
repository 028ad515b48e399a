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
    | 'no_policy';
  actor?: Actor;
  tenantId?: string;
  action?: string;
  subject?: string;
  method: string;
  path: string;
  requestId?: string;
}

export type AccessDeniedListener = (event: AccessDeniedEvent) => void | Promise<void>;

/**
 * The single hook point for denials: the guard reports every one here; the audit library
 * subscribes when it exists, so no other code needs to know about denials.
 */
@Injectable()
export class AccessEvents {
  private readonly logger = new Logger('AccessEvents');
  private readonly listeners: AccessDeniedListener[] = [];

  onDenied(listener: AccessDeniedListener): void {
    this.listeners.push(listener);
  }

  async denied(event: AccessDeniedEvent): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(event);
      } catch (error) {
        this.logger.error({ err: error }, 'access-denied listener failed');
      }
    }
  }
}
