import { isUuid, TenantDb, TenantId, TenantOffboarded } from '@app/authz';
import { AppConfig, DomainError, InjectConfig } from '@app/core';
import { QUOTA_METRICS, QuotaEnforcement, QuotaMetric, QuotaPeriodKind } from '@app/tenancy';
import { SecretBox } from '@app/webhooks';
import { Injectable, Logger } from '@nestjs/common';
import {
  QuotaStateUnavailable,
  ReservationSettled,
  UnknownReservation,
} from '../metering-problems';
import { UsageIngestionService } from '../usage/usage-ingestion.service';
import { QuotaCountersService } from './quota-counters.service';
import {
  newReservationId,
  parseReservationId,
  quotaKeys,
  ReservationRef,
  signedReservationId,
} from './quota-keys';
import { PlanLine, QuotaPlan, QuotaPlanService } from './quota-plan.service';
import { QuotaRedis } from './quota-redis';

/** What a reservation is for. */
export interface ReserveRequest {
  tenantId: TenantId;
  metric: QuotaMetric;
  /** Whole units of the metric (tokens, requests, …), ≥ 1. */
  quantity: number;
  /** How long it holds its units unless committed or released, ms; QUOTA_RESERVATION_TTL_MS. */
  ttlMs?: number;
  /**
   * The id (UUID) its usage event gets on commit; random unless given. A caller that may have
   * to record the usage itself after a crash (ingestion dedupes by id) chooses it up front.
   */
  eventId?: string;
}

/** What the usage event of a commit records besides its quantity (API.md usage events). */
export interface UsageDetails {
  endpointId?: string | null;
  apiKeyId?: string | null;
  fineTuningJobId?: string | null;
  attributes?: Record<string, unknown>;
}

/** A quota line as a reservation reports it. */
export interface LineStanding {
  metric: QuotaMetric;
  period: QuotaPeriodKind;
  enforcement: QuotaEnforcement;
  limit: number;
  /** Committed usage in the current period (the ledger's, plus commits since). */
  used: bigint;
  /** Outstanding reservations, this one included when granted. */
  reserved: bigint;
  /** limit − used − reserved, never below 0. */
  remaining: bigint;
  /** Units of this grant above a soft line's limit (0 on hard lines). */
  overage: bigint;
  /** Null for level lines (dedicated endpoints, concurrent jobs), which have no period. */
  periodStart: Date | null;
  periodEnd: Date | null;
}

export type RefusalReason =
  /** A hard line cannot take the quantity. */
  | 'quota_exceeded'
  /** No contract is in force for the tenant now. */
  | 'no_contract_in_force'
  /** Counters cannot be read or rebuilt (Redis or PostgreSQL away): hard lines fail closed. */
  | 'quota_state_unavailable';

export type Reservation =
  | {
      granted: true;
      reservationId: string;
      /** Every line covering the metric; empty when none does (unlimited). */
      lines: LineStanding[];
      /** The least remaining over hard lines; null when no hard line covers the metric. */
      remaining: bigint | null;
      expiresAt: Date;
      /**
       * Granted without Redis (it was unreachable and only soft lines cover the metric): the
       * usage is still recorded on commit, but nothing was held against the limits.
       */
      untracked: boolean;
    }
  | {
      granted: false;
      reason: RefusalReason;
      /** The line that refused (quota_exceeded, or the first hard line when unavailable). */
      line?: LineStanding;
      /** When the refusing line's period ends: when to retry (null for levels). */
      retryAt?: Date | null;
    };

interface QueuedReservation {
  request: ReserveRequest;
  resolve: (reservation: Reservation) => void;
}

/** The most reservations one script run decides (bounds how long Redis is busy with one). */
const MAX_BATCH = 256;

export type SettledStatus = 'committed' | 'released' | 'expired';

export interface CommitResult {
  status: 'committed';
  /** The actual quantity recorded in the ledger for this reservation. */
  quantity: number;
  /**
   * `late`: the reservation had expired (or Redis had lost it) before the commit; its usage
   * counts all the same, but its units were no longer held.
   */
  late: boolean;
}

