import { asTenantId, TenantDb } from '@app/authz';
import { withTraceContext } from '@app/core';
import {
  SLA_MINUTES_RETENTION_JOB,
  SLA_QUEUE,
  SlaClock,
  SlaMinutesRetentionService,
  SlaReportService,
} from '@app/sla';
import {
  bearer,
  createEndpoint,
  deployableTenant,
  expectEventually,
  platformAdminKey,
  retireEndpoints,
  TestApp,
} from '@app/testing';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';

const admin = () => bearer(platformAdminKey());
const at = (iso: string) => new Date(iso);
const MINUTE = 60_000;
const minutesFrom = (iso: string, count: number) =>
  Array.from({ length: count }, (_, i) => new Date(at(iso).getTime() + i * MINUTE));

/**
 * Retention of `sla_minutes` (SLA_MINUTES_RETENTION_DAYS, default 400): with the clock at
 * 2026-06-15T12:00Z the cutoff is 2025-05-11T12:00Z. Only minutes of frozen months (in the
 * tenant's billing time zone) before the cutoff and before every open or recent incident go; the
 * frozen months' reports answer byte for byte the same afterwards.
 */
describe('SLA minutes retention', () => {
  let api: TestApp;
  let clock: SlaClock;
  let retention: SlaMinutesRetentionService;

  const sql = <T = unknown>(query: string, params: unknown[] = []): Promise<T> =>
    api.app.get(TenantDb).asPlatform('test: SLA retention fixtures', (m) => m.query(query, params));

  async function insertMinutes(
    tenantId: string,
    endpointId: string,
    minutes: Date[],
    figures: { requests?: number; errors?: number; probeFailures?: number } = {},
  ): Promise<void> {
    await sql(
      `INSERT INTO sla_minutes (tenant_id, endpoint_id, minute, requests, errors, probes, probe_failures)
       SELECT $1, $2, m, $4, $5, 2, $6 FROM unnest($3::timestamptz[]) m`,
      [
        tenantId,
        endpointId,
        minutes,
        figures.requests ?? 0,
        figures.errors ?? 0,
        figures.probeFailures ?? 0,
      ],
    );
  }

  /** The tenant's minute rows in [from, to). */
  async function rowsIn(tenantId: string, from: string, to: string): Promise<number> {
    const [row] = await sql<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM sla_minutes WHERE tenant_id = $1 AND minute >= $2 AND minute < $3`,
      [tenantId, at(from), at(to)],
    );
    return row.n;
  }

  const freeze = (tenantId: string, month: string) =>
    api.app.get(SlaReportService).freeze(asTenantId(tenantId), month);

  beforeAll(async () => {
    api = await startApi();
    clock = api.app.get(SlaClock);
    retention = api.app.get(SlaMinutesRetentionService);
  });
  afterAll(async () => {
    clock.set(null);
    await retireEndpoints(api);
    await api.close();
  });

  describe('in New York time, months frozen and not', () => {
    let tenantId: string;
    let endpointId: string;
    const FROZEN = ['2024-11', '2025-01', '2025-05'];
    const LIVE = ['2024-10', '2024-12'];
    /** Every answer a frozen month gives, as text. */
    async function frozenAnswers(): Promise<string[]> {
      const out: string[] = [];
      for (const month of FROZEN) {
        for (const path of [
          `sla?month=${month}`,
          `sla?month=${month}&format=csv`,
          `sla/manifest?month=${month}`,
          `endpoints/${endpointId}/sla?month=${month}`,
        ]) {
          out.push(
            (await api.http.get(`/v1/tenants/${tenantId}/${path}`).set(admin()).expect(200)).text,
          );
        }
      }
      return out;
    }
    /** The live months' reports, without the instant they were made. */
    async function liveAnswers(): Promise<unknown[]> {
      const out: unknown[] = [];
      for (const month of LIVE) {
        const res = await api.http
          .get(`/v1/tenants/${tenantId}/sla?month=${month}`)
          .set(admin())
          .expect(200);
        const { generatedAt: _generatedAt, ...report } = res.body;
        out.push(report);
      }
      return out;
    }

    beforeAll(async () => {
      tenantId = await deployableTenant(api, {
        tenant: { billingTimeZone: 'America/New_York' },
        contract: {
          termStart: at('2024-10-01T04:00:00Z'),
          fields: {
            termEnd: '2027-10-01T04:00:00Z',
            committedSpendMinor: 36_000_000,
            sla: { availabilityTarget: 99.99, creditTiers: [{ below: 99.99, creditPercent: 10 }] },
          },
        },
      });
      endpointId = await createEndpoint(api, tenantId, { name: 'kept-report' });
      await sql(`UPDATE endpoints SET created_at = $2 WHERE id = $1`, [
        endpointId,
        at('2024-10-15T00:00:00Z'),
      ]);
      // October (not frozen): five failed probes, and its last minute in New York, which is
      // already November in UTC.
      await insertMinutes(tenantId, endpointId, minutesFrom('2024-10-20T10:00:00Z', 5), {
        probeFailures: 1,
      });
      await insertMinutes(tenantId, endpointId, [at('2024-11-01T03:59:00Z')], { probeFailures: 1 });
      // November (frozen): its first and last minutes in New York, ten above the error rate.
      await insertMinutes(tenantId, endpointId, [
        at('2024-11-01T04:00:00Z'),
        at('2024-12-01T04:59:00Z'),
      ]);
      await insertMinutes(tenantId, endpointId, minutesFrom('2024-11-10T00:00:00Z', 10), {
        requests: 100,
        errors: 10,
      });
      // December (not frozen), January (frozen), May (frozen; the cutoff falls in it).
      await insertMinutes(tenantId, endpointId, minutesFrom('2024-12-05T00:00:00Z', 5), {
        probeFailures: 1,
      });
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-01-07T00:00:00Z', 5), {
        requests: 20,
        errors: 0,
      });
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-05-02T00:00:00Z', 3), {
        probeFailures: 1,
      });
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-05-20T00:00:00Z', 4), {
        probeFailures: 1,
      });
      clock.set(at('2026-06-15T12:00:00Z'));
      for (const month of FROZEN) expect(await freeze(tenantId, month)).not.toBeNull();
    });

    it('deletes the minutes of frozen months past the retention; their reports answer the same', async () => {
      const before = await frozenAnswers();
      const liveBefore = await liveAnswers();
      expect(liveBefore).toEqual([
        expect.objectContaining({ month: '2024-10', badMinutes: 6, final: false }),
        expect.objectContaining({ month: '2024-12', badMinutes: 5, final: false }),
      ]);
      expect(JSON.parse(before[0])).toMatchObject({
        month: '2024-11',
        badMinutes: 10,
        final: true,
      });

      // Small batches: each range takes several statements.
      const result = await retention.prune({ batchSize: 4 });
      expect(result.complete).toBe(true);
      expect(result.deleted).toBeGreaterThanOrEqual(20);

      // November's 12, January's 5 and the 3 of May before the cutoff are gone.
      expect(await rowsIn(tenantId, '2024-11-01T04:00:00Z', '2024-12-01T05:00:00Z')).toBe(0);
      expect(await rowsIn(tenantId, '2025-01-01T05:00:00Z', '2025-02-01T05:00:00Z')).toBe(0);
      expect(await rowsIn(tenantId, '2025-05-01T04:00:00Z', '2025-05-11T12:00:00Z')).toBe(0);
      // Minutes within the retention stay, even in a frozen month.
      expect(await rowsIn(tenantId, '2025-05-11T12:00:00Z', '2025-06-01T04:00:00Z')).toBe(4);
      // Nothing of a month that is not frozen: October (with its last minute, November in UTC)
      // and December.
      expect(await rowsIn(tenantId, '2024-10-01T04:00:00Z', '2024-11-01T04:00:00Z')).toBe(6);
      expect(await rowsIn(tenantId, '2024-12-01T05:00:00Z', '2025-01-01T05:00:00Z')).toBe(5);

      expect(await frozenAnswers()).toEqual(before);
      expect(await liveAnswers()).toEqual(liveBefore);
    });

    it('deletes nothing more when run again', async () => {
      expect(await retention.prune()).toEqual({ deleted: 0, tenants: 0, complete: true });
      expect(await rowsIn(tenantId, '2024-10-01T04:00:00Z', '2025-06-01T04:00:00Z')).toBe(15);
    });

    it('counts every row once when two runs race', async () => {
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-01-10T00:00:00Z', 40));
      const [a, b] = await Promise.all([
        retention.prune({ batchSize: 3 }),
        retention.prune({ batchSize: 3 }),
      ]);
      expect(a.deleted + b.deleted).toBe(40);
      expect(await rowsIn(tenantId, '2025-01-01T05:00:00Z', '2025-02-01T05:00:00Z')).toBe(0);
      expect(await rowsIn(tenantId, '2024-10-01T04:00:00Z', '2025-06-01T04:00:00Z')).toBe(15);
    });
  });

  describe('incidents', () => {
    const endpointId = randomUUID();

    async function incident(
      tenantId: string,
      fields: { startedAt: string; lastBadMinute: string; endedAt: string | null },
    ): Promise<void> {
      await sql(
        `INSERT INTO sla_incidents (tenant_id, status, started_at, last_bad_minute, ended_at, closed_at,
           causes, endpoint_ids)
         VALUES ($1, $2, $3, $4, $5, $5, '{probe_failure}', $6)`,
        [
          tenantId,
          fields.endedAt ? 'closed' : 'open',
          at(fields.startedAt),
          at(fields.lastBadMinute),
          fields.endedAt ? at(fields.endedAt) : null,
          [endpointId],
        ],
      );
    }

    it("keeps a frozen month's minutes from the start of an incident that ended within the retention", async () => {
      const tenantId = await deployableTenant(api, { tenant: { billingTimeZone: 'UTC' } });
      // Long over: no reason to keep its minutes.
      await incident(tenantId, {
        startedAt: '2025-01-10T00:00:00Z',
        lastBadMinute: '2025-01-10T00:02:00Z',
        endedAt: '2025-01-10T00:03:00Z',
      });
      // Ended after the cutoff (2025-05-11T12:00Z): a late minute may still amend it.
      await incident(tenantId, {
        startedAt: '2025-02-20T00:00:00Z',
        lastBadMinute: '2025-05-19T23:59:00Z',
        endedAt: '2025-05-20T00:00:00Z',
      });
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-01-10T00:00:00Z', 3), {
        probeFailures: 1,
      });
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-02-10T00:00:00Z', 3));
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-02-20T00:00:00Z', 3), {
        probeFailures: 1,
      });
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-03-05T00:00:00Z', 2));
      clock.set(at('2026-06-15T12:00:00Z'));
      for (const month of ['2025-01', '2025-02', '2025-03']) await freeze(tenantId, month);

      await retention.prune();
      expect(await rowsIn(tenantId, '2025-01-01T00:00:00Z', '2025-02-20T00:00:00Z')).toBe(0);
      expect(await rowsIn(tenantId, '2025-02-20T00:00:00Z', '2025-04-01T00:00:00Z')).toBe(5);
    });

    it('keeps the minutes from the start of an open incident', async () => {
      const tenantId = await deployableTenant(api, { tenant: { billingTimeZone: 'UTC' } });
      await incident(tenantId, {
        startedAt: '2025-01-15T00:00:00Z',
        lastBadMinute: '2026-06-15T11:00:00Z',
        endedAt: null,
      });
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-01-05T00:00:00Z', 3));
      await insertMinutes(tenantId, endpointId, minutesFrom('2025-01-15T00:00:00Z', 3), {
        probeFailures: 1,
      });
      clock.set(at('2026-06-15T12:00:00Z'));
      await freeze(tenantId, '2025-01');

      await retention.prune();
      expect(await rowsIn(tenantId, '2025-01-01T00:00:00Z', '2025-01-15T00:00:00Z')).toBe(0);
      expect(await rowsIn(tenantId, '2025-01-15T00:00:00Z', '2025-02-01T00:00:00Z')).toBe(3);
    });
  });

  describe('in the worker', () => {
    let worker: TestApp;
    let tenantId: string;
    const endpointId = randomUUID();

    beforeAll(async () => {
      // The worker's clock is the real one (2024 is past any retention); no replicas to start.
      clock.set(null);
      await retireEndpoints(api);
      tenantId = await deployableTenant(api, { tenant: { billingTimeZone: 'UTC' } });
      await insertMinutes(tenantId, endpointId, minutesFrom('2024-01-20T00:00:00Z', 2));
      await insertMinutes(tenantId, endpointId, minutesFrom('2024-02-10T00:00:00Z', 4));
      expect(await freeze(tenantId, '2024-02')).not.toBeNull();
      worker = await startWorker();
    });
    afterAll(async () => {
      await worker?.close();
    });

    it('prunes on a repeatable job, whenever the job runs', async () => {
      const queue = worker.app.get<Queue>(getQueueToken(SLA_QUEUE));
      expect((await queue.getJobSchedulers()).map((s) => s.key)).toContain('sla-minutes-retention');
      // A schedule made now runs at once, but one an earlier worker on this Redis made (another
      // test file's) runs next in an hour: the runs are asked for here.
      await queue.add(SLA_MINUTES_RETENTION_JOB, withTraceContext({ scheduledBy: 'test' }));
      await expectEventually(
        async () =>
          expect(await rowsIn(tenantId, '2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z')).toBe(0),
        { timeoutMs: 30_000 },
      );
      await insertMinutes(tenantId, endpointId, minutesFrom('2024-02-20T00:00:00Z', 3));
      await queue.add(SLA_MINUTES_RETENTION_JOB, withTraceContext({ scheduledBy: 'test' }));
      await expectEventually(
        async () =>
          expect(await rowsIn(tenantId, '2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z')).toBe(0),
        { timeoutMs: 30_000 },
      );
      // January was never frozen: its minutes stay.
      expect(await rowsIn(tenantId, '2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z')).toBe(2);
    });
  });
});
