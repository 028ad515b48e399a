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
import { CheckedEvent, UsageIngestionService } from '../usage/usage-ingestion.service';
import { QuotaCountersService } from './quota-counters.service';
import {
  CountedWindow,
  newReservationId,
  parseReservationId,
  quotaKeys,
  RATE_LIMIT_KEY,
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
  /**
   * Per-minute limits of the caller's key (an API key's `rateLimits`, looked up by the caller),
   * checked and counted in the same script run as the quota lines. Absent: no rate limit.
   */
  rateLimit?: RateLimitRequest;
}

/**
 * A key's per-minute limits and what this reservation counts against them. Windows are fixed
 * minutes (see {@link QuotaReservationService}); a limit that is absent or null is unlimited,
 * and with neither limit nothing is counted.
 */
export interface RateLimitRequest {
  /** Whose windows: an API key id, say; 1-64 of `A-Z a-z 0-9 _ -`. */
  key: string;
  /** Requests the key may make per window, ≥ 1; null or absent for no limit. */
  requestsPerMinute?: number | null;
  /** Tokens the key may use per window, ≥ 1; null or absent for no limit. */
  tokensPerMinute?: number | null;
  /** Requests this reservation counts, ≥ 0 (usually 1). */
  requests: number;
  /**
   * Tokens this reservation counts now (the estimate), ≥ 0. On commit the window is trued up to
   * the actual quantity, so it needs a token metric (`*_tokens`) when above 0.
   */
  tokens: number;
}

/** Which per-minute limit refused a reservation. */
export type RateLimitName = 'requests_per_minute' | 'tokens_per_minute';

/** A key's current rate-limit window as a reservation saw it (for `x-ratelimit-*` headers). */
export interface RateLimitStanding {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  /** Counted in the window: with this reservation when granted, before it when refused. */
  requests: number;
  tokens: number;
  /** Limit − counted, never below 0; null without that limit. */
  requestsRemaining: number | null;
  tokensRemaining: number | null;
  /** When the window ends and counting starts again from zero. */
  resetAt: Date;
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
  | 'quota_state_unavailable'
  /** The key's requests or tokens per minute are used up for the current window. */
  | 'rate_limited';

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
      /** The key's window, this reservation counted; absent without a rate limit (or untracked). */
      rateLimit?: RateLimitStanding;
    }
  | {
      granted: false;
      reason: RefusalReason;
      /** The line that refused (quota_exceeded, or the first hard line when unavailable). */
      line?: LineStanding;
      /**
       * When to retry: the refusing line's period end (null for levels), or for `rate_limited`
       * the window's end (null when the reservation alone exceeds the limit: it never fits).
       */
      retryAt?: Date | null;
      /** `rate_limited`: which limit refused. */
      limit?: RateLimitName;
      /** `rate_limited`: the window as it stood before this reservation. */
      rateLimit?: RateLimitStanding;
    };

interface QueuedReservation {
  request: ReserveRequest;
  resolve: (reservation: Reservation) => void;
}

/**
 * The most granted ids a replica remembers as its own until they are settled (about 10 MB); past
 * it the oldest are forgotten, and their settling checks their MAC like anyone's.
 */
const MAX_ISSUED = 20_000;

/** The most reservations one script run decides (bounds how long Redis is busy with one). */
const MAX_BATCH = 256;

/** The most items one {@link QuotaReservationService.commitMany} call takes. */
export const MAX_COMMIT_BATCH = 1000;

/** Length of a rate-limit window, ms: the limits are per minute. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/** Metrics counted in tokens: a reservation of one may true up its rate-limit window on commit. */
const TOKEN_METRICS: ReadonlySet<QuotaMetric> = new Set([
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'training_tokens',
]);

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

/** One commit of {@link QuotaReservationService.commitMany}: the arguments of `commit`. */
export interface CommitItem {
  reservationId: string;
  /** Whole units of the metric actually used, ≥ 0. */
  actualQuantity: number;
  details?: UsageDetails;
}

/**
 * The outcome of one item of {@link QuotaReservationService.commitMany}: committed, or the
 * error `commit` would have thrown for it (UnknownReservation, ReservationSettled,
 * TenantOffboarded, QuotaStateUnavailable, RangeError).
 */
export type CommitOutcome = CommitResult | { status: 'failed'; error: Error };

