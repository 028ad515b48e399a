import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { IncidentCause } from '../sla.constants';

/** One entry of an incident's timeline. */
export interface IncidentTimelineEntry {
  /** The minute it happened (its start), ISO 8601. */
  at: string;
  /** `opened`, `endpoint_affected`, `cause_added`, `recovering` (first good minute), `closed`. */
  type: 'opened' | 'endpoint_affected' | 'cause_added' | 'recovering' | 'closed';
  endpointId?: string;
  cause?: IncidentCause;
  detail?: string;
}

/**
 * An SLA incident: opened at the tenant's first bad (or slow) minute, closed after
 * SLA_INCIDENT_CLOSE_GOOD_MINUTES good ones. At most one is open per tenant; later endpoints and
 * causes join it.
 */
@Entity('sla_incidents')
export class SlaIncident {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  status!: 'open' | 'closed';

  /** Start of the first affected minute. */
  @Column({ type: 'timestamptz' })
  startedAt!: Date;

  /** Start of the last affected minute. */
  @Column({ type: 'timestamptz' })
  lastBadMinute!: Date;

  /** End of the last affected minute, once closed. */
  @Column({ type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  /** End of the good minute that closed it. */
  @Column({ type: 'timestamptz', nullable: true })
  closedAt!: Date | null;

  @Column({ type: 'text', array: true })
  causes!: IncidentCause[];

  @Column({ type: 'uuid', array: true })
  endpointIds!: string[];

  /** Affected minutes (a minute with several affected endpoints counts once). */
  @Column({ type: 'integer' })
  badMinutes!: number;

  @Column({ type: 'jsonb' })
  timeline!: IncidentTimelineEntry[];

  @Column({ type: 'timestamptz' })
  createdAt!: Date;
}

/** An episode of a burn-rate alert. */
@Entity('sla_burn_rate_alerts')
export class SlaBurnRateAlert {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  severity!: 'fast' | 'slow';

  /** The evaluated minute edge at which both windows first burned too fast. */
  @Column({ type: 'timestamptz' })
  startedAt!: Date;

  /** When the condition stopped holding (the episode's end); null while it lasts. */
  @Column({ type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  /** `{longWindowMinutes, shortWindowMinutes, factor, longBurnRate, shortBurnRate}` when fired. */
  @Column({ type: 'jsonb' })
  burnRates!: Record<string, number>;

  @Column({ type: 'timestamptz' })
  createdAt!: Date;
}