/**
 * Atomic quota enforcement (the metering issue; DESIGN.md "Quota reservations"):
 * {@link reserve} checks and holds units on every quota line covering a metric in one Redis
 * script (hard lines refuse, soft lines grant and report overage), {@link commit} turns the hold
 * into used units and records the usage event in the ledger (idempotent by the reservation's
 * event id), {@link release} gives the units back, and holds expire after their TTL.
 *
 * Redis is a cache of the ledger: counters missing from it are rebuilt from PostgreSQL before a
 * reservation is decided. When that cannot be done (or Redis is away), hard lines refuse with
 * `quota_state_unavailable` and soft-only metrics are granted untracked (fail open).
 * Reservations held when Redis loses its data are forgotten: their commits still record usage,
 * but their units were no longer held, so at most the units in flight at that moment can exceed
 * a hard limit once.
 */
@Injectable()
export class QuotaReservationService {
  private readonly logger = new Logger('QuotaReservations');
  private idKeyPromise?: Promise<Buffer>;
  /** Reservations waiting for this event-loop turn's batch, per tenant. */
  private readonly queued = new Map<TenantId, QueuedReservation[]>();

  constructor(
    private readonly plans: QuotaPlanService,
    private readonly counters: QuotaCountersService,
    private readonly redis: QuotaRedis,
    private readonly ingestion: UsageIngestionService,
    private readonly db: TenantDb,
    private readonly secrets: SecretBox,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Checks and holds `quantity` units of `metric` against the tenant's quota lines in force now.
   * Concurrent calls for one tenant travel together: those made in the same event-loop turn go
   * to Redis as one batch, decided in order by one script run (each exactly as if alone), which
   * is what lets one replica reserve tens of thousands of times a second.
   *
   * @throws RangeError for a tenant id that is not a UUID, an unknown metric, a quantity that is
   * not a positive safe integer, or a TTL outside 1 ms … 24 h (a caller's bug, not a refusal)
   */
  reserve(input: ReserveRequest): Promise<Reservation> {
    const problem = requestProblem(input);
    if (problem) return Promise.reject(new RangeError(problem));
    // One spelling per tenant: an upper-case id must not get counters of its own.
    const request = { ...input, tenantId: input.tenantId.toLowerCase() as TenantId };
    return new Promise((resolve) => {
      let queue = this.queued.get(request.tenantId);
      if (!queue) {
        queue = [];
        this.queued.set(request.tenantId, queue);
        setImmediate(() => {
          this.queued.delete(request.tenantId);
          void this.decide(request.tenantId, queue!);
        });
      }
      queue.push({ request, resolve });
    });
  }

  /** Decides a batch of one tenant's reservations (in chunks of {@link MAX_BATCH}). */
  private async decide(tenantId: TenantId, items: QueuedReservation[]): Promise<void> {
    for (let i = 0; i < items.length; i += MAX_BATCH) {
      const chunk = items.slice(i, i + MAX_BATCH);
      try {
        const results = await this.decideChunk(
          tenantId,
          chunk.map((item) => item.request),
        );
        chunk.forEach((item, k) => item.resolve(results[k]));
      } catch (error) {
        const plan = this.plans.lastKnown(tenantId);
        const key = await this.idKey().catch(() => undefined);
        chunk.forEach((item) =>
          item.resolve(
            this.degraded(plan, item.request, Date.now(), this.ttlOf(item.request), error, key),
          ),
        );
      }
    }
  }

  private async decideChunk(
    tenantId: TenantId,
    requests: ReserveRequest[],
  ): Promise<Reservation[]> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const now = Date.now();
      const plan = await this.plans.get(tenantId, now);
      if (!plan.contract) {
        // No script runs to compare tokens, so compare here: a contract activated since the
        // plan was read must apply at once.
        if ((await this.redis.client.get(quotaKeys.plan(tenantId))) !== plan.token) {
          this.plans.invalidate(tenantId, plan.token);
          continue;
        }
        return requests.map(() => ({ granted: false, reason: 'no_contract_in_force' }));
      }
      const key = await this.idKey();
      const counters: PlanLine[] = [];
      const counterIndex = new Map<string, number>();
      const groupIndex = new Map<QuotaMetric, number>();
      const groupArgs: string[] = [];
      const itemArgs: string[] = [];
      const ids = requests.map((request) => {
        const lines = plan.byMetric.get(request.metric) ?? [];
        let group = groupIndex.get(request.metric);
        if (group === undefined) {
          group = groupIndex.size + 1;
          groupIndex.set(request.metric, group);
          groupArgs.push(String(lines.length));
          for (const line of lines) {
            let index = counterIndex.get(line.key);
            if (index === undefined) {
              index = counters.push(line);
              counterIndex.set(line.key, index);
            }
            groupArgs.push(String(index), String(line.limit), line.enforcement);
          }
        }
        const { member } = newReservationId(
          tenantId,
          request.metric,
          now,
          request.quantity,
          lines.map((line) => ({
            kind: line.kind,
            periodStartMs: line.periodStart?.getTime() ?? 0,
          })),
          request.eventId,
        );
        itemArgs.push(
          String(group),
          member,
          String(request.quantity),
          String(now + this.ttlOf(request)),
        );
        return { id: signedReservationId(member, key), lines };
      });
      const args = [plan.token, String(now), String(groupIndex.size), ...groupArgs, ...itemArgs];
      const reply = await this.redis.reserve(
        [quotaKeys.plan(tenantId), quotaKeys.expiries(tenantId), ...counters.map((c) => c.key)],
        args,
      );
      if (reply[0] === 'stale') {
        this.plans.invalidate(tenantId, plan.token);
        continue;
      }
      if (reply[0] === 'load') {
        await this.counters.rebuild(
          plan,
          reply.slice(1).map((c) => counters[Number(c) - 1]),
        );
        continue;
      }
      let at = 1;
      return requests.map((request, k) => {
        const { id, lines } = ids[k];
        const granted = Number(reply[at]) === 1;
        const refusedAt = Number(reply[at + 1]);
        const before = lines.map((_, l) => [
          BigInt(reply[at + 2 + 2 * l]),
          BigInt(reply[at + 3 + 2 * l]),
        ]);
        at += 2 + 2 * lines.length;
        if (!granted) {
          const line = lines[refusedAt - 1];
          return {
            granted: false,
            reason: 'quota_exceeded',
            line: standing(line, before[refusedAt - 1][0], before[refusedAt - 1][1], 0n),
            retryAt: line.periodEnd,
          };
        }
        const standings = lines.map((line, l) =>
          standing(line, before[l][0], before[l][1], BigInt(request.quantity)),
        );
        return {
          granted: true,
          reservationId: id,
          lines: standings,
          remaining: leastRemaining(standings),
          expiresAt: new Date(now + this.ttlOf(request)),
          untracked: false,
        };
      });
    }
    throw new Error('the quota plan kept changing under the reservation');
  }