/** A parsed commit item of one tenant, with its place in the call. */
interface PendingCommit {
  index: number;
  member: string;
  ref: ReservationRef;
  actual: number;
  /** Its usage event as the ledger checked it (with `actual` as the quantity). */
  event: CheckedEvent;
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
 *
 * Rate limits ({@link ReserveRequest.rateLimit}) count requests and tokens per key in fixed
 * windows of a minute, keyed by the minute's start, in the same script run as the quota lines.
 * Fixed rather than sliding: a count per window is exact (the N+1th request of a minute is
 * refused, not "about" it), costs one small hash per key and minute whatever the traffic (a
 * sliding log costs an entry per request), gives an exact `retryAt` (the window's end), and names
 * the one window a commit trues up. The price is a burst at a window edge: up to twice a limit
 * within any 60 s straddling it. Windows are not rebuilt when Redis loses them, and while Redis
 * is away rate limits are not enforced (fail open, like soft lines): they protect capacity, not
 * contracts.
 */
@Injectable()
export class QuotaReservationService {
  private readonly logger = new Logger('QuotaReservations');
  private idKeyPromise?: Promise<Buffer>;
  /** Reservations waiting for this event-loop turn's batch, per tenant. */
  private readonly queued = new Map<TenantId, QueuedReservation[]>();
  /**
   * Ids this replica granted and has not settled, read: settling one skips the pattern and the
   * MAC check (the exact string was made here, so it is authentic), which a data plane that
   * commits every request would otherwise pay once per reservation.
   */
  private readonly issued = new Map<string, { member: string; ref: ReservationRef }>();
  /**
   * Length of a rate-limit window, ms ({@link RATE_LIMIT_WINDOW_MS}). A test seam: e2e tests
   * shorten it to see a window reset without waiting a minute; nothing else changes it.
   */
  rateLimitWindowMs = RATE_LIMIT_WINDOW_MS;

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
   * With a `rateLimit`, the key's current window must also take the reservation's requests and
   * tokens (checked after the quota lines); a granted reservation counts them, a refused one
   * (`rate_limited`, with the `limit` and `retryAt`) counts and holds nothing.
   *
   * @throws RangeError for a tenant id that is not a UUID, an unknown metric, a quantity that is
   * not a positive safe integer, a TTL outside 1 ms … 24 h, or a malformed `rateLimit` (a
   * caller's bug, not a refusal)
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
      const windowKeys: string[] = [];
      const windowIndex = new Map<string, number>();
      const windowArgs: string[] = [];
      const itemArgs: string[] = [];
      const windowMs = this.rateLimitWindowMs;
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
        const rate = limited(request.rateLimit);
        let window: { index: number; startMs: number; endMs: number } | undefined;
        if (rate) {
          const startMs = Math.floor(now / windowMs) * windowMs;
          const windowKey = quotaKeys.rateWindow(tenantId, rate.key, startMs);
          let index = windowIndex.get(windowKey);
          if (index === undefined) {
            index = windowKeys.push(windowKey);
            windowIndex.set(windowKey, index);
            // Kept a window past its end: a replica whose clock is a little behind still finds it.
            windowArgs.push(String(startMs + 2 * windowMs));
          }
          window = { index, startMs, endMs: startMs + windowMs };
        }
        const counted: CountedWindow | undefined =
          rate && window && TOKEN_METRICS.has(request.metric)
            ? { key: rate.key, windowStartMs: window.startMs, tokens: rate.tokens }
            : undefined;
        const { member, ref } = newReservationId(
          tenantId,
          request.metric,
          now,
          request.quantity,
          lines.map((line) => ({
            kind: line.kind,
            periodStartMs: line.periodStart?.getTime() ?? 0,
          })),
          request.eventId,
          counted,
        );
        itemArgs.push(
          String(group),
          member,
          String(request.quantity),
          String(now + this.ttlOf(request)),
          String(window?.index ?? 0),
          String(rate?.requestsPerMinute ?? 0),
          String(rate?.tokensPerMinute ?? 0),
          String(rate?.requests ?? 0),
          String(rate?.tokens ?? 0),
        );
        return { id: signedReservationId(member, key), member, ref, lines, rate, window };
      });
      const args = [
        plan.token,
        String(now),
        String(groupIndex.size),
        String(windowKeys.length),
        ...groupArgs,
        ...windowArgs,
        ...itemArgs,
      ];
      const reply = await this.redis.reserve(
        [
          quotaKeys.plan(tenantId),
          quotaKeys.expiries(tenantId),
          ...counters.map((c) => c.key),
          ...windowKeys,
        ],
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
        const { id, member, ref, lines, rate, window } = ids[k];
        const granted = Number(reply[at]) === 1;
        const refusedAt = Number(reply[at + 1]);
        const windowRequests = Number(reply[at + 2]);
        const windowTokens = Number(reply[at + 3]);
        const before = lines.map((_, l) => [
          BigInt(reply[at + 4 + 2 * l]),
          BigInt(reply[at + 5 + 2 * l]),
        ]);
        at += 4 + 2 * lines.length;
        if (!granted && refusedAt < 0 && rate && window) {
          const limit: RateLimitName =
            refusedAt === -1 ? 'requests_per_minute' : 'tokens_per_minute';
          // A reservation bigger than the limit itself never fits, however long it waits.
          const never =
            limit === 'requests_per_minute'
              ? rate.requests > (rate.requestsPerMinute ?? Infinity)
              : rate.tokens > (rate.tokensPerMinute ?? Infinity);
          return {
            granted: false,
            reason: 'rate_limited',
            limit,
            retryAt: never ? null : new Date(window.endMs),
            rateLimit: rateStanding(rate, windowRequests, windowTokens, window.endMs),
          };
        }
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
        this.remember(id, { member, ref });
        return {
          granted: true,
          reservationId: id,
          lines: standings,
          remaining: leastRemaining(standings),
          expiresAt: new Date(now + this.ttlOf(request)),
          untracked: false,
          ...(rate && window
            ? {
                rateLimit: rateStanding(
                  rate,
                  windowRequests + rate.requests,
                  windowTokens + rate.tokens,
                  window.endMs,
                ),
              }
            : {}),
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
   * usage happened; a later reservation is refused instead). A reservation that counted tokens
   * in a rate-limit window trues the window up to the actual quantity, if it still exists.
   * One item of {@link commitMany}.
   *
   * @throws UnknownReservation (404) for an id this service never issued
   * @throws ReservationSettled (409) when the reservation was released
   * @throws TenantOffboarded (409) when the tenant is offboarded
   * @throws QuotaStateUnavailable (503) when Redis or PostgreSQL cannot be reached; retry
   * @throws RangeError for an actual quantity that is not a safe integer ≥ 0, or details a usage
   * event cannot hold (checked before anything is settled)
   */
  async commit(
    reservationId: string,
    actualQuantity: number,
    details: UsageDetails = {},
  ): Promise<CommitResult> {
    const [outcome] = await this.commitMany([{ reservationId, actualQuantity, details }]);
    if (outcome.status === 'failed') throw outcome.error;
    return outcome;
  }

  /**
   * Commits many reservations at once, each exactly as {@link commit} would (idempotent, late
   * after expiry, released → ReservationSettled, unknown id → UnknownReservation), but per
   * tenant in one PostgreSQL transaction under the tenant's shared ledger lock, with one Redis
   * script run settling all its items and one ingestion call recording all their usage events.
   * For data planes that commit after every response.
   *
   * @param items at most {@link MAX_COMMIT_BATCH}; the same reservation twice is committed once
   * (the second answers like a retry)
   * @returns one outcome per item, in order: never throws for one bad item; a tenant whose
   * Redis or PostgreSQL step fails gets `QuotaStateUnavailable` on each of its items (retry them)
   * @throws RangeError when `items` is not an array of at most {@link MAX_COMMIT_BATCH}
   */
  async commitMany(items: readonly CommitItem[]): Promise<CommitOutcome[]> {
    if (!Array.isArray(items) || items.length > MAX_COMMIT_BATCH) {
      throw new RangeError(`items must be an array of at most ${MAX_COMMIT_BATCH} commits`);
    }
    const outcomes: CommitOutcome[] = new Array<CommitOutcome>(items.length);
    const failed = (index: number, error: Error) => {
      outcomes[index] = { status: 'failed', error };
    };
    let key: Buffer;
    try {
      key = await this.idKey();
    } catch (error) {
      const unavailable = this.unavailable(error);
      items.forEach((_, index) => failed(index, unavailable));
      return outcomes;
    }
    const byTenant = new Map<TenantId, PendingCommit[]>();
    // Details checked once each: a data plane commits several metrics of one request with the
    // same details object, and the rest of an event comes from the signed id (trusted).
    const checkedDetails = new Map<UsageDetails, CheckedEvent | { problem: { message: string } }>();
    items.forEach((item, index) => {
      const parsed =
        this.takeIssued(item?.reservationId) ?? parseReservationId(item?.reservationId, key);
      if (!parsed) return failed(index, new UnknownReservation('No such quota reservation.'));
      const { actualQuantity, details = NO_DETAILS } = item;
      if (!Number.isSafeInteger(actualQuantity) || actualQuantity < 0) {
        return failed(
          index,
          new RangeError('actualQuantity must be a whole number ≥ 0 within 2^53 − 1'),
        );
      }
      // Checked before settling: a hold turned into usage whose event the ledger then refused
      // would leave the counters above the ledger. Checked once: the ledger takes it as checked.
      let template = checkedDetails.get(details);
      if (!template) {
        const checked = this.ingestion.check(
          eventOf(parsed.ref, actualQuantity, details),
          new Date(Math.max(Date.now(), parsed.ref.occurredAtMs)),
        );
        template = 'problem' in checked ? checked : checked.event;
        checkedDetails.set(details, template);
      }
      if ('problem' in template) {
        return failed(index, new RangeError(`details: ${template.problem.message}`));
      }
      const { ref } = parsed;
      const event: CheckedEvent = {
        ...template,
        // What the check read from the id (lower-case hex, a metric, an instant it issued).
        id: ref.eventId,
        tenantId: ref.tenantId,
        metric: ref.metric,
        quantity: actualQuantity,
        occurredAt: new Date(ref.occurredAtMs),
      };
      const tenantItems = byTenant.get(ref.tenantId) ?? [];
      byTenant.set(ref.tenantId, tenantItems);
      tenantItems.push({ index, ...parsed, actual: actualQuantity, event });
    });
    // A few tenants at a time: each holds a PostgreSQL connection for its transaction.
    const tenants = [...byTenant];
    const lanes = Array.from({ length: Math.min(4, tenants.length) }, async () => {
      for (let next = tenants.shift(); next; next = tenants.shift()) {
        const [tenantId, pending] = next;
        try {
          const settled = await this.commitTenant(tenantId, pending);
          pending.forEach((item, k) => (outcomes[item.index] = settled[k]));
        } catch (error) {
          const unavailable = this.unavailable(error);
          pending.forEach((item) => failed(item.index, unavailable));
        }
      }
    });
    await Promise.all(lanes);
    return outcomes;
  }

  /** {@link commitMany} of one tenant's items, in one transaction. */
  private commitTenant(tenantId: TenantId, pending: PendingCommit[]): Promise<CommitOutcome[]> {
    // Like ingestion, under the tenant's shared ledger lock from the counter change until the
    // ledger rows commit: a rebuild (exclusive lock) then either sees a row or finds the counter
    // already raised, never neither — even when Redis loses its data in between.
    return this.db.run({ kind: 'tenant', tenantId }, async () => {
      await this.counters.lockForIngestion([tenantId]);
      const replies = await this.redis.commitMany(
        quotaKeys.expiries(tenantId),
        Date.now(),
        pending.map((item) => ({ member: item.member, actual: String(item.actual) })),
      );
      const settled = pending.map((item, k) => settledCommit(replies[k], item.actual));
      const recording = settled.flatMap((outcome, k) =>
        // A zero quantity records no event (nothing was used).
        'error' in outcome || outcome.result.quantity === 0 ? [] : [{ k, outcome }],
      );
      if (recording.length > 0) {
        const result = await this.ingestion.recordChecked(
          // The settled quantity: an earlier commit's, when this one answers like a retry.
          recording.map(({ k, outcome }) => ({
            ...pending[k].event,
            quantity: outcome.result.quantity,
          })),
          { countedInRedis: recording.map(({ outcome }) => outcome.countedInRedis) },
        );
        for (const rejected of result.rejected) {
          const { k } = recording[rejected.index];
          settled[k] = {
            error:
              rejected.code === 'tenant_offboarded'
                ? new TenantOffboarded('The tenant is offboarded; its usage is no longer recorded.')
                : this.unavailable(new Error(`usage of reservation refused: ${rejected.message}`)),
          };
        }
      }
      return settled.map((outcome) =>
        'error' in outcome ? { status: 'failed', error: outcome.error } : outcome.result,
      );
    });
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
    const parsed =
      this.takeIssued(reservationId) ?? parseReservationId(reservationId, await this.idKey());
    if (!parsed) throw new UnknownReservation('No such quota reservation.');
    return parsed;
  }

  private remember(id: string, parsed: { member: string; ref: ReservationRef }): void {
    if (this.issued.size >= MAX_ISSUED) {
      // The oldest first (a Map iterates in insertion order).
      this.issued.delete(this.issued.keys().next().value as string);
    }
    this.issued.set(id, parsed);
  }

  /**
   * The parsed form of an id this replica granted, forgotten as it is settled (a retry of a
   * failed settle parses the id again).
   */
  private takeIssued(id: unknown): { member: string; ref: ReservationRef } | undefined {
    if (typeof id !== 'string') return undefined;
    const parsed = this.issued.get(id);
    if (parsed) this.issued.delete(id);
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

/**
 * What a commit's Redis answer means (see {@link QuotaReservationService.commit}): the result,
 * and whether the counters already hold the usage (the hold became it), or the error.
 */
function settledCommit(
  reply: (string | number)[],
  actual: number,
): { result: CommitResult; countedInRedis: boolean } | { error: Error } {
  if (reply[0] === 'unknown') {
    // Lost with Redis' data (or settled over a day ago): the usage still happened.
    return { result: { status: 'committed', quantity: actual, late: true }, countedInRedis: false };
  }
  const [settledNow, status, earlier] = reply;
  if (status === 'released') {
    return {
      error: new ReservationSettled('The reservation was released; it cannot be committed.', {
        extensions: { status },
      }),
    };
  }
  if (status === 'late') {
    // Committed after it expired, by an earlier call: that call's quantity stands.
    return {
      result: { status: 'committed', quantity: Number(earlier), late: true },
      countedInRedis: false,
    };
  }
  if (status === 'expired') {
    // Its hold was given back (the script now marks it `late`): count the usage as if it had
    // come without a reservation.
    return { result: { status: 'committed', quantity: actual, late: true }, countedInRedis: false };
  }
  // Committed now, or by an earlier call (then with its quantity); the ledger write is
  // idempotent, so a commit whose first attempt died before PostgreSQL completes here.
  const quantity = Number(settledNow) === 1 ? actual : Number(earlier);
  return { result: { status: 'committed', quantity, late: false }, countedInRedis: true };
}

const NO_DETAILS: UsageDetails = Object.freeze({});

/** The usage event a reservation's commit records. */
function eventOf(ref: ReservationRef, quantity: number, details: UsageDetails) {
  return {
    id: ref.eventId,
    tenantId: ref.tenantId,
    metric: ref.metric,
    quantity,
    occurredAt: new Date(ref.occurredAtMs).toISOString(),
    ...Object.fromEntries(
      Object.entries(details ?? {}).filter(([, value]) => value !== null && value !== undefined),
    ),
  };
}

/** The request's rate limit when it has one to enforce (a limit set), else undefined. */
function limited(rate: RateLimitRequest | undefined): RateLimitRequest | undefined {
  if (!rate) return undefined;
  const set = (limit: number | null | undefined) => limit !== undefined && limit !== null;
  return set(rate.requestsPerMinute) || set(rate.tokensPerMinute) ? rate : undefined;
}

function rateStanding(
  rate: RateLimitRequest,
  requests: number,
  tokens: number,
  resetAtMs: number,
): RateLimitStanding {
  const left = (limit: number | null | undefined, counted: number) =>
    limit === undefined || limit === null ? null : Math.max(limit - counted, 0);
  return {
    requestsPerMinute: rate.requestsPerMinute ?? null,
    tokensPerMinute: rate.tokensPerMinute ?? null,
    requests,
    tokens,
    requestsRemaining: left(rate.requestsPerMinute, requests),
    tokensRemaining: left(rate.tokensPerMinute, tokens),
    resetAt: new Date(resetAtMs),
  };
}

/** What is wrong with a request's rate limit (a caller's bug), or undefined. */
function rateLimitProblem(request: ReserveRequest): string | undefined {
  const rate = request.rateLimit as unknown;
  if (rate === undefined) return undefined;
  if (!rate || typeof rate !== 'object') return 'rateLimit must be an object';
  const r = rate as Record<string, unknown>;
  if (typeof r.key !== 'string' || !RATE_LIMIT_KEY.test(r.key)) {
    return 'rateLimit.key must be 1-64 letters, digits, _ or -';
  }
  for (const name of ['requestsPerMinute', 'tokensPerMinute']) {
    const limit = r[name];
    if (
      limit !== undefined &&
      limit !== null &&
      !(Number.isSafeInteger(limit) && Number(limit) >= 1)
    ) {
      return `rateLimit.${name} must be a whole number ≥ 1, or null for no limit`;
    }
  }
  for (const name of ['requests', 'tokens']) {
    if (!Number.isSafeInteger(r[name]) || Number(r[name]) < 0) {
      return `rateLimit.${name} must be a whole number ≥ 0 within 2^53 − 1`;
    }
  }
  if (Number(r.tokens) > 0 && !TOKEN_METRICS.has(request.metric)) {
    // The commit's actual quantity is what the window is trued up to: it must be tokens.
    return `rateLimit.tokens needs a token metric (${[...TOKEN_METRICS].join(', ')})`;
  }
  return undefined;
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
  return rateLimitProblem(request);
}
