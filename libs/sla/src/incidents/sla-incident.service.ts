import { TenantDb, TenantId } from '@app/authz';
import { NotFound, Page, tenantRowsNewestFirst } from '@app/core';
import { Injectable } from '@nestjs/common';
import { SlaBurnRateAlert, SlaIncident } from './sla-incident.entity';

/** Reads incidents and burn-rate alerts (the worker writes them). Caller's transaction. */
@Injectable()
export class SlaIncidentService {
  constructor(private readonly db: TenantDb) {}

  /** Newest first. @throws ValidationFailed (cursor) */
  list(tenantId: TenantId, limit: number, after?: string): Promise<Page<SlaIncident>> {
    return tenantRowsNewestFirst(this.db.manager, SlaIncident, tenantId, limit, after);
  }

  /** @throws NotFound when the tenant has no such incident */
  async get(tenantId: TenantId, id: string): Promise<SlaIncident> {
    const row = await this.db.manager.getRepository(SlaIncident).findOneBy({ tenantId, id });
    if (!row) throw new NotFound('No such incident.');
    return row;
  }

  /** Burn-rate alert episodes, newest first. @throws ValidationFailed (cursor) */
  alerts(tenantId: TenantId, limit: number, after?: string): Promise<Page<SlaBurnRateAlert>> {
    return tenantRowsNewestFirst(this.db.manager, SlaBurnRateAlert, tenantId, limit, after);
  }
}