  private ttlOf(request: ReserveRequest): number {
    return request.ttlMs ?? this.config.QUOTA_RESERVATION_TTL_MS;
  }

  /**
   * Records `actualQuantity` units as used for a reservation: the hold becomes usage in the
   * counters and a usage event (id = the reservation's event id) in the ledger. Idempotent: a
   * retried commit records nothing twice. The actual quantity may exceed the reserved one (the
   * usage happened; a later reservation is refused instead).
   *
   * @throws UnknownReservation (404) for an id this service never issued
   * @throws ReservationSettled (409) when the reservation was released
   * @throws QuotaStateUnavailable (503) when Redis or PostgreSQL cannot be reached; retry
   * @throws RangeError for an actual quantity that is not a safe integer ≥ 0
   */
  async commit(
    reservationId: string,
    actualQuantity: number,
    details: UsageDetails = {},
  ): Promise<CommitResult> {
    const { member, ref } = await this.parse(reservationId);
    if (!Number.isSafeInteger(actualQuantity) || actualQuantity < 0) {
      throw new RangeError('actualQuantity must be a whole number ≥ 0 within 2^53 − 1');
    }
    // Like ingestion, under the tenant's shared ledger lock from the counter change until the
    // ledger row commits: a rebuild (exclusive lock) then either sees the row or finds the
    // counter already raised, never neither — even when Redis loses its data in between.
    try {
      return await this.db.run({ kind: 'tenant', tenantId: ref.tenantId }, async () => {
        await this.counters.lockForIngestion([ref.tenantId]);
        const reply = await this.redis.settle(quotaKeys.expiries(ref.tenantId), [
          String(actualQuantity),
          'committed',
          member,
          String(Date.now()),
        ]);
        if (reply[0] === 'unknown') {
          // Lost with Redis' data (or settled over a day ago): the usage still happened.
          await this.recordUsage(ref, actualQuantity, details, false);
          return { status: 'committed', quantity: actualQuantity, late: true };
        }
        const [settledNow, status, actual] = reply;
        if (status === 'released') {
          throw new ReservationSettled('The reservation was released; it cannot be committed.', {
            extensions: { status },
          });
        }
        if (status === 'late') {
          // Committed after it expired, by an earlier call: that call's quantity stands.
          await this.recordUsage(ref, Number(actual), details, false);
          return { status: 'committed', quantity: Number(actual), late: true };
        }
        if (status === 'expired') {
          // Its hold was given back (the script now marks it `late`): count the usage as if it
          // had come without a reservation.
          await this.recordUsage(ref, actualQuantity, details, false);
          return { status: 'committed', quantity: actualQuantity, late: true };
        }
        // Committed now, or by an earlier call (then with its quantity); the ledger write is
        // idempotent, so a commit whose first attempt died before PostgreSQL completes here.
        const recorded = Number(settledNow) === 1 ? actualQuantity : Number(actual);
        await this.recordUsage(ref, recorded, details, true);
        return { status: 'committed', quantity: recorded, late: false };
      });
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /**
   * Gives a reservation's held units back. Idempotent; releasing an expired or unknown
   * reservation does nothing.
   *
   * @returns the reservation's status afterwards (`unknown` when Redis holds no such reservation)
   * @throws UnknownReservation (404) for an id this service never issued
   * @throws ReservationSettled (409) when it was committed
   * @throws QuotaStateUnavailable (503) when Redis cannot be reached
   */
  async release(reservationId: string): Promise<SettledStatus | 'unknown'> {
    const { member, ref } = await this.parse(reservationId);
    let reply: (string | number)[];
    try {
      reply = await this.redis.settle(quotaKeys.expiries(ref.tenantId), [
        '',
        'released',
        member,
        String(Date.now()),
      ]);
    } catch (error) {
      throw this.unavailable(error);
    }
    if (reply[0] === 'unknown') return 'unknown';
    const status = reply[1] as SettledStatus | 'late';
    if (status === 'committed' || status === 'late') {
      throw new ReservationSettled('The reservation was committed; it cannot be released.', {
        extensions: { status },
      });
    }
    return status;
  }

  private async parse(reservationId: string): Promise<{ member: string; ref: ReservationRef }> {
    const parsed = parseReservationId(reservationId, await this.idKey());
    if (!parsed) throw new UnknownReservation('No such quota reservation.');
    return parsed;
  }

  /** The key reservation ids are signed with (derived from the secrets key, same on every replica). */
  private idKey(): Promise<Buffer> {
    this.idKeyPromise ??= this.secrets.derivedKey('quota-reservation-id').catch((error: Error) => {
      this.idKeyPromise = undefined;
      throw error;
    });
    return this.idKeyPromise;
  }

  /** Writes a reservation's usage in the current transaction (see {@link commit}). */
  private async recordUsage(
    ref: ReservationRef,
    quantity: number,
    details: UsageDetails,
    countedInRedis: boolean,
  ): Promise<void> {
    if (quantity === 0) return;
    const result = await this.ingestion.record(
      [
        {
          id: ref.eventId,
          tenantId: ref.tenantId,
          metric: ref.metric,
          quantity,
          occurredAt: new Date(ref.occurredAtMs).toISOString(),
          ...Object.fromEntries(
            Object.entries(details).filter(([, value]) => value !== null && value !== undefined),
          ),
        },
      ],
      // A reservation's usage occurred when it was made, possibly long before the commit.
      { countedInRedis, now: new Date(Math.max(Date.now(), ref.occurredAtMs)) },
    );
    if (result.rejected.length > 0) {
      const [rejected] = result.rejected;
      if (rejected.code === 'tenant_offboarded') {
        throw new TenantOffboarded('The tenant is offboarded; its usage is no longer recorded.');
      }
      throw new Error(`usage of reservation refused: ${rejected.message}`);
    }
  }

  /**
   * Decides without counters: hard lines fail closed; metrics with only soft lines, or none, fail
   * open (documented in the README). Without any plan the lines are unknown, so the reservation
   * is refused.
   */
  private degraded(
    plan: QuotaPlan | undefined,
    request: ReserveRequest,
    now: number,
    ttlMs: number,
    error: unknown,
    key: Buffer | undefined,
  ): Reservation {
    if (error) {
      this.logger.warn(
        `quota counters unavailable for ${request.tenantId}: ${(error as Error).message}`,
      );
    }
    if (plan && !plan.contract) return { granted: false, reason: 'no_contract_in_force' };
    if (!plan) return { granted: false, reason: 'quota_state_unavailable' };
    const hard = plan.byMetric.get(request.metric)?.find((line) => line.enforcement === 'hard');
    if (hard) {
      return {
        granted: false,
        reason: 'quota_state_unavailable',
        line: standing(hard, 0n, 0n, 0n),
        retryAt: null,
      };
    }
    if (!key) return { granted: false, reason: 'quota_state_unavailable' };
    const { member } = newReservationId(
      request.tenantId,
      request.metric,
      now,
      request.quantity,
      [],
      request.eventId,
    );
    return {
      granted: true,
      reservationId: signedReservationId(member, key),
      lines: [],
      remaining: null,
      expiresAt: new Date(now + ttlMs),
      untracked: true,
    };
  }

  private unavailable(error: unknown): Error {
    // Our own problems (unknown, settled, offboarded, …) are answers, not outages.
    if (error instanceof DomainError) return error;
    this.logger.warn(`quota state unavailable: ${(error as Error)?.message}`);
    return new QuotaStateUnavailable('Usage cannot be counted right now; retry.');
  }
}

function standing(line: PlanLine, used: bigint, reserved: bigint, granted: bigint): LineStanding {
  const limit = BigInt(line.limit);
  const held = reserved + granted;
  const left = limit - used - held;
  const before = limit - used - reserved;
  return {
    metric: line.metric,
    period: line.period,
    enforcement: line.enforcement,
    limit: line.limit,
    used,
    reserved: held,
    remaining: left > 0n ? left : 0n,
    overage:
      line.enforcement === 'soft' && granted > 0n && left < 0n
        ? before > 0n
          ? -left
          : granted
        : 0n,
    periodStart: line.periodStart,
    periodEnd: line.periodEnd,
  };
}

function leastRemaining(lines: LineStanding[]): bigint | null {
  const hard = lines.filter((line) => line.enforcement === 'hard');
  if (hard.length === 0) return null;
  return hard.reduce(
    (least, line) => (line.remaining < least ? line.remaining : least),
    hard[0].remaining,
  );
}

/** The longest a reservation may hold its units, ms (a day). */
export const MAX_RESERVATION_TTL_MS = 24 * 3600 * 1000;

/** What is wrong with a reservation request (a caller's bug), or undefined. */
function requestProblem(request: ReserveRequest): string | undefined {
  if (!isUuid(request.tenantId)) return 'tenantId must be a UUID';
  if (!QUOTA_METRICS.includes(request.metric)) return `unknown metric ${String(request.metric)}`;
  if (!Number.isSafeInteger(request.quantity) || request.quantity < 1) {
    return 'quantity must be a positive whole number within 2^53 − 1';
  }
  const ttl = request.ttlMs;
  if (
    ttl !== undefined &&
    (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_RESERVATION_TTL_MS)
  ) {
    return `ttlMs must be a whole number of milliseconds from 1 to ${MAX_RESERVATION_TTL_MS}`;
  }
  return undefined;
}
