import { AuditService, chainHash, ChainedAuditEvent } from '@app/audit';
import {
  bearer,
  createTenant,
  createTenantKey,
  platformAdminKey,
  signIn,
  TestApp,
} from '@app/testing';
import { loadConfig } from '@app/core';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());

/** A superuser connection to this worker's database (tests only: tampering needs one). */
async function superuser<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: loadConfig(process.env).DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

describe('audit log', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApi();
  });
  afterAll(() => t.close());

  const events = async (tenantId: string, query = '') =>
    (
      await t.http
        .get(`/v1/tenants/${tenantId}/audit/events?limit=100&order=asc${query}`)
        .set(admin())
        .expect(200)
    ).body.data as ChainedAuditEvent[];

  const verify = async (tenantId: string) =>
    (await t.http.get(`/v1/tenants/${tenantId}/audit/verify`).set(admin()).expect(200)).body;

  /** A tenant whose chain holds `n` events written through the audit service. */
  async function chainOf(n: number): Promise<string> {
    const tenant = await createTenant(t);
    const audit = t.app.get(AuditService);
    for (let i = 0; i < n; i += 1) {
      await audit.appendDetached({
        tenantId: tenant.id,
        actor: { type: 'system', id: 'test' },
        action: 'test.event',
        resource: { type: 'test', id: String(i) },
        outcome: 'success',
        changes: { after: { i } },
      });
      // Time ranges (`from`, `to`) are read to the millisecond: one event per millisecond at
      // least, so a test's bounds fall between events rather than inside a shared instant.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return tenant.id;
  }

  describe('capture', () => {
    it('records a mutation in its tenant chain with actor, resource, request id and the change', async () => {
      const tenant = await createTenant(t);
      const key = await createTenantKey(t, tenant.id, ['tenant_admin']);
      const created = await t.http
        .post(`/v1/tenants/${tenant.id}/api-keys`)
        .set(bearer(key.key))
        .set('X-Request-Id', 'req-audit-1')
        .set('User-Agent', 'audit-test/1.0')
        .send({ name: 'ci', roles: ['viewer'] })
        .expect(201);
      const [event] = (await events(tenant.id, '&action=api_key.create')).filter(
        (e) => e.resource.id === created.body.id,
      );
      expect(event).toMatchObject({
        tenantId: tenant.id,
        action: 'api_key.create',
        outcome: 'success',
        resource: { type: 'api_key', id: created.body.id },
        requestId: 'req-audit-1',
        actor: { type: 'api_key', id: key.id, keyPrefix: key.prefix, userAgent: 'audit-test/1.0' },
        changes: { after: { name: 'ci', key: '[REDACTED]' } },
      });
      expect(JSON.stringify(event)).not.toContain(created.body.key);
      expect(event.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    });

    it('records what a key revocation replaced', async () => {
      const tenant = await createTenant(t);
      const key = await createTenantKey(t, tenant.id, ['viewer']);
      await t.http
        .post(`/v1/tenants/${tenant.id}/api-keys/${key.id}/revoke`)
        .set(admin())
        .expect(200);
      const [event] = await events(tenant.id, '&action=api_key.revoke');
      expect(event.changes).toMatchObject({
        before: { prefix: key.prefix, revokedAt: null },
        after: { id: key.id, status: 'revoked' },
      });
    });

    it('records nothing for a change that rolled back, and a failure event instead', async () => {
      const tenant = await createTenant(t);
      const body = {
        contractNumber: 'DUP-1',
        termStart: '2030-01-01T00:00:00Z',
      };
      await t.http.post(`/v1/tenants/${tenant.id}/contracts`).set(admin()).send(body).expect(201);
      await t.http.post(`/v1/tenants/${tenant.id}/contracts`).set(admin()).send(body).expect(409);
      const all = await events(tenant.id, '&action=contract.create');
      expect(all.map((e) => e.outcome)).toEqual(['success', 'failure']);
      expect(all[1].reason).toContain('409 contract_number_taken');
      expect(all[1].changes).toBeNull();
      const contracts = await t.http.get(`/v1/tenants/${tenant.id}/contracts`).set(admin());
      expect(contracts.body.data).toHaveLength(1);
      expect((await verify(tenant.id)).ok).toBe(true);
    });

    it('records what a change replaced: before and after of a contract activation', async () => {
      const tenant = await createTenant(t);
      const contract = await t.http
        .post(`/v1/tenants/${tenant.id}/contracts`)
        .set(admin())
        .send({
          contractNumber: 'BA-1',
          termStart: '2030-01-01T00:00:00Z',
          currency: 'EUR',
          committedSpendMinor: 1000,
          billingModel: 'prepaid',
          sla: { availabilityTarget: 99.9 },
          quotaLines: [{ metric: 'requests', limit: 10, period: 'day', enforcement: 'hard' }],
        })
        .expect(201);
      await t.http
        .post(`/v1/tenants/${tenant.id}/contracts/${contract.body.id}/activate`)
        .set(admin())
        .expect(200);
      const [event] = await events(tenant.id, '&action=contract.activate');
      expect(event).toMatchObject({
        resource: { type: 'contract', id: contract.body.id },
        changes: { before: { status: 'draft' }, after: { status: 'active' } },
      });
    });

    it("records a denied cross-tenant request in the caller's own chain", async () => {
      const mine = await createTenant(t);
      const theirs = await createTenant(t);
      const key = await createTenantKey(t, mine.id, ['tenant_admin']);
      await t.http.get(`/v1/tenants/${theirs.id}/contracts`).set(bearer(key.key)).expect(404);
      const denied = await events(mine.id, '&outcome=denied');
      expect(denied).toHaveLength(1);
      expect(denied[0]).toMatchObject({
        action: 'authz.denied',
        actor: { type: 'api_key', id: key.id },
        resource: { id: theirs.id },
      });
      expect(denied[0].reason).toContain('404 tenant_not_reachable');
      expect(await events(theirs.id, '&outcome=denied')).toHaveLength(0);
    });

    it('records invalid credentials on the platform chain', async () => {
      const marker = `req-${randomUUID()}`;
      const credential = `cp_test_${randomUUID().replaceAll('-', '')}`;
      await t.http.get('/v1/me').set(bearer(credential)).set('X-Request-Id', marker).expect(401);
      const res = await t.http
        .get('/v1/audit/events?tenantId=platform&outcome=denied&limit=100')
        .set(admin())
        .expect(200);
      const event = (res.body.data as ChainedAuditEvent[]).find((e) => e.requestId === marker);
      expect(event).toMatchObject({
        tenantId: null,
        action: 'authz.denied',
        actor: { type: 'anonymous' },
      });
      expect(JSON.stringify(event)).not.toContain(credential);
    });

    it('records a sign-in in the tenant chain, never its token', async () => {
      const tenant = await createTenant(t);
      const person = await signIn(t, ['ml_engineer'], tenant.id);
      const [event] = await events(tenant.id, '&action=session.start');
      expect(event).toMatchObject({
        actor: { type: 'user', id: person.userId },
        outcome: 'success',
      });
      expect(JSON.stringify(event)).not.toContain(person.token);
    });

    it('keeps its chain verifiable whatever the input: emoji cut at a limit, NUL, lone surrogates', async () => {
      const tenant = await createTenant(t);
      const viewer = (await createTenantKey(t, tenant.id, ['viewer'])).key;
      const long = `${'a'.repeat(199)}%F0%9F%98%80`;
      await t.http.get(`/v1/tenants/${long}/contracts`).set(bearer(viewer)).expect(404);
      await t.http.get(`/v1/tenants/ab%00cd/contracts`).set(bearer(viewer)).expect(404);
      await t.http.get(`/v1/tenants/ab%ED%A0%BDcd/contracts`).set(bearer(viewer));
      const audit = t.app.get(AuditService);
      await Promise.all([
        audit.appendDetached({
          tenantId: tenant.id,
          action: 'test.nul',
          outcome: 'success',
          reason: 'a\u0000b',
          changes: { after: { 'k\u0000': 'v\ud800' } },
        }),
        audit.appendDetached({ tenantId: tenant.id, action: 'test.fine', outcome: 'success' }),
      ]);
      const denied = await events(tenant.id, '&outcome=denied');
      expect(denied.length).toBeGreaterThanOrEqual(2);
      expect(await events(tenant.id, '&action=test')).toHaveLength(2);
      expect((await verify(tenant.id)).ok).toBe(true);
    });

    it('keeps one straight chain under 50 concurrent writers', async () => {
      const tenant = await createTenant(t);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          t.http
            .post(`/v1/tenants/${tenant.id}/api-keys`)
            .set(admin())
            .send({ name: `k${i}`, roles: ['viewer'] }),
        ),
      );
      expect(answers.every((r) => r.status === 201)).toBe(true);
      const all: ChainedAuditEvent[] = [];
      let after: string | null = null;
      do {
        const res: { body: { data: ChainedAuditEvent[]; nextCursor: string | null } } = await t.http
          .get(
            `/v1/tenants/${tenant.id}/audit/events?order=asc&limit=20${after ? `&after=${after}` : ''}`,
          )
          .set(admin())
          .expect(200);
        all.push(...res.body.data);
        after = res.body.nextCursor;
      } while (after);
      expect(all.map((e) => e.sequence)).toEqual(
        Array.from({ length: all.length }, (_, i) => i + 1),
      );
      expect(all.filter((e) => e.action === 'api_key.create')).toHaveLength(50);
      for (let i = 1; i < all.length; i += 1) expect(all[i].prevHash).toBe(all[i - 1].hash);
      expect(await verify(tenant.id)).toMatchObject({ ok: true, checked: all.length });
    });
  });

  describe('append-only', () => {
    it('refuses UPDATE and DELETE to the app role and, by trigger, to the owner', async () => {
      const tenantId = await chainOf(2);
      await superuser(async (client) => {
        for (const sql of [
          `UPDATE audit_events SET action = 'x.y' WHERE tenant_id = '${tenantId}'`,
          `DELETE FROM audit_events WHERE tenant_id = '${tenantId}'`,
        ]) {
          await client.query('BEGIN');
          await client.query(`SET LOCAL ROLE cp_app; SET LOCAL app.bypass_rls = 'on'`);
          await expect(client.query(sql)).rejects.toThrow(/permission denied/);
          await client.query('ROLLBACK');
          await expect(client.query(sql)).rejects.toThrow(/append-only/);
        }
        await expect(client.query('TRUNCATE audit_events')).rejects.toThrow(/append-only/);
      });
      expect((await verify(tenantId)).checked).toBe(2);
    });
  });

  describe('tamper evidence (a superuser bypassing the trigger)', () => {
    async function tamper(tenantId: string, sql: string[]): Promise<void> {
      await superuser(async (client) => {
        await client.query('BEGIN');
        await client.query(`SET LOCAL session_replication_role = replica`);
        for (const statement of sql) await client.query(statement.replaceAll('$T', tenantId));
        await client.query('COMMIT');
      });
    }

    it('verifies an untouched chain', async () => {
      const tenantId = await chainOf(10);
      expect(await verify(tenantId)).toMatchObject({ ok: true, checked: 10, lastSequence: 10 });
    });

    it('names the edited event', async () => {
      const tenantId = await chainOf(10);
      await tamper(tenantId, [
        `UPDATE audit_events SET reason = 'edited' WHERE tenant_id = '$T' AND sequence = 4`,
      ]);
      expect(await verify(tenantId)).toMatchObject({
        ok: false,
        firstBadSequence: 4,
        reason: 'hash_mismatch',
      });
    });

    it('names a deleted event as a gap', async () => {
      const tenantId = await chainOf(10);
      await tamper(tenantId, [`DELETE FROM audit_events WHERE tenant_id = '$T' AND sequence = 5`]);
      expect(await verify(tenantId)).toMatchObject({
        ok: false,
        firstBadSequence: 5,
        reason: 'gap',
      });
    });

    it('names a deleted tail as truncated', async () => {
      const tenantId = await chainOf(10);
      await tamper(tenantId, [`DELETE FROM audit_events WHERE tenant_id = '$T' AND sequence >= 9`]);
      expect(await verify(tenantId)).toMatchObject({
        ok: false,
        firstBadSequence: 9,
        reason: 'truncated',
      });
    });

    it('names the first event after a correctly hashed insertion', async () => {
      const tenantId = await chainOf(10);
      const [fifth] = (await events(tenantId, '&from=2000-01-01T00:00:00Z')).filter(
        (e) => e.sequence === 5,
      );
      // The forger knows the algorithm: the forged event 6 links to 5 and hashes right.
      const forged = { ...fifth, id: randomUUID(), sequence: 6, reason: 'forged' };
      const hash = chainHash(Buffer.from(fifth.hash, 'hex'), forged);
      await tamper(tenantId, [
        `UPDATE audit_events SET sequence = sequence + 100 WHERE tenant_id = '$T' AND sequence >= 6`,
        `UPDATE audit_events SET sequence = sequence - 99 WHERE tenant_id = '$T' AND sequence >= 106`,
        `INSERT INTO audit_events (tenant_id, sequence, id, occurred_at, actor_type, actor_id, action,
           resource_type, resource_id, outcome, reason, changes, prev_hash, hash)
         SELECT tenant_id, 6, '${forged.id}', occurred_at, actor_type, actor_id, action, resource_type,
           resource_id, outcome, 'forged', changes, prev_hash, '\\x${hash.toString('hex')}'
           FROM audit_events WHERE tenant_id = '$T' AND sequence = 5`,
      ]);
      // Event 5's prev_hash was copied into the forged row; fix it to link to 5 as a forger would.
      await tamper(tenantId, [
        `UPDATE audit_events SET prev_hash = '\\x${fifth.hash}' WHERE tenant_id = '$T' AND sequence = 6`,
      ]);
      expect(await verify(tenantId)).toMatchObject({
        ok: false,
        firstBadSequence: 7,
        reason: 'hash_mismatch',
      });
    });

    it('names the first of two swapped events', async () => {
      const tenantId = await chainOf(10);
      await tamper(tenantId, [
        `UPDATE audit_events SET sequence = 1003 WHERE tenant_id = '$T' AND sequence = 3`,
        `UPDATE audit_events SET sequence = 3 WHERE tenant_id = '$T' AND sequence = 4`,
        `UPDATE audit_events SET sequence = 4 WHERE tenant_id = '$T' AND sequence = 1003`,
      ]);
      expect(await verify(tenantId)).toMatchObject({
        ok: false,
        firstBadSequence: 3,
        reason: 'hash_mismatch',
      });
    });

    it('names a deleted chain head, and an event planted past the head', async () => {
      const headless = await chainOf(4);
      await tamper(headless, [`DELETE FROM audit_chain_heads WHERE tenant_id = '$T'`]);
      expect(await verify(headless)).toMatchObject({ ok: false, reason: 'head_missing' });
      const planted = await chainOf(4);
      await tamper(planted, [
        `INSERT INTO audit_events (tenant_id, sequence, id, occurred_at, actor_type, action, outcome, prev_hash, hash)
         SELECT tenant_id, last_sequence + 1, gen_random_uuid(), now(), 'system', 'x.planted', 'success', last_hash, last_hash
           FROM audit_chain_heads WHERE tenant_id = '$T'`,
      ]);
      expect(await verify(planted)).toMatchObject({ ok: false, firstBadSequence: 5 });
    });

    it('names deletions at the edges of a verified range', async () => {
      const tenantId = await chainOf(10);
      const all = await events(tenantId);
      const at = (n: number) => encodeURIComponent(all[n - 1].occurredAt);
      await tamper(tenantId, [
        `DELETE FROM audit_events WHERE tenant_id = '$T' AND sequence IN (4, 8)`,
      ]);
      const left = await t.http
        .get(`/v1/tenants/${tenantId}/audit/verify?from=${at(5)}&to=${at(7)}`)
        .set(admin())
        .expect(200);
      expect(left.body).toMatchObject({ ok: false, firstBadSequence: 4, reason: 'gap' });
      const right = await t.http
        .get(`/v1/tenants/${tenantId}/audit/verify?from=${at(6)}&to=${at(8)}`)
        .set(admin())
        .expect(200);
      expect(right.body).toMatchObject({ ok: false, firstBadSequence: 8, reason: 'gap' });
    });

    it('verifies a chain whose events share one timestamp', async () => {
      const tenant = await createTenant(t);
      const occurredAt = '2027-05-01T12:00:00.000000Z';
      let prev: Buffer = Buffer.alloc(32);
      const rows: string[] = [];
      for (let sequence = 1; sequence <= 5; sequence += 1) {
        const event = {
          id: randomUUID(),
          tenantId: tenant.id,
          sequence,
          occurredAt,
          actor: {
            type: 'system' as const,
            id: 'x',
            email: null,
            keyPrefix: null,
            ip: null,
            userAgent: null,
          },
          action: 'test.same_time',
          resource: { type: null, id: null },
          outcome: 'success' as const,
          reason: null,
          requestId: null,
          traceId: null,
          changes: null,
        };
        const hash = chainHash(prev, event);
        rows.push(
          `('${tenant.id}', ${sequence}, '${event.id}', '${occurredAt}', 'system', 'x', 'test.same_time', 'success', '\\x${prev.toString('hex')}', '\\x${hash.toString('hex')}')`,
        );
        prev = hash;
      }
      await tamper(tenant.id, [
        `INSERT INTO audit_events (tenant_id, sequence, id, occurred_at, actor_type, actor_id, action, outcome, prev_hash, hash) VALUES ${rows.join(',')}`,
        `INSERT INTO audit_chain_heads (tenant_id, last_sequence, last_hash, last_prev_hash) VALUES ('$T', 5, '\\x${prev.toString('hex')}', '\\x${'00'.repeat(32)}')`,
      ]);
      expect(await verify(tenant.id)).toMatchObject({ ok: true, checked: 5 });
    });
  });

  describe('query', () => {
    it('filters by action prefix, outcome, resource and time, in either order, with cursors', async () => {
      const tenantId = await chainOf(7);
      const asc = await events(tenantId, '&action=test');
      expect(asc.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      const desc = await t.http
        .get(`/v1/tenants/${tenantId}/audit/events?order=desc&limit=3`)
        .set(admin())
        .expect(200);
      expect(desc.body.data.map((e: ChainedAuditEvent) => e.sequence)).toEqual([7, 6, 5]);
      const next = await t.http
        .get(
          `/v1/tenants/${tenantId}/audit/events?order=desc&limit=3&after=${desc.body.nextCursor}`,
        )
        .set(admin())
        .expect(200);
      expect(next.body.data.map((e: ChainedAuditEvent) => e.sequence)).toEqual([4, 3, 2]);
      expect(
        await events(tenantId, '&action=test.event&resourceType=test&resourceId=3'),
      ).toHaveLength(1);
      expect(await events(tenantId, '&action=tes')).toHaveLength(0);
      expect(await events(tenantId, '&outcome=failure')).toHaveLength(0);
      // `from` is read to the millisecond and events appended within one share it: count what
      // the filter must return rather than assume one event per millisecond.
      const from = Date.parse(asc[3].occurredAt);
      expect(await events(tenantId, `&from=${encodeURIComponent(asc[3].occurredAt)}`)).toHaveLength(
        asc.filter((e) => Date.parse(e.occurredAt) >= from).length,
      );
      for (const bad of [
        'order=sideways',
        'outcome=maybe',
        'action=Bad!',
        'from=yesterday',
        'after=forged',
      ]) {
        await t.http.get(`/v1/tenants/${tenantId}/audit/events?${bad}`).set(admin()).expect(400);
      }
    });

    it("lets a tenant's compliance officer read its own chain only; engineers not at all", async () => {
      const tenantId = await chainOf(1);
      const other = await chainOf(1);
      const officer = (await createTenantKey(t, tenantId, ['compliance_officer'])).key;
      const engineer = (await createTenantKey(t, tenantId, ['ml_engineer'])).key;
      await t.http.get(`/v1/tenants/${tenantId}/audit/events`).set(bearer(officer)).expect(200);
      await t.http.get(`/v1/tenants/${tenantId}/audit/verify`).set(bearer(officer)).expect(200);
      await t.http.get(`/v1/tenants/${other}/audit/events`).set(bearer(officer)).expect(404);
      await t.http.get(`/v1/tenants/${tenantId}/audit/events`).set(bearer(engineer)).expect(403);
      const own = await t.http.get('/v1/audit/events?limit=100').set(bearer(officer)).expect(200);
      expect(own.body.data.every((e: ChainedAuditEvent) => e.tenantId === tenantId)).toBe(true);
    });

    it('publishes the signing keys without authentication', async () => {
      const res = await t.http.get('/v1/audit/signing-keys').expect(200);
      expect(res.body.keys[0]).toMatchObject({
        keyId: expect.stringMatching(/^[0-9a-f]{32}$/),
        algorithm: 'Ed25519',
        publicKeyPem: expect.stringContaining('BEGIN PUBLIC KEY'),
        retiredAt: null,
      });
    });
  });
});
