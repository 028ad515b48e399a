import { TenantId } from '@app/authz';
import { AppConfig, InjectConfig, MetricsService } from '@app/core';
import { QuotaReservationService, Reservation } from '@app/metering';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { Counter } from 'prom-client';
import type { InferenceMetric } from './gateway-quota';

/** A granted reservation waiting in a pool for a request. */
interface PooledHold {
  reservationId: string;
  /** When it stops being handed out, ms since the epoch: its age limit or its period's end. */
  usableUntil: number;
}

/** The pooled holds of one tenant, metric and size. */
interface Pool {
  tenantId: string;
  metric: InferenceMetric;
  /** Units each hold reserves. */
  size: number;
  holds: PooledHold[];
  /** A refill is scheduled for the next turn of the event loop. */
  refillDue?: boolean;
  /** The refill in flight (resolves to how many of its holds a drain or shutdown gave back). */
  refilling?: Promise<number>;
  /** Bumped by each drain: a refill started before it gives its holds back instead of parking. */
  generation: number;
  /** No refills before this instant (ms): a refill was refused, or the pool was drained. */
  pausedUntil: number;
  /** Holds asked for in the current and the previous age window (the demand refills follow). */
  takes: number;
  previousTakes: number;
}

/**
 * Reservations made ahead of the requests that will use them, so that a request of a busy tenant
 * is decided in memory instead of waiting for a Redis round trip (issue 9, the added-latency
 * target). Each pooled hold is an ordinary reservation (`QuotaReservationService.reserve`):
 * it holds its units against every quota line like a request's own, so a hard limit is never
 * exceeded; a request takes one whose size covers its estimate and commits or releases it as
 * its own. Holds are sized in powers of two (tokens) or 1 (requests), so a request holds at most
 * twice its estimate while it runs.
 *
 * Only tenants with at least two requests of a size within the last two windows of
 * GATEWAY_QUOTA_POOL_MAX_AGE_MS get a pool; it is refilled in the background (one batched Redis
 * script) up to that demand, at most GATEWAY_QUOTA_POOL_SIZE holds. A hold is handed out within
 * GATEWAY_QUOTA_POOL_MAX_AGE_MS of being made and never after its quota period ends, so its
 * usage event's time (the reservation's) is at most that much before the request; older ones are
 * released. A refused refill pauses the pool for the same time: near a limit requests reserve
 * exactly what they need, and the gateway gives a tenant's pooled units back before it refuses
 * one ({@link drain}). Released at shutdown; a killed gateway's pooled holds expire after
 * QUOTA_RESERVATION_TTL_MS like its requests' holds.
 */
@Injectable()
export class QuotaHoldPool implements OnModuleDestroy {
  private readonly logger = new Logger('QuotaHoldPool');
  private readonly pools = new Map<string, Pool>();
  private readonly timer: NodeJS.Timeout;
  private readonly takes: Counter<'outcome'>;
  private closed = false;

  constructor(
    private readonly reservations: QuotaReservationService,
    metrics: MetricsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.takes = new Counter({
      name: 'gateway_quota_pool_takes_total',
      help: 'Quota holds asked of the pool: served from it (hit) or reserved directly (miss).',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    });
    this.timer = setInterval(() => this.sweep(), this.config.GATEWAY_QUOTA_POOL_MAX_AGE_MS);
    this.timer.unref();
  }

  /**
   * A pooled hold of at least `quantity` units of the tenant's metric, made within the age
   * limit; undefined when there is none (reserve directly). Tops the pool up in the background.
   *
   * @returns a reservation id, to be committed or released like one the caller made
   */
  take(tenantId: string, metric: InferenceMetric, quantity: number): string | undefined {
    if (this.config.GATEWAY_QUOTA_POOL_SIZE === 0 || this.closed) return undefined;
    const size = sizeFor(quantity);
    const key = `${tenantId}|${metric}|${size}`;
    const pool = this.pools.get(key) ?? this.open(key, tenantId, metric, size);
    pool.takes += 1;
    const now = Date.now();
    let hold: PooledHold | undefined;
    while ((hold = pool.holds.shift()) && hold.usableUntil <= now) this.release(hold);
    // A turn of the event loop later: the refill's work (its ids signed, its script's arguments)
    // is done while the replica answers, not before the request is forwarded; and its script
    // reaches Redis after the caller's own reservations of this turn, so a refill never takes
    // the room a request asks for.
    if (!pool.refillDue) {
      pool.refillDue = true;
      setImmediate(() => this.refill(pool));
    }
    this.takes.inc({ outcome: hold ? 'hit' : 'miss' });
    return hold?.reservationId;
  }

