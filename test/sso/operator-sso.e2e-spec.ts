import { PLATFORM_TENANT_ID } from '@app/authz';
import {
  bearer,
  createTenant,
  platformAdminKey,
  signIn,
  TestApp,
  TestDnsServer,
  TestTenant,
} from '@app/testing';
import { startApi } from '../support/api';
import {
  onboard,
  onboardOperator,
  signInThroughIdp,
  solicitedSignIn,
  SsoTenant,
} from './support/sso-fixture';

const CONTRACT = {
  contractNumber: 'OPS-2027',
  termStart: '2027-01-01T00:00:00Z',
  termEnd: '2028-01-01T00:00:00Z',
  currency: 'USD',
  committedSpendMinor: 1_000_000,
  billingModel: 'prepaid',
  sla: { availabilityTarget: 99.9 },
  quotaLines: [{ metric: 'total_tokens', limit: 1_000_000, period: 'month', enforcement: 'hard' }],
};

/**
 * Operator staff sign in through the platform's own SAML connection (DESIGN.md, roles: "account
 * manager — operator SSO"), configured by the platform admin through the customer SSO routes
 * with the platform tenant's id; group rules grant platform roles only.
 */
describe('operator SSO (staff sign-in)', () => {
  let t: TestApp;
  let dns: TestDnsServer;
  let operator: SsoTenant;
  let customer: SsoTenant;
  const admin = platformAdminKey();
  const platformConnections = `/v1/tenants/${PLATFORM_TENANT_ID}/sso/saml-connections`;

  beforeAll(async () => {
    dns = await new TestDnsServer().start();
    t = await startApi({ env: { DNS_RESOLVERS: dns.address } });
    operator = await onboardOperator(t, dns);
    customer = await onboard(t, dns, 'okta');
  });
  afterAll(async () => {
    await t.close();
    await dns.stop();
  });

  const staff = (name: string, groups: string[]) => ({
    email: `${name}@${operator.domain}`,
    firstName: name,
    groups,
  });

  it('signs an account manager in with a platform role; once assigned they draft and activate a contract', async () => {
    const { cookie } = await signInThroughIdp(t, operator, staff('ana', ['account-managers']));
    const me = await t.http.get('/v1/me').set('Cookie', cookie).expect(200);
    expect(me.body).toMatchObject({
      actor: { type: 'user', email: `ana@${operator.domain}` },
      tenantId: null,
      roles: ['account_manager'],
    });

    const tenant: TestTenant = await createTenant(t);
    // Not assigned yet: the tenant does not exist for them.
    await t.http.get(`/v1/tenants/${tenant.id}`).set('Cookie', cookie).expect(404);
    const staffList = await t.http
      .get('/v1/platform/users')
      .query({ limit: 100 })
      .set(bearer(admin));
    expect(staffList.body.data).toContainEqual(
      expect.objectContaining({ id: me.body.actor.id, roles: ['account_manager'] }),
    );
    await t.http
      .post(`/v1/tenants/${tenant.id}/account-managers`)
      .set(bearer(admin))
      .send({ userId: me.body.actor.id })
      .expect(201);

    const write = { Cookie: cookie, 'Sec-Fetch-Site': 'same-origin' };
    const drafted = await t.http
      .post(`/v1/tenants/${tenant.id}/contracts`)
      .set(write)
      .send(CONTRACT)
      .expect(201);
    const activated = await t.http
      .post(`/v1/tenants/${tenant.id}/contracts/${drafted.body.id}/activate`)
      .set(write)
      .send({});
    expect(activated.body).toMatchObject({ status: 'active' });

    const audit = await t.http
      .get('/v1/audit/events')
      .query({ tenantId: 'platform', action: 'saml.login', actorId: me.body.actor.id })
      .set(bearer(admin))
      .expect(200);
    expect(audit.body.data[0]).toMatchObject({ outcome: 'success', reason: 'provisioned' });
  });

  it('gives the highest platform role of the groups, and refuses staff whose groups map to none', async () => {
    const { cookie } = await signInThroughIdp(
      t,
      operator,
      staff('olu', ['auditors', 'staff-admins']),
    );
    const me = await t.http.get('/v1/me').set('Cookie', cookie).expect(200);
    expect(me.body.roles).toEqual(['platform_admin']);

    const refused = await solicitedSignIn(t, operator, staff('sam', ['sales']));
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('no_role');
  });

  it("refuses a customer's employee at the operator's ACS (their domain is not the operator's)", async () => {
    const refused = await solicitedSignIn(t, operator, {
      email: `mallory@${customer.domain}`,
      groups: ['staff-admins'],
    });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('email_domain_not_verified');
  });

  it('keeps each kind of connection to its own roles (400 naming the rule)', async () => {
    const tenantRole = await t.http
      .patch(`${platformConnections}/${operator.connectionId}`)
      .set(bearer(admin))
      .send({ roleRules: [{ group: 'ops', role: 'tenant_admin' }] });
    expect(tenantRole.status).toBe(400);
    expect(tenantRole.body.errors).toEqual([
      { path: 'roleRules[0].role', message: expect.stringContaining('platform role') },
    ]);

    const base = `/v1/tenants/${customer.tenant.id}/sso/saml-connections/${customer.connectionId}`;
    const escalation = await t.http
      .patch(base)
      .set(bearer(customer.admin))
      .send({
        roleRules: [
          { group: 'cp-admins', role: 'tenant_admin' },
          { group: 'it', role: 'platform_admin' },
        ],
      });
    expect(escalation.status).toBe(400);
    expect(escalation.body.errors).toEqual([
      { path: 'roleRules[1].role', message: expect.stringContaining('tenant role') },
    ]);
    const defaultRole = await t.http
      .patch(base)
      .set(bearer(customer.admin))
      .send({ defaultRole: 'account_manager' });
    expect(defaultRole.status).toBe(400);
    expect(defaultRole.body.errors[0].path).toBe('defaultRole');
    // Nothing was changed by the refusals.
    const kept = await t.http.get(base).set(bearer(customer.admin)).expect(200);
    expect(kept.body.roleRules).toHaveLength(3);
    expect(kept.body.defaultRole).toBeNull();
  });

  it("answers 404 for the operator's id everywhere else, and to customers", async () => {
    await t.http.get(`/v1/tenants/${PLATFORM_TENANT_ID}/contracts`).set(bearer(admin)).expect(404);
    await t.http.get(`/v1/tenants/${PLATFORM_TENANT_ID}`).set(bearer(admin)).expect(404);
    await t.http.get(platformConnections).set(bearer(customer.admin)).expect(404);
    await t.http
      .get(`/v1/tenants/${PLATFORM_TENANT_ID}/domains`)
      .set(bearer(customer.admin))
      .expect(404);
    // Staff without a rule for it: an account manager reads nothing of the operator's SSO.
    const manager = await signIn(t, ['account_manager']);
    await t.http.get(platformConnections).set(bearer(manager.token)).expect(403);
    // The operator's compliance officers read it; they change nothing.
    const auditor = await signIn(t, ['compliance_officer']);
    await t.http.get(platformConnections).set(bearer(auditor.token)).expect(200);
    await t.http
      .post(`${platformConnections}/${operator.connectionId}/disable`)
      .set(bearer(auditor.token))
      .expect(403);
  });

  it('lets a platform admin disable a staff member, which ends their sessions; other staff may not', async () => {
    const { cookie } = await signInThroughIdp(t, operator, staff('zed', ['staff-admins']));
    const me = await t.http.get('/v1/me').set('Cookie', cookie).expect(200);
    const users = `/v1/tenants/${PLATFORM_TENANT_ID}/users`;
    const listed = await t.http.get(users).query({ limit: 100 }).set(bearer(admin)).expect(200);
    expect(listed.body.data).toContainEqual(
      expect.objectContaining({ id: me.body.actor.id, roles: ['platform_admin'] }),
    );
    const manager = await signIn(t, ['account_manager']);
    await t.http
      .post(`${users}/${me.body.actor.id}/disable`)
      .set(bearer(manager.token))
      .expect(403);
    // Customers never see the operator's people.
    await t.http.get(users).set(bearer(customer.admin)).expect(404);

    await t.http.post(`${users}/${me.body.actor.id}/disable`).set(bearer(admin)).expect(200);
    await t.http.get('/v1/me').set('Cookie', cookie).expect(401);
    // Signing in again through the IdP is refused while disabled.
    const refused = await solicitedSignIn(t, operator, staff('zed', ['staff-admins']));
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('user_disabled');
  });

  it("lets no customer verify the operator's domain", async () => {
    const claimed = await t.http
      .post(`/v1/tenants/${customer.tenant.id}/domains`)
      .set(bearer(customer.admin))
      .send({ domain: operator.domain })
      .expect(201);
    dns.publishTxt(claimed.body.txtRecordName, claimed.body.txtRecordValue);
    const verified = await t.http
      .post(`/v1/tenants/${customer.tenant.id}/domains/${claimed.body.id}/verify`)
      .set(bearer(customer.admin));
    expect(verified.status).toBe(409);
    const discovered = await t.http
      .post('/sso/discover')
      .send({ email: `x@${operator.domain}` })
      .expect(200);
    expect(discovered.body.loginUrl).toMatch(/\/sso\/saml\/platform\/login$/);
  });
});
