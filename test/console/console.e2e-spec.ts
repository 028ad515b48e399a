import { AuditService } from '@app/audit';
import {
  accountManagerFor,
  activeContract,
  bearer,
  createTenant,
  IdpUser,
  platformAdminKey,
  recordUsage,
  signIn,
  TestApp,
  TestDnsServer,
  TestIdp,
} from '@app/testing';
import { readFile } from 'node:fs/promises';
import { Page } from 'playwright-core';
import { onboard, onboardOperator, SsoTenant } from '../sso/support/sso-fixture';
import { startWorker } from '../support/worker';
import {
  Browser,
  BrowserIdp,
  openBrowser,
  removeConsoleBuild,
  expectNoSidewaysScroll,
  requireChromium,
  screenshot,
  startConsoleApi,
} from './support/browser';

jest.setTimeout(120_000);

/**
 * The web console in headless Chromium against the real api (and the worker, for reports), real
 * PostgreSQL and Redis. People sign in through the tenant's IdP (the independent samlify IdP of
 * libs/testing, answering inside the browser); operator staff through the operator's own IdP
 * once (later tests give account managers a session made by the identity service, as every e2e
 * test does).
 */
describe('web console (browser)', () => {
  let t: TestApp;
  let worker: TestApp;
  let dns: TestDnsServer;
  let origin: string;
  let acme: SsoTenant;
  let other: SsoTenant;
  let operator: SsoTenant;
  let browser: Browser | undefined;
  let idp: BrowserIdp;

  beforeAll(async () => {
    requireChromium();
    idp = await BrowserIdp.start();
    dns = await new TestDnsServer().start();
    ({ t, origin } = await startConsoleApi({ DNS_RESOLVERS: dns.address }));
    worker = await startWorker();
    [acme, other, operator] = await Promise.all([
      onboard(t, dns, 'okta'),
      onboard(t, dns, 'okta'),
      onboardOperator(t, dns),
    ]);
  });
  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });
  afterAll(async () => {
    await worker?.close();
    await t?.close();
    await dns?.stop();
    await idp?.stop();
    await removeConsoleBuild();
  });

  const url = (path: string) => `${origin}/console${path}`;

  /** Work email → home-realm discovery → the tenant's IdP → back in the console, signed in. */
  async function signInThroughIdp(sso: SsoTenant, user: IdpUser, path = '/'): Promise<Page> {
    idp.signs(sso, user);
    browser = await openBrowser(idp);
    const { page } = browser;
    await page.goto(url(path));
    await page.waitForURL(/\/console\/sign-in\?next=/);
    await page.getByLabel('Work email').fill(user.email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/console/tenants/'));
    return page;
  }

  it('signs a person in with their work email through the tenant IdP, and signs them out', async () => {
    browser = await openBrowser();
    const { page } = browser;
    // An email whose domain no tenant verified: told so, next to the field.
    await page.goto(url('/'));
    await page.waitForURL(/\/console\/sign-in/);
    await screenshot(page, 'sign-in');
    // By keyboard alone: the email field has the focus, Enter submits.
    await expect(
      page.getByLabel('Work email').evaluate((e) => e === document.activeElement),
    ).resolves.toBe(true);
    await page.keyboard.type('nobody@unknown-domain.example');
    await page.keyboard.press('Enter');
    await page.getByText('Single sign-on is not set up for this email domain').waitFor();
    await browser.close();

    const email = `carol@${acme.domain}`;
    const signedIn = await signInThroughIdp(acme, { email, groups: ['cp-admins'] });
    expect(new URL(signedIn.url()).pathname).toBe(`/console/tenants/${acme.tenant.id}`);
    await signedIn.getByRole('heading', { level: 1, name: acme.tenant.name }).waitFor();
    await signedIn.getByText(`${email} (tenant_admin)`).waitFor();
    // Onboarding at a glance: the SSO connection is enabled, the domain verified.
    const sso = signedIn.getByRole('region', { name: 'Single sign-on' });
    await sso.getByText('enabled').waitFor();
    const domains = signedIn.getByRole('region', { name: 'Domains' });
    await domains.getByText(acme.domain).waitFor();
    await domains.getByText('verified', { exact: true }).waitFor();
    await screenshot(signedIn, 'tenant-admin-tenant');
    await expectNoSidewaysScroll(signedIn);

    // Signed in already: the sign-in page sends them on to `next`.
    await signedIn.goto(
      url(`/sign-in?next=${encodeURIComponent(`/tenants/${acme.tenant.id}/sso`)}`),
    );
    await signedIn.waitForURL(new RegExp(`/console/tenants/${acme.tenant.id}/sso$`));
    await signedIn.getByRole('heading', { level: 2, name: 'SAML connections' }).waitFor();

    await signedIn.getByRole('button', { name: 'Sign out' }).click();
    await signedIn.waitForURL(/\/console\/sign-in\?signedOut=1/);
    await signedIn.getByText('You are signed out.').waitFor();
    // The session is over on the server too: the console sends you back to sign-in.
    await signedIn.goto(url(`/tenants/${acme.tenant.id}`));
    await signedIn.waitForURL(/\/console\/sign-in\?next=/);
  });

  it('signs an account manager in through the operator IdP; they draft a contract with two quota lines, see field errors, activate it and see quota usage', async () => {
    // Operator staff sign in like anyone else: work email → discovery → the operator's IdP.
    const email = `ana-${Date.now()}@${operator.domain}`;
    idp.signs(operator, { email, groups: ['account-managers'] });
    browser = await openBrowser(idp);
    const { page } = browser;
    await page.goto(url('/'));
    await page.waitForURL(/\/console\/sign-in\?next=/);
    await page.getByLabel('Work email').fill(email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/console\/tenants$/);
    await page.getByText(`${email} (account_manager)`).waitFor();
    await page.getByText('No tenants are assigned to you yet.').waitFor();
    // The platform admin assigns the new account manager (provisioned at sign-in) to acme.
    const staff = await t.http
      .get('/v1/platform/users')
      .query({ limit: 100 })
      .set(bearer(platformAdminKey()))
      .expect(200);
    const manager = (staff.body.data as { id: string; email: string }[]).find(
      (user) => user.email === email,
    )!;
    await t.http
      .post(`/v1/tenants/${acme.tenant.id}/account-managers`)
      .set(bearer(platformAdminKey()))
      .send({ userId: manager.id })
      .expect(201);
    await page.reload();
    // Only their assigned tenant.
    const tenants = page.getByRole('table', { name: 'Tenants' });
    await tenants.getByRole('cell', { name: acme.tenant.slug }).waitFor();
    await expect(tenants.getByRole('row').count()).resolves.toBe(2); // header + acme
    await screenshot(page, 'account-manager-tenants');
    await tenants.getByRole('link', { name: acme.tenant.name }).click();
    await page.getByRole('region', { name: 'Contracts' }).getByText('No contract yet.').waitFor();
    // Onboarding done: the account manager activates the tenant.
    await page.getByText('Status: onboarding').waitFor();
    await page.getByRole('button', { name: 'Activate tenant' }).click();
    await page.getByText('Status: active').waitFor();
    await expect(page.getByRole('button', { name: 'Activate tenant' }).count()).resolves.toBe(0);
    await page.getByRole('link', { name: 'New contract' }).click();
    await page.waitForURL(/\/contracts\/new$/);

    const today = new Date().toISOString().slice(0, 10);
    const nextYear = `${Number(today.slice(0, 4)) + 1}${today.slice(4)}`;
    const number = `ACME-${Date.now()}`;
    await page.getByLabel('Contract number').fill(number);
    await page.getByLabel('Term start (UTC)').fill(today);
    await page.getByLabel('Term end (UTC, exclusive)').fill(nextYear);
    await page.getByLabel('Committed spend (minor units)').fill('120000000');

    // Validation as you type, next to the limit.
    const limit1 = page.getByLabel('Limit, line 1');
    await limit1.fill('0');
    await expect(limit1.getAttribute('aria-invalid')).resolves.toBe('true');
    await page.getByText('Must be at least 1').waitFor();
    await limit1.fill('-5');
    await page.getByText('Must be at least 1').waitFor();
    await limit1.fill('12.5');
    await page.getByText('Must be a whole number').waitFor();
    await screenshot(page, 'contract-editor-invalid-limit');
    await limit1.fill('500000000');
    await expect(limit1.getAttribute('aria-invalid')).resolves.toBe('false');

    await page.getByRole('button', { name: 'Add quota line' }).click();
    await page.getByLabel('Limit, line 2').fill('1000');
    await page.getByRole('combobox', { name: 'Period, line 2' }).click();
    await page.getByRole('option', { name: 'day' }).click();

    // The server's problem+json field error, shown next to its field.
    const availability = page.getByLabel('Availability target (%)');
    await availability.fill('80');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.getByRole('alert').filter({ hasText: 'validation_failed' }).waitFor();
    await expect(availability.getAttribute('aria-invalid')).resolves.toBe('true');
    const describedBy = (await availability.getAttribute('aria-describedby'))!;
    await expect(page.locator(`[id="${describedBy}"]`).textContent()).resolves.toMatch(/90/);
    await screenshot(page, 'contract-editor-server-error');
    await availability.fill('99.9');
    await expect(availability.getAttribute('aria-invalid')).resolves.toBe('false');

    // A service-credit tier, checked as typed against the target.
    await page.getByText('No credit tiers').waitFor();
    await page.getByRole('button', { name: 'Add credit tier' }).click();
    const below1 = page.getByLabel('Below %, tier 1');
    await below1.fill('99.95');
    await expect(below1.getAttribute('aria-invalid')).resolves.toBe('true');
    await page.getByText('Must not exceed the availability target (99.9 %)').waitFor();
    await below1.fill('99.5');
    await expect(below1.getAttribute('aria-invalid')).resolves.toBe('false');
    await page.getByLabel('Credit %, tier 1').fill('10');

    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.waitForURL(/\/contracts\/[0-9a-f-]{36}$/);
    await page.getByText('Status: draft').waitFor();
    await expect(page.getByLabel('Below %, tier 1').inputValue()).resolves.toBe('99.5');
    await screenshot(page, 'contract-editor-credit-tiers');
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByText('Status: active').waitFor();
    await page.getByText(`Contract ${number} is active.`).waitFor();
    await screenshot(page, 'contract-active');

    // What the API holds now: one active contract with both lines.
    const contracts = await t.http
      .get(`/v1/tenants/${acme.tenant.id}/contracts`)
      .set(bearer(platformAdminKey()))
      .expect(200);
    expect(contracts.body.data).toHaveLength(1);
    expect(contracts.body.data[0]).toMatchObject({
      contractNumber: number,
      status: 'active',
      sla: { availabilityTarget: 99.9, creditTiers: [{ below: 99.5, creditPercent: 10 }] },
      quotaLines: [
        { metric: 'total_tokens', limit: 500000000, period: 'month', enforcement: 'hard' },
        { metric: 'requests', limit: 1000, period: 'day', enforcement: 'hard' },
      ],
    });

    // Quota usage per line as bars, and the usage chart.
    await recordUsage(t, acme.tenant.id, [
      { metric: 'total_tokens', quantity: 125_000_000, occurredAt: new Date(Date.now() - 60_000) },
      { metric: 'requests', quantity: 250, occurredAt: new Date(Date.now() - 60_000) },
    ]);
    await page.getByRole('link', { name: 'Back to the tenant' }).click();
    const quota = page.getByRole('region', { name: 'Quota usage' });
    await quota.getByText('total_tokens per month (hard)').waitFor();
    await quota.getByText('125,000,000 of 500,000,000 (25%)').waitFor();
    await quota.getByText('250 of 1,000 (25%)').waitFor();
    const bars = quota.getByRole('progressbar');
    await expect(bars.count()).resolves.toBe(2);
    await expect(bars.first().getAttribute('aria-valuenow')).resolves.toBe('25');
    await quota
      .getByText(/Period .* UTC to .* UTC/)
      .first()
      .waitFor();
    await quota.getByText(/Daily usage, last 30 days/).waitFor();
    await quota.locator('.recharts-bar-rectangle').first().waitFor();
    await screenshot(page, 'tenant-quota-usage');
    // The chart's figures as text for screen readers take no room: no sideways scrolling.
    await expectNoSidewaysScroll(page);
  });

  it('lets an account manager amend an active contract, read its terms as of a day, renew and terminate it', async () => {
    const tenant = await createTenant(t, 'Globex');
    const creditTiers = [
      { below: 99.5, creditPercent: 10 },
      { below: 99, creditPercent: 25 },
    ];
    const contractId = await activeContract(
      t,
      tenant.id,
      [{ metric: 'total_tokens', limit: 1_000_000, period: 'month', enforcement: 'hard' }],
      undefined,
      { sla: { availabilityTarget: 99.5, creditTiers } },
    );
    const manager = await accountManagerFor(t, tenant.id);
    browser = await openBrowser();
    await browser.context.addCookies([{ name: 'cp_session', value: manager.token, url: origin }]);
    const { page } = browser;
    await page.goto(url(`/tenants/${tenant.id}/contracts/${contractId}`));
    await page.getByText('Status: active').waitFor();
    const limit1 = page.getByLabel('Limit, line 1');
    await expect(limit1.isDisabled()).resolves.toBe(true);
    await expect(page.getByLabel('Credit %, tier 2').inputValue()).resolves.toBe('25');

    // An amendment from tomorrow: a second version on the timeline; today's terms unchanged.
    const day = (offset: number) =>
      new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    await page.getByRole('button', { name: 'Amend terms' }).click();
    await expect(page.getByLabel('Contract number').isDisabled()).resolves.toBe(true);
    await page.getByLabel('Effective from (UTC)').fill(day(1));
    await page.getByLabel('Reason').fill('Expansion');
    await limit1.fill('2000000');
    await page.getByRole('button', { name: 'Save amendment' }).click();
    await page.getByText('Amendment saved: a new version of the terms.').waitFor();
    const versions = page.locator('[aria-labelledby="versions-title"]');
    await versions.getByText('Version 2').waitFor();
    await versions.getByText('Expansion').waitFor();
    await expect(limit1.inputValue()).resolves.toBe('1000000');
    // The SLA was not touched: the new version keeps its credit tiers.
    const amended = await t.http
      .get(`/v1/tenants/${tenant.id}/contracts/${contractId}`)
      .query({ asOf: `${day(2)}T00:00:00Z` })
      .set(bearer(platformAdminKey()))
      .expect(200);
    expect(amended.body).toMatchObject({
      version: 2,
      sla: { availabilityTarget: 99.5, creditTiers },
    });

    // The terms as of the day after tomorrow: version 2.
    await page.getByLabel('Terms as of (UTC)').fill(day(2));
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.waitForURL(new RegExp(`asOf=${day(2)}`));
    await page.getByText(`The terms in force on ${day(2)} (version 2)`).waitFor();
    await expect(page.getByLabel('Limit, line 1').inputValue()).resolves.toBe('2000000');
    await expect(page.getByLabel('Below %, tier 2').inputValue()).resolves.toBe('99');
    await screenshot(page, 'contract-history');
    // A malformed day in the address is named, not sent.
    await page.goto(url(`/tenants/${tenant.id}/contracts/${contractId}?asOf=garbage`));
    await page
      .getByRole('alert')
      .filter({ hasText: 'asOf parameter “garbage” is not a day' })
      .waitFor();
    await page.getByText('YYYY-MM-DD').first().waitFor();
    // Outside the term: the API's refusal, and a way back.
    await page.goto(url(`/tenants/${tenant.id}/contracts/${contractId}?asOf=${day(3000)}`));
    await page.getByRole('alert').filter({ hasText: 'as_of_outside_term' }).waitFor();
    await page.getByRole('button', { name: 'Show the terms in force now' }).click();
    await page.getByText('Status: active').waitFor();

    // Renewal drafts the next term; termination (with a reason) ends this one now.
    await page.getByRole('button', { name: 'Renew' }).click();
    await page.waitForURL((u) => !u.pathname.endsWith(contractId));
    await page.getByText('Status: draft').waitFor();
    const renewal = await page.getByLabel('Contract number').inputValue();
    expect(renewal).toMatch(/-R1$/);
    // A draft may be discarded.
    await page.getByRole('button', { name: 'Discard draft' }).click();
    await page.waitForURL(new RegExp(`/console/tenants/${tenant.id}$`));
    const contracts = page.getByRole('region', { name: 'Contracts' });
    await contracts.getByRole('link').first().waitFor();
    await expect(contracts.getByText(renewal).count()).resolves.toBe(0);
    await page.goto(url(`/tenants/${tenant.id}/contracts/${contractId}`));
    await page.getByRole('button', { name: 'Terminate' }).click();
    const dialog = page.getByRole('dialog', { name: /^Terminate/ });
    await dialog.getByRole('button', { name: 'Terminate now' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'validation_failed' }).waitFor();
    await dialog.getByLabel('Reason').fill('Customer left, clause 14.2');
    await dialog.getByRole('button', { name: 'Terminate now' }).click();
    await page.getByText('Status: terminated').waitFor();

    // Not their tenant: no "New contract" page, the 404 page.
    await page.goto(url(`/tenants/${acme.tenant.id}/contracts/new`));
    await page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
    await expect(page.getByRole('heading', { name: 'New contract' }).count()).resolves.toBe(0);

    // Members who may not read contracts get the 404 page too, not a permission error.
    for (const role of ['viewer', 'ml_engineer'] as const) {
      const member = await signIn(t, [role], tenant.id);
      await browser.context.clearCookies();
      await browser.context.addCookies([{ name: 'cp_session', value: member.token, url: origin }]);
      await page.goto(url(`/tenants/${tenant.id}/contracts/${contractId}`));
      await page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
      await page.getByText('No contract found at this address').waitFor();
      await expect(page.getByText('Missing permission').count()).resolves.toBe(0);
    }
  });

  it('lets a compliance officer page and filter the audit log, open an event, and request, follow and download a report', async () => {
    // More events than one page holds.
    const audit = t.app.get(AuditService);
    for (let i = 0; i < 30; i += 1)
      await audit.appendDetached({
        tenantId: acme.tenant.id,
        actor: { type: 'system', id: 'console-test' },
        action: 'test.bulk',
        resource: { type: 'test', id: String(i) },
        outcome: 'success',
        changes: { before: { n: i }, after: { n: i + 1 } },
      });
    const page = await signInThroughIdp(acme, {
      email: `olivia@${acme.domain}`,
      groups: ['auditors'],
    });
    await page.getByText('(compliance_officer)').waitFor();
    // A compliance officer is shown nothing they may not do: no contract editing.
    await expect(page.getByRole('link', { name: 'New contract' }).count()).resolves.toBe(0);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Audit log' })
      .click();
    const table = page.getByRole('table', { name: 'Audit events' });
    await table.waitFor();
    await expect(table.getByRole('row').count()).resolves.toBe(26); // header + 25
    await page.getByRole('button', { name: 'Older events' }).click();
    await waitForRows(page, 26);

    // To before From: marked next to To, and not applied.
    const to = page.getByLabel('To (UTC, exclusive)');
    await page.getByLabel('From (UTC)').fill('2027-02-01');
    await to.fill('2027-01-01');
    await expect(to.getAttribute('aria-invalid')).resolves.toBe('true');
    await page.getByText('Must be after From (To is exclusive)').waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect(to.getAttribute('aria-invalid')).resolves.toBe('false');

    // The server's field error under its field.
    await page.getByLabel('Action').fill('Not An Action');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('action must look like contract or contract.activate').waitFor();
    await expect(page.getByLabel('Action').getAttribute('aria-invalid')).resolves.toBe('true');

    // Filters live in the address: a reload keeps them.
    await page.getByLabel('Action').fill('test.bulk');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/[?&]action=test\.bulk/);
    await page.getByRole('cell', { name: 'test.bulk' }).first().waitFor();
    await page.reload();
    await expect(page.getByLabel('Action').inputValue()).resolves.toBe('test.bulk');
    await page.getByRole('cell', { name: 'test.bulk' }).first().waitFor();
    await expect(table.getByRole('row').filter({ hasNotText: 'test.bulk' }).count()).resolves.toBe(
      1,
    ); // the header
    await page
      .getByRole('button', { name: /^Details of event/ })
      .first()
      .click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Before').waitFor();
    await dialog.getByText('"n": 29').waitFor();
    await dialog.getByText('"n": 30').waitFor();
    await screenshot(page, 'audit-log-event');
    await dialog.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('link', { name: 'Audit reports' }).first().click();
    await page.getByText('No report requested yet.').waitFor();
    await page.getByRole('button', { name: 'Request report' }).click();
    // Followed until the worker has written and signed it.
    await page.getByLabel('Report status: completed').waitFor({ timeout: 60_000 });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: /^Download report [0-9a-f]{8} \(/ }).click(),
    ]);
    const file = await readFile((await download.path())!, 'utf8');
    const lines = file
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThanOrEqual(30);
    expect(lines.every((event) => event.tenantId === acme.tenant.id)).toBe(true);
    // Each row's controls name their report.
    await page
      .getByRole('link', { name: /^Download the manifest of report [0-9a-f]{8} \(/ })
      .waitFor();
    await page.getByRole('button', { name: /^Verify report [0-9a-f]{8} \(/ }).click();
    const status = page.getByRole('status', { name: /^Verification status of report / });
    await status.getByText(/Chain verified: \d+ events intact\./).waitFor();
    await status.getByText(`${lines.length} rows`, { exact: false }).waitFor();
    await screenshot(page, 'audit-reports');
  });

  it('lets a tenant admin claim and verify a domain, add and test a SAML connection, and create a key whose secret is shown once', async () => {
    const page = await signInThroughIdp(acme, {
      email: `erin@${acme.domain}`,
      groups: ['cp-admins'],
    });
    await page.getByRole('link', { name: 'SSO setup' }).click();
    const domains = page.getByRole('region', { name: 'Domains' });
    await domains.getByText(acme.domain).waitFor();

    // A domain: the TXT record to publish is shown; verified once it is published.
    const extra = `extra-${Date.now()}.corp.example`;
    await page.getByLabel('Domain', { exact: true }).fill(extra);
    await page.getByRole('button', { name: 'Claim domain' }).click();
    const item = domains.getByRole('listitem').filter({ hasText: extra });
    await item.getByText('pending').waitFor();
    const [recordName, recordValue] = await item.locator('code').allTextContents();
    expect(recordName).toBe(`_cp-verification.${extra}`);
    expect(recordValue).toMatch(/^cp-verification=/);
    // Not yet published: the API's refusal is shown.
    await page.getByRole('button', { name: `Verify ${extra}` }).click();
    await page.getByRole('alert').filter({ hasText: 'domain_verification_failed' }).waitFor();
    dns.publishTxt(recordName, recordValue);
    await page.getByRole('button', { name: `Verify ${extra}` }).click();
    await item.getByText('verified', { exact: true }).waitFor();

    // A second connection from an IdP's metadata, with a group rule; tested; enabling it is
    // refused while the first is enabled, and the refusal is shown.
    const backup = new TestIdp('okta');
    await page.getByLabel('Connection name').fill('Backup IdP');
    await page.getByLabel('IdP metadata XML').fill(backup.metadataXml());
    await page.getByLabel('IdP group, rule 1').fill('ml-team');
    await page.getByRole('combobox', { name: 'Role, rule 1' }).click();
    await page.getByRole('option', { name: 'ml_engineer' }).click();
    await page.getByRole('button', { name: 'Add connection' }).click();
    const connection = page.getByRole('article', { name: 'Connection Backup IdP' });
    await connection.getByText('disabled').waitFor();
    await connection.getByText('ml-team → ml_engineer').waitFor();
    // Our SP's URLs to enter at the IdP, each with a copy button.
    await connection.getByText(`${origin}/sso/saml/${acme.tenant.slug}/acs`).waitFor();
    await connection.getByRole('button', { name: 'Copy SP metadata URL' }).waitFor();
    await connection.getByRole('button', { name: 'Test' }).click();
    await page.getByRole('status', { name: 'Test of Backup IdP' }).waitFor();
    await connection.getByRole('button', { name: 'Enable' }).click();
    await page.getByRole('alert').filter({ hasText: 'saml_connection_already_enabled' }).waitFor();
    await screenshot(page, 'sso-setup');
    // Disabling the enabled connection asks first, saying it locks everyone out; kept here.
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    const disabling = page.getByRole('dialog', { name: /^Disable .*\?$/ });
    await disabling.getByText(/Nobody can sign in through it from now on, you included/).waitFor();
    await screenshot(page, 'sso-disable-confirm');
    await disabling.getByRole('button', { name: 'Keep it' }).click();
    await disabling.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Disable', exact: true }).waitFor();

    // An API key: the secret once, in a dialog; afterwards only its prefix.
    await page.getByRole('link', { name: 'Back to the tenant' }).click();
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByText('No API key yet.').waitFor();
    await page.getByLabel('Key name').fill('CI pipeline');
    await page.getByLabel('ml_engineer').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Key CI pipeline created' });
    const secret = await dialog.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^cp_test_/);
    await screenshot(page, 'api-key-created');
    await dialog.getByRole('button', { name: 'Done' }).click();
    const keys = page.getByRole('table', { name: 'API keys' });
    await keys.getByRole('cell', { name: 'CI pipeline', exact: true }).waitFor();
    expect(await page.content()).not.toContain(secret);
    await t.http.get('/v1/me').set('Authorization', `Bearer ${secret}`).expect(200);
    await page.getByRole('button', { name: 'Revoke CI pipeline' }).click();
    const revoking = page.getByRole('dialog', { name: 'Revoke CI pipeline?' });
    await revoking.getByText(/is refused from now on/).waitFor();
    // Asked, not yet done.
    await t.http.get('/v1/me').set('Authorization', `Bearer ${secret}`).expect(200);
    await revoking.getByRole('button', { name: 'Revoke key' }).click();
    await keys.getByText('revoked').waitFor();
    await t.http.get('/v1/me').set('Authorization', `Bearer ${secret}`).expect(401);
    await screenshot(page, 'api-keys');
  });

  it('sends a person whose session ended elsewhere to sign-in, and back to where they were', async () => {
    const page = await signInThroughIdp(other, {
      email: `trent@${other.domain}`,
      groups: ['auditors'],
    });
    // Every panel loaded, so that nothing is in flight when the session ends.
    await page.getByRole('region', { name: 'Domains' }).getByText(other.domain).waitFor();
    await page.getByRole('region', { name: 'Single sign-on' }).getByText('enabled').waitFor();
    await page.getByText('No contract yet.').waitFor();
    await page.getByText('No contract in force: no quota lines apply.').waitFor();
    await expect(page.getByText(/^Loading /).count()).resolves.toBe(0);
    const session = (await browser!.context.cookies()).find((c) => c.name === 'cp_session')!;
    expect(session.httpOnly).toBe(true);
    expect(session.sameSite).toBe('Lax');
    // Ended on the server (another tab's sign-out, a timeout): the next API call answers 401.
    await t.http
      .post('/v1/auth/logout')
      .set('Authorization', `Bearer ${session.value}`)
      .expect(204);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Audit log' })
      .click();
    await page.waitForURL(/\/console\/sign-in\?next=/);
    await page.getByLabel('Work email').fill(`trent@${other.domain}`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(new RegExp(`/console/tenants/${other.tenant.id}/audit$`));
    await page.getByRole('table', { name: 'Audit events' }).waitFor();
  });

  it("shows a tenant admin of another tenant a 404 page for the first tenant's screens", async () => {
    const page = await signInThroughIdp(other, {
      email: `mallory@${other.domain}`,
      groups: ['cp-admins'],
    });
    await page.getByRole('heading', { level: 1, name: other.tenant.name }).waitFor();
    for (const path of [
      `/tenants/${acme.tenant.id}`,
      `/tenants/${acme.tenant.id}/audit`,
      `/tenants/${acme.tenant.id}/audit/reports`,
      `/tenants/${acme.tenant.id}/contracts/new`,
      // Their own tenant, but tenant admins do not write contracts.
      `/tenants/${other.tenant.id}/contracts/new`,
    ]) {
      await page.goto(url(path));
      await page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
      await expect(page.getByText(acme.tenant.name).count()).resolves.toBe(0);
      await expect(page.getByRole('textbox').count()).resolves.toBe(0);
    }
    await page.goto(url(`/tenants/${acme.tenant.id}`));
    await page
      .getByText('No tenant found at this address, or none that is yours to see.')
      .waitFor();
    await screenshot(page, 'other-tenant-not-found');
  });
});

async function waitForRows(page: Page, moreThan: number): Promise<void> {
  const table = page.getByRole('table', { name: 'Audit events' });
  for (let i = 0; i < 100; i += 1) {
    if ((await table.getByRole('row').count()) > moreThan) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`the audit table never grew past ${moreThan} rows`);
}
