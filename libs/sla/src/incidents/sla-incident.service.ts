import { TenantDb, TenantId } from '@app/authz';
import { NotFound, Page, tenantRowsNewestFirst } from '@app/core';
import { Injectable } from '@nestjs/common';
import type { IncidentCause } from '../sla.constants';
import { SlaBurnRateAlert, SlaIncident } from './sla-incident.entity';

/** An incident as reports show it. */
export interface ReportIncident {
  id: string;
  status: 'open' | 'closed';
  startedAt: string;
  /** End of its last affected minute; null while open. */
  endedAt: string | null;
  /** The first cause seen. */
  cause: IncidentCause;
  causes: IncidentCause[];
  endpointIds: string[];
  badMinutes: number;
}

/** The summary of an incident that reports carry. */
export function incidentSummary(incident: SlaIncident): ReportIncident {
  return {
    id: incident.id,
    status: incident.status,
    startedAt: incident.startedAt.toISOString(),
    endedAt: incident.endedAt?.toISOString() ?? null,
    cause: incident.causes[0],
    causes: incident.causes,
    endpointIds: incident.endpointIds,
    badMinutes: incident.badMinutes,
  };
}

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

  /** Incidents that overlap [from, to), oldest first. */
  overlapping(tenantId: TenantId, from: Date, to: Date): Promise<SlaIncident[]> {
    return this.db.manager
      .getRepository(SlaIncident)
      .createQueryBuilder('i')
      .where('i.tenant_id = :tenantId AND i.started_at < :to', { tenantId, to })
      .andWhere('(i.ended_at IS NULL OR i.ended_at > :from)', { from })
      .orderBy('i.started_at', 'ASC')
      .addOrderBy('i.id', 'ASC')
      .getMany();
  }

  /** Burn-rate alert episodes, newest first. @throws ValidationFailed (cursor) */
  alerts(tenantId: TenantId, limit: number, after?: string): Promise<Page<SlaBurnRateAlert>> {
    return tenantRowsNewestFirst(this.db.manager, SlaBurnRateAlert, tenantId, limit, after);
  }
}
