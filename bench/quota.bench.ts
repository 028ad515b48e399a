/**
 * What quota enforcement and metering cost, against baselines measured in the same run:
 *
 * 1. Reservations per second through QuotaReservationService.reserve (plan cache, the Lua
 *    check-and-reserve across a day and a term line, expiry index; concurrent calls batched per
 *    tenant) vs a bare EVALSHA loop of a trivial script on the same Redis, both with the same
 *    number of loops in flight (32, then 128). Target: ratio ≥ 0.5.
 * 2. Ingestion events per second in batches of 1,000 through UsageIngestionService.record
 *    (validation, dedupe by id, ledger, hourly rollup, shared ledger lock, Redis counters) vs a
 *    plain multi-row INSERT of the same rows into a copy of the ledger without any of that.
 */
import '../apps/api/src/instrument';
import { asTenantId, TenantDb, TenantId } from '@app/authz';
import { loadConfig } from '@app/core';
import { QuotaReservationService, UsageIngestionService } from '@app/metering';
import { activeContract, createTenant, createTestApp, TestApp } from '@app/testing';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { API_HTTP_OPTIONS, AppModule } from '../apps/api/src/app.module';

/** Reservations in flight: a busy replica, and a gateway replica with many open streams. */
const CONCURRENCY_LEVELS = [32, 128];
const SECONDS = 3;
const ROUNDS = 3;
const BATCH = 1000;
const INGEST_WRITERS = 4;

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Operations per second that `loops` concurrent loops of `op` achieve for `SECONDS`. */
async function throughput(loops: number, op: (loop: number) => Promise<unknown>): Promise<number> {
  const deadline = Date.now() + SECONDS * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      while (Date.now() < deadline) {
        await op(loop);
        count += 1;
      }
    }),
  );
  return Math.round(count / SECONDS);
}

function report(
  title: string,
  unit: string,
  ours: number[],
  base: number[],
  names: [string, string],
) {
  const [o, b] = [median(ours), median(base)];
  console.log(`\n${title} (${ROUNDS} rounds, medians)`);
  console.log(`  ${names[1].padEnd(44)} ${b.toLocaleString('en').padStart(10)} ${unit}`);
  console.log(`  ${names[0].padEnd(44)} ${o.toLocaleString('en').padStart(10)} ${unit}`);
  console.log(`  ratio ${(o / b).toFixed(2)}`);
}

async function reservationBench(t: TestApp, redisUrl: string, concurrency: number): Promise<void> {
  const quotas = t.app.get(QuotaReservationService);
  const tenant = await createTenant(t);
  await activeContract(t, tenant.id, [
    { metric: 'total_tokens', limit: Number.MAX_SAFE_INTEGER, period: 'day', enforcement: 'hard' },
    { metric: 'total_tokens', limit: Number.MAX_SAFE_INTEGER, period: 'term', enforcement: 'soft' },
  ]);
  const tenantId = asTenantId(tenant.id);
  const bare = new Redis(redisUrl);
  bare.defineCommand('benchTrivial', { numberOfKeys: 1, lua: `return 1` });
  const trivial = () =>
    (bare as unknown as { benchTrivial(key: string): Promise<number> }).benchTrivial('cpbench:k');
  const reserve = async () => {
    const r = await quotas.reserve({
      tenantId,
      metric: 'total_tokens',
      quantity: 100,
      ttlMs: 60_000,
    });
    if (!r.granted) throw new Error(`refused: ${JSON.stringify(r)}`);
  };
  await throughput(concurrency, reserve);
  await throughput(concurrency, trivial);
  const ours: number[] = [];
  const base: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    base.push(await throughput(concurrency, trivial));
    ours.push(await throughput(concurrency, reserve));
  }
  bare.disconnect();
  report(
    `Quota reservations, ${concurrency} in flight, one tenant, a day and a term line`,
    'ops/s',
    ours,
    base,
    ['QuotaReservationService.reserve', 'bare EVALSHA of `return 1`'],
  );
}

async function ingestionBench(t: TestApp, superuser: Client): Promise<void> {
  const db = t.app.get(TenantDb);
  const ingestion = t.app.get(UsageIngestionService);
  await superuser.query(`DROP TABLE IF EXISTS usage_events_plain`);
  await superuser.query(`CREATE TABLE usage_events_plain (LIKE usage_events INCLUDING DEFAULTS)`);
  await superuser.query(`GRANT SELECT, INSERT ON usage_events_plain TO cp_app`);
  const tenants: TenantId[] = [];
  for (let i = 0; i < INGEST_WRITERS; i += 1) {
    const tenant = await createTenant(t);
    await activeContract(t, tenant.id, [
      {
        metric: 'total_tokens',
        limit: Number.MAX_SAFE_INTEGER,
        period: 'day',
        enforcement: 'hard',
      },
    ]);
    tenants.push(asTenantId(tenant.id));
  }
  const keys = Array.from({ length: 20 }, () => randomUUID());
  const batch = (tenantId: string) =>
    Array.from({ length: BATCH }, (_, i) => ({
      id: randomUUID(),
      tenantId,
      metric: 'total_tokens',
      quantity: 1 + (i % 500),
      occurredAt: new Date(Date.now() - (i % 3600) * 1000).toISOString(),
      apiKeyId: keys[i % keys.length],
    }));
  const platform = { kind: 'platform' as const, reason: 'bench: usage ingestion' };
  const ours = (writer: number) => db.run(platform, () => ingestion.record(batch(tenants[writer])));
  const plain = (writer: number) =>
    db.run(platform, async () => {
      const rows = batch(tenants[writer]);
      await db.manager.query(
        `INSERT INTO usage_events_plain (tenant_id, id, metric, quantity, occurred_at, api_key_id)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::timestamptz[], $6::uuid[])`,
        [
          rows.map((r) => r.tenantId),
          rows.map((r) => r.id),
          rows.map((r) => r.metric),
          rows.map((r) => r.quantity),
          rows.map((r) => r.occurredAt),
          rows.map((r) => r.apiKeyId),
        ],
      );
    });
  await throughput(INGEST_WRITERS, ours);
  const oursRuns: number[] = [];
  const baseRuns: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    baseRuns.push((await throughput(INGEST_WRITERS, plain)) * BATCH);
    oursRuns.push((await throughput(INGEST_WRITERS, ours)) * BATCH);
  }
  report(
    `Usage ingestion, batches of ${BATCH}, ${INGEST_WRITERS} writers (one tenant each)`,
    'events/s',
    oursRuns,
    baseRuns,
    ['UsageIngestionService.record', 'plain INSERT … SELECT unnest (no dedupe/rollup)'],
  );
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const t = await createTestApp(
    (appConfig, options) => AppModule.register(appConfig, options),
    API_HTTP_OPTIONS,
  );
  const superuser = new Client({ connectionString: config.DATABASE_URL });
  await superuser.connect();
  try {
    for (const concurrency of CONCURRENCY_LEVELS) {
      await reservationBench(t, config.REDIS_URL, concurrency);
    }
    await ingestionBench(t, superuser);
  } finally {
    await superuser.end();
    await t.close();
  }
}

void main();
