import { TenantDb, TenantId } from '@app/authz';
import {
  Actor,
  AppConfig,
  InjectConfig,
  actorRef,
  FieldError,
  NotFound,
  Page,
  RequestContext,
  tenantRowsNewestFirst,
  ValidationFailed,
} from '@app/core';
import { Injectable } from '@nestjs/common';
import { SlaClock } from '../sla-clock';
import { MaintenanceWindowStarted } from '../sla-problems';
import { MaintenanceWindow } from './maintenance-window.entity';

/** The longest maintenance window, ms (7 days). */
export const MAX_MAINTENANCE_WINDOW_MS = 7 * 24 * 3_600_000;

/** What a maintenance window declares (`POST .../maintenance-windows`). */
export interface NewMaintenanceWindow {
  startsAt: Date;
  endsAt: Date;
  reason: string;
}

/**
 * Maintenance windows (issue 11, "SLA terms"): declared in advance by the operator, excluded
 * from availability (every minute a window touches). Runs in the request's tenant-scoped
 * transaction; the transaction interceptor audits each change.
 */
@Injectable()
export class MaintenanceWindowService {
  constructor(
    private readonly db: TenantDb,
    private readonly clock: SlaClock,
    private readonly context: RequestContext,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Declares a window.
   *
   * @throws ValidationFailed (400) when `startsAt` is before the next minute boundary (windows
   *   are declared in advance; a minute under way is never excluded), `endsAt` is not after `startsAt`, or the window is longer than 7 days
   */
  async declare(
    tenantId: TenantId,
    input: NewMaintenanceWindow,
    by: Actor,
  ): Promise<MaintenanceWindow> {
    const now = this.clock.now();
    const errors: FieldError[] = [];
    // Exclusion covers whole minutes: a window may start at the next minute boundary at the
    // earliest, so no part of a minute already under way (an outage now) is excluded.
    const m = this.config.SLA_MINUTE_MS;
    const earliest = new Date((Math.floor(now.getTime() / m) + 1) * m);
    if (input.startsAt.getTime() < earliest.getTime()) {
      errors.push({
        path: 'startsAt',
        message: `must be at or after ${earliest.toISOString()}: maintenance is declared in advance, from the next minute on`,
      });
    }
    const length = input.endsAt.getTime() - input.startsAt.getTime();
    if (length <= 0) errors.push({ path: 'endsAt', message: 'must be after startsAt' });
    else if (length > MAX_MAINTENANCE_WINDOW_MS) {
      errors.push({ path: 'endsAt', message: 'a maintenance window lasts at most 7 days' });
    }
    if (errors.length > 0) {
      throw new ValidationFailed(
        `${errors.length} field${errors.length === 1 ? ' is' : 's are'} invalid.`,
        { errors },
      );
    }
    const [row]: { id: string }[] = await this.db.manager.query(
      `INSERT INTO maintenance_windows (tenant_id, starts_at, ends_at, reason, created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [tenantId, input.startsAt, input.endsAt, input.reason, actorRef(by), now],
    );
    return this.get(tenantId, row.id);
  }

  /** @throws NotFound when the tenant has no such window */
  async get(tenantId: TenantId, id: string): Promise<MaintenanceWindow> {
    const row = await this.db.manager.getRepository(MaintenanceWindow).findOneBy({ tenantId, id });
    if (!row) throw new NotFound('No such maintenance window.');
    return row;
  }

  /** Newest first. @throws ValidationFailed (cursor) */
  list(tenantId: TenantId, limit: number, after?: string): Promise<Page<MaintenanceWindow>> {
    return tenantRowsNewestFirst(this.db.manager, MaintenanceWindow, tenantId, limit, after);
  }

  /**
   * Withdraws a window that has not started.
   *
   * @throws NotFound; MaintenanceWindowStarted (409) once it has started
   */
  async withdraw(tenantId: TenantId, id: string): Promise<MaintenanceWindow> {
    const window = await this.get(tenantId, id);
    this.context.recordBefore({
      startsAt: window.startsAt,
      endsAt: window.endsAt,
      reason: window.reason,
    });
    if (window.startsAt.getTime() <= this.clock.now().getTime()) {
      throw new MaintenanceWindowStarted(
        `The window started at ${window.startsAt.toISOString()}; it is part of the SLA record.`,
      );
    }
    await this.db.manager.query(
      `DELETE FROM maintenance_windows WHERE tenant_id = $1 AND id = $2`,
      [tenantId, id],
    );
    return window;
  }

  /** Windows overlapping [from, to), by start. Runs in the caller's scoped transaction. */
  async overlapping(tenantId: TenantId, from: Date, to: Date): Promise<MaintenanceWindow[]> {
    return this.db.manager
      .getRepository(MaintenanceWindow)
      .createQueryBuilder('w')
      .where('w.tenant_id = :tenantId AND w.starts_at < :to AND w.ends_at > :from', {
        tenantId,
        from,
        to,
      })
      .orderBy('w.starts_at', 'ASC')
      .getMany();
  }
}