  /**
   * Releases this replica's pooled holds of the tenant's metric and pauses their refills (a
   * request is about to be refused: the parked units may let it in). A refill in flight gives
   * what it is granted back instead of parking it, and is waited for: otherwise its holds, decided
   * after the refusal or parked after the drain, would take the room the retry needs.
   *
   * @returns how many were released (those of refills in flight included)
   */
  async drain(tenantId: string, metric: InferenceMetric): Promise<number> {
    const pausedUntil = Date.now() + this.config.GATEWAY_QUOTA_POOL_MAX_AGE_MS;
    const holds: PooledHold[] = [];
    const refills: Promise<number>[] = [];
    for (const pool of this.pools.values()) {
      if (pool.tenantId !== tenantId || pool.metric !== metric) continue;
      holds.push(...pool.holds.splice(0));
      pool.pausedUntil = pausedUntil;
      pool.generation += 1;
      // A refill in flight would park its holds after the drain (and may already hold the room
      // the request asks for): wait for it to give them back.
      if (pool.refilling) refills.push(pool.refilling);
    }
    const [, givenBack] = await Promise.all([
      Promise.all(holds.map((hold) => this.release(hold))),
      Promise.all(refills),
    ]);
    return holds.length + givenBack.reduce((sum, n) => sum + n, 0);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const pools = [...this.pools.values()];
    const holds = pools.flatMap((pool) => pool.holds.splice(0));
    // Refills in flight give their holds back once decided (closed): waited for, so that their
    // releases reach Redis before its connection closes.
    await Promise.all([
      ...holds.map((hold) => this.release(hold)),
      ...pools.map((pool) => pool.refilling),
    ]);
  }

  private open(key: string, tenantId: string, metric: InferenceMetric, size: number): Pool {
    const pool: Pool = {
      tenantId,
      metric,
      size,
      holds: [],
      generation: 0,
      pausedUntil: 0,
      takes: 0,
      previousTakes: 0,
    };
    this.pools.set(key, pool);
    return pool;
  }

  /** Reserves up to the pool's recent demand, in one batch, outside any request's trace. */
  private refill(pool: Pool): void {
    pool.refillDue = false;
    if (this.closed) return;
    const now = Date.now();
    const demand = Math.min(pool.takes + pool.previousTakes, this.config.GATEWAY_QUOTA_POOL_SIZE);
    const wanted = demand - pool.holds.length;
    if (pool.refilling || now < pool.pausedUntil || demand < 2 || pool.holds.length > demand / 2) {
      return;
    }
    const made = now;
    const generation = pool.generation;
    const refilling = context
      .with(ROOT_CONTEXT, () =>
        Promise.all(
          Array.from({ length: wanted }, () =>
            this.reservations.reserve({
              tenantId: pool.tenantId as TenantId,
              metric: pool.metric,
              quantity: pool.size,
            }),
          ),
        ),
      )
      .then((decided) => this.stock(pool, decided, made, generation))
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'refilling a quota hold pool failed');
        pool.pausedUntil = Date.now() + this.config.GATEWAY_QUOTA_POOL_MAX_AGE_MS;
        return 0;
      })
      .finally(() => (pool.refilling = undefined));
    pool.refilling = refilling;
  }

  /**
   * Parks a refill's granted holds, or gives them back when the pool was drained or closed since
   * it started.
   *
   * @returns how many were given back because of a drain or shutdown
   */
  private async stock(
    pool: Pool,
    decided: Reservation[],
    made: number,
    generation: number,
  ): Promise<number> {
    const maxAge = this.config.GATEWAY_QUOTA_POOL_MAX_AGE_MS;
    const releasing: Promise<void>[] = [];
    let givenBack = 0;
    for (const reservation of decided) {
      if (!reservation.granted) {
        pool.pausedUntil = Date.now() + maxAge;
        continue;
      }
      const hold: PooledHold = {
        reservationId: reservation.reservationId,
        usableUntil: Math.min(
          made + maxAge,
          ...reservation.lines.map((line) => line.periodEnd?.getTime() ?? Infinity),
        ),
      };
      // Untracked (Redis away) holds nothing: requests are better off asking themselves.
      if (reservation.untracked) {
        pool.pausedUntil = Date.now() + maxAge;
        releasing.push(this.release(hold));
      } else if (this.closed || pool.generation !== generation) {
        givenBack += 1;
        releasing.push(this.release(hold));
      } else {
        pool.holds.push(hold);
      }
    }
    await Promise.all(releasing);
    return givenBack;
  }

  /** Releases holds past their age and forgets pools without recent demand. */
  private sweep(): void {
    const now = Date.now();
    for (const [key, pool] of this.pools) {
      const fresh = pool.holds.filter((hold) => hold.usableUntil > now);
      for (const hold of pool.holds) if (hold.usableUntil <= now) this.release(hold);
      pool.holds = fresh;
      if (pool.takes === 0 && pool.previousTakes === 0 && !pool.refilling && !fresh.length) {
        this.pools.delete(key);
      }
      pool.previousTakes = pool.takes;
      pool.takes = 0;
    }
  }

  private release(hold: PooledHold): Promise<void> {
    return this.reservations.release(hold.reservationId).then(
      () => undefined,
      (error: unknown) =>
        this.logger.warn({ err: error }, 'releasing a pooled hold failed (it expires on its own)'),
    );
  }
}

/** Units a pooled hold covering `quantity` reserves: 1, or the next power of two. */
export function sizeFor(quantity: number): number {
  // Doubling, not 2 ** ceil(log2): the logarithm of 2^k + 1 rounds to k above 2^49 or so, which
  // would make a hold smaller than the estimate.
  let size = 1;
  while (size < quantity) size *= 2;
  return size;
}
