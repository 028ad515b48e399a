import {
  bearer,
  createEndpoint,
  createTenantKey,
  deployableTenant,
  expectEventually,
  platformAdminKey,
  retireEndpoints,
  retireFineTuningJobs,
  signIn,
  TestApp,
  TestDnsServer,
  trainingJsonl,
} from '@app/testing';
import type { Locator, Page } from 'playwright-core';
import { SHORT_SLA_TIME } from '../sla/support/short-sla-time';
import { replicaPids, slaTenant } from '../sla/support/sla-tenant';
import { onboard } from '../sso/support/sso-fixture';
import { startWorker } from '../support/worker';
import {
  Browser,
  BrowserIdp,
  expectNoSidewaysScroll,
  openBrowser,
  removeConsoleBuild,
  requireChromium,
  screenshot,
  startConsoleApi,
} from './support/browser';

jest.setTimeout(180_000);

const admin = () => bearer(platformAdminKey());
const MODEL = 'llama-3-8b-local';

/**
 * The console's operations screens in headless Chromium against the real api and worker (which
 * runs the endpoints' model servers, trains fine-tuning jobs and measures the SLA, on a short
 * SLA minute), real PostgreSQL and Redis: users and roles, dedicated endpoints, fine-tuning jobs
 * with their loss curve, and the SLA view. Each test makes its own tenant.
 */
describe('web console operations screens (browser)', () => {
  let t: TestApp;
  let worker: TestApp;
  let dns: TestDnsServer;
  let idp: BrowserIdp;
  let origin: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    requireChromium();
    idp = await BrowserIdp.start();
    dns = await new TestDnsServer().start();
    ({ t, origin } = await startConsoleApi({ DNS_RESOLVERS: dns.address, ...SHORT_SLA_TIME }));
    worker = await startWorker({
      env: {
        ...SHORT_SLA_TIME,
        FINE_TUNING_STEP_DELAY_MS: '2',
        FINE_TUNING_SWEEP_INTERVAL_MS: '1000',
        ENDPOINT_RECONCILE_INTERVAL_MS: '500',
      },
    });
  });
  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });
  afterAll(async () => {
    await worker?.close();
    if (t) {
      await retireEndpoints(t);
      await retireFineTuningJobs(t);
    }
    await t?.close();
    await dns?.stop();
    await idp?.stop();
    await removeConsoleBuild();
  });

  const url = (path: string) => `${origin}/console${path}`;

  /** Types min replicas 3 above max 2 in `form`: marked as typed, next to the field. */
  async function typeMinAboveMax(form: Page | Locator): Promise<void> {
    await form.getByLabel('Max replicas').fill('2');
    await form.getByLabel('Min replicas').fill('3');
    await expect(form.getByLabel('Min replicas').getAttribute('aria-invalid')).resolves.toBe(
      'true',
    );
    await form.getByText('Must not exceed max replicas').waitFor();
  }

  /** A browser signed in with `token`'s session (made by the identity service, as SSO does). */
  async function withSession(token: string, path: string): Promise<Page> {
    browser = await openBrowser();
    await browser.context.addCookies([{ name: 'cp_session', value: token, url: origin }]);
    await browser.page.goto(url(path));
    return browser.page;
  }

  it('lets a tenant admin see users with their IdP roles and disable one, whose session ends', async () => {
    const acme = await onboard(t, dns, 'okta');
    const member = await signIn(t, ['ml_engineer'], acme.tenant.id);
    const email = `carol@${acme.domain}`;
    idp.signs(acme, { email, groups: ['cp-admins'] });
    browser = await openBrowser(idp);
    const { page } = browser;
    await page.goto(url('/'));
    await page.waitForURL(/\/console\/sign-in\?next=/);
    await page.getByLabel('Work email').fill(email);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { level: 1, name: acme.tenant.name }).waitFor();

    await page.getByRole('link', { name: 'Users and roles' }).click();
    const users = page.getByRole('table', { name: 'Users' });
    const me = users.getByRole('row').filter({ hasText: email });
    await me.getByText('tenant_admin').waitFor();
    // Nobody disables themselves: no button on one's own row.
    await me.getByText('you', { exact: true }).waitFor();
    await expect(me.getByRole('button').count()).resolves.toBe(0);
    await page.getByText(/roles come from their groups at your identity provider/i).waitFor();
    const row = users.getByRole('row').filter({ hasText: member.email });
    await row.getByText('ml_engineer').waitFor();
    await screenshot(page, 'users');

    await page.getByRole('button', { name: `Disable ${member.email}` }).click();
    const dialog = page.getByRole('dialog', { name: `Disable ${member.email}?` });
    await dialog.getByRole('button', { name: 'Disable' }).click();
    await page.getByLabel(`Status of ${member.email}: disabled`).waitFor();
    await t.http.get('/v1/me').set(bearer(member.token)).expect(401);
    // And back: enabled (their old session stays ended).
    await page.getByRole('button', { name: `Enable ${member.email}` }).click();
    await page.getByLabel(`Status of ${member.email}: active`).waitFor();
    await t.http.get('/v1/me').set(bearer(member.token)).expect(401);
  });

  it('shows users read-only to a compliance officer, and not at all to a viewer', async () => {
    const tenantId = await deployableTenant(t);
    const member = await signIn(t, ['ml_engineer'], tenantId);
    const officer = await signIn(t, ['compliance_officer'], tenantId);
    const page = await withSession(officer.token, `/tenants/${tenantId}/users`);
    await page.getByRole('table', { name: 'Users' }).getByText(member.email).waitFor();
    await expect(page.getByRole('button', { name: /^Disable / }).count()).resolves.toBe(0);
    await browser!.close();

    const viewer = await signIn(t, ['viewer'], tenantId);
    const viewerPage = await withSession(viewer.token, `/tenants/${tenantId}`);
    await viewerPage.getByRole('link', { name: 'Endpoints' }).waitFor();
    await expect(viewerPage.getByRole('link', { name: 'Users and roles' }).count()).resolves.toBe(
      0,
    );
    await viewerPage.goto(url(`/tenants/${tenantId}/users`));
    await viewerPage.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
  });

  it('lists endpoints, shows one with its replicas and events, refuses a bad scale and stops it', async () => {
    const tenantId = await deployableTenant(t);
    const endpointId = await createEndpoint(t, tenantId, { name: 'support-bot' });
    const engineer = await signIn(t, ['ml_engineer'], tenantId);
    const page = await withSession(engineer.token, `/tenants/${tenantId}`);
    await page.getByRole('link', { name: 'Endpoints' }).click();
    const table = page.getByRole('table', { name: 'Endpoints' });
    await table.getByRole('cell', { name: MODEL }).waitFor();
    // Followed until the reconciler has it running.
    await page.getByLabel('Status of support-bot: running').waitFor({ timeout: 90_000 });
    await screenshot(page, 'endpoints');
    await table.getByRole('link', { name: 'support-bot' }).click();
    await page.waitForURL(new RegExp(`/endpoints/${endpointId}$`));
    await page.getByRole('heading', { level: 1, name: 'Endpoint support-bot' }).waitFor();
    await page.getByLabel('Endpoint status: running').waitFor();
    await page
      .getByRole('table', { name: 'Replicas' })
      .getByText('ready', { exact: true })
      .waitFor();
    const events = page.getByRole('table', { name: 'Endpoint events' });
    await events.getByText('requested.create').waitFor();

    // A bad scale, marked as typed next to the field (the API would refuse it too), not sent.
    await typeMinAboveMax(page);
    await page.getByRole('button', { name: 'Scale' }).click();
    await screenshot(page, 'endpoint-detail');
    await page.getByLabel('Min replicas').fill('1');
    await expect(page.getByLabel('Min replicas').getAttribute('aria-invalid')).resolves.toBe(
      'false',
    );

    await page.getByRole('button', { name: 'Stop' }).click();
    await page
      .getByRole('dialog', { name: 'Stop support-bot?' })
      .getByRole('button', { name: 'Stop endpoint' })
      .click();
    await page.getByLabel('Endpoint status: stopped').waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Start' }).waitFor();
    await events.getByText('requested.stop').waitFor();
    const got = await t.http.get(`/v1/tenants/${tenantId}/endpoints/${endpointId}`).set(admin());
    expect(got.body).toMatchObject({ status: 'stopped', desired: { state: 'stopped' } });

    // A viewer reads the same endpoint, with nothing to press.
    await browser!.close();
    const viewer = await signIn(t, ['viewer'], tenantId);
    const viewerPage = await withSession(
      viewer.token,
      `/tenants/${tenantId}/endpoints/${endpointId}`,
    );
    await viewerPage.getByLabel('Endpoint status: stopped').waitFor();
    await expect(viewerPage.getByRole('button', { name: 'Start' }).count()).resolves.toBe(0);
    await expect(viewerPage.getByLabel('Min replicas').count()).resolves.toBe(0);
  });

  it('creates an endpoint of a base model from the endpoints screen, with bad input marked under its field', async () => {
    // Allowed: eu-west-1 by name, eu-central-1 by its data zone; llama and e5, not mistral.
    const tenantId = await deployableTenant(t, {
      profile: { allowedDataZones: ['eu'], allowedModelFamilies: ['llama', 'e5'] },
    });
    await createEndpoint(t, tenantId, { name: 'taken' });
    const listed = async () =>
      (await t.http.get(`/v1/tenants/${tenantId}/endpoints`).set(admin()).expect(200)).body
        .data as { id: string; name: string }[];
    /** The endpoints screen as someone with `roles` sees it, once it lists `name`. */
    const endpointsAs = async (roles: Parameters<typeof signIn>[1], name: string) => {
      const { token } = await signIn(t, roles, tenantId);
      const screen = await withSession(token, `/tenants/${tenantId}/endpoints`);
      await screen.getByRole('table', { name: 'Endpoints' }).getByRole('link', { name }).waitFor();
      return screen;
    };
    const page = await endpointsAs(['ml_engineer'], 'taken');
    await page.getByRole('button', { name: 'New endpoint' }).click();
    const dialog = page.getByRole('dialog', { name: 'New dedicated endpoint' });
    const nameField = dialog.getByLabel('Endpoint name');
    await expectEventually(async () =>
      expect(await nameField.evaluate((el) => el === document.activeElement)).toBe(true),
    );

    // Models: the catalog's that the profile allows.
    await dialog.getByRole('combobox', { name: 'Model' }).click();
    const models = page.getByRole('listbox', { name: 'Model' });
    await models.getByRole('option', { name: 'e5-small-local (embedding)' }).waitFor();
    await expect(models.getByRole('option', { name: /^mistral-7b-local/ }).count()).resolves.toBe(
      0,
    );
    await models.getByRole('option', { name: `${MODEL} (chat)` }).click();
    // Regions: the model's, within the profile (us-east-1 and us-west-2 are not).
    await dialog.getByRole('combobox', { name: 'Region' }).click();
    const regions = page.getByRole('listbox', { name: 'Region' });
    await expect(regions.getByRole('option').allTextContents()).resolves.toEqual([
      'eu-west-1',
      'eu-central-1',
    ]);
    await regions.getByRole('option', { name: 'eu-central-1' }).click();

    // Min above max: marked as typed, not sent.
    await nameField.fill('eu-chat');
    await typeMinAboveMax(dialog);
    await dialog.getByRole('button', { name: 'Deploy' }).click();
    await dialog.getByLabel('Min replicas').fill('1');
    await expect(dialog.getByLabel('Min replicas').getAttribute('aria-invalid')).resolves.toBe(
      'false',
    );

    // A name in use: the API's field error under the name (its description), nothing created.
    await nameField.fill('taken');
    await dialog.getByRole('button', { name: 'Deploy' }).click();
    await dialog
      .getByRole('alert')
      .getByText(/endpoint_name_taken/)
      .waitFor();
    await expect(nameField.getAttribute('aria-invalid')).resolves.toBe('true');
    const describedBy = await nameField.getAttribute('aria-describedby');
    await expect(page.locator(`[id="${describedBy}"]`).textContent()).resolves.toBe(
      'is already in use',
    );
    await screenshot(page, 'new-endpoint');
    await expect(listed()).resolves.toEqual([expect.objectContaining({ name: 'taken' })]);

    await nameField.fill('eu-chat');
    await dialog.getByRole('button', { name: 'Deploy' }).click();
    await page.getByRole('heading', { level: 1, name: 'Endpoint eu-chat' }).waitFor();
    const all = await listed();
    expect(all).toHaveLength(2);
    const created = all.find((e) => e.name === 'eu-chat');
    expect(created).toMatchObject({
      model: MODEL,
      region: 'eu-central-1',
      desired: { minReplicas: 1, maxReplicas: 2 },
    });
    expect(page.url()).toMatch(
      new RegExp(`/console/tenants/${tenantId}/endpoints/${created!.id}$`),
    );

    // A viewer reads the list with no way to create one.
    await browser!.close();
    const viewerPage = await endpointsAs(['viewer'], 'eu-chat');
    await expect(viewerPage.getByRole('button', { name: 'New endpoint' }).count()).resolves.toBe(0);
  });

  it('shows a trained job with its loss curve and checkpoints, and deploys the result', async () => {
    const tenantId = await deployableTenant(t, {
      lines: [
        { metric: 'training_tokens', limit: 1_000_000, enforcement: 'hard' },
        { metric: 'concurrent_fine_tuning_jobs', limit: 2, enforcement: 'hard' },
      ],
    });
    const { key } = await createTenantKey(t, tenantId, ['ml_engineer']);
    const upload = async (bytes: Buffer) =>
      (
        await t.http
          .post('/v1/files')
          .set(bearer(key))
          .field('purpose', 'fine-tune')
          .attach('file', bytes, 'train.jsonl')
          .expect(200)
      ).body.id as string;
    const created = await t.http
      .post('/v1/fine_tuning/jobs')
      .set(bearer(key))
      .send({
        model: MODEL,
        training_file: await upload(trainingJsonl(24)),
        validation_file: await upload(trainingJsonl(4, 'the senate')),
        suffix: 'citizens',
        seed: 7,
        hyperparameters: { n_epochs: 2, batch_size: 4 },
      })
      .expect(200);
    const jobId = created.body.id as string;
    let fineTuned = '';
    await expectEventually(
      async () => {
        const job = await t.http.get(`/v1/fine_tuning/jobs/${jobId}`).set(bearer(key));
        expect(job.body.status).toBe('succeeded');
        fineTuned = job.body.fine_tuned_model;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );

    const engineer = await signIn(t, ['ml_engineer'], tenantId);
    const page = await withSession(engineer.token, `/tenants/${tenantId}`);
    await page.getByRole('link', { name: 'Fine-tuning' }).click();
    const jobs = page.getByRole('table', { name: 'Fine-tuning jobs' });
    await jobs.getByLabel(`Status of ${jobId}: succeeded`).waitFor();
    await jobs.getByRole('link', { name: `citizens (${jobId})` }).click();
    await page.getByRole('heading', { level: 1, name: 'Fine-tuning job citizens' }).waitFor();
    await page.getByLabel('Job status: succeeded').waitFor();
    // The loss curve: both series drawn, and the last figures as text.
    const curve = page.getByRole('figure', { name: 'Loss curve (nats per token)' });
    await curve
      .getByText(/^Step 12 of 12: training loss \d+\.\d{4}, validation loss \d+\.\d{4}/)
      .waitFor();
    await expectEventually(async () =>
      expect(await curve.locator('.recharts-line-curve').count()).toBe(2),
    );
    await expect(
      page.getByRole('table', { name: 'Checkpoints' }).getByRole('row').count(),
    ).resolves.toBe(3);
    await page
      .getByRole('table', { name: 'Job events' })
      .getByText(/succeeded/i)
      .first()
      .waitFor();
    // No cancel for a finished job.
    await expect(page.getByRole('button', { name: 'Cancel job' }).count()).resolves.toBe(0);
    await screenshot(page, 'fine-tuning-job');
    // The curve's figures as text for screen readers take no room: no sideways scrolling.
    await expectNoSidewaysScroll(page);

    await page.getByRole('button', { name: 'Deploy the result' }).click();
    const dialog = page.getByRole('dialog', { name: 'Deploy on a dedicated endpoint' });
    await dialog.getByText(fineTuned).waitFor();
    // The model's name shows at once; the region only once the catalog, tenant and regions load.
    await dialog.getByText('Loading the regions…').waitFor({ state: 'detached' });
    await expect(dialog.getByRole('combobox', { name: 'Region' }).textContent()).resolves.toBe(
      'eu-west-1',
    );
    await dialog.getByLabel('Endpoint name').fill('citizens-bot');
    await dialog.getByRole('button', { name: 'Deploy' }).click();
    await page.getByRole('heading', { level: 1, name: 'Endpoint citizens-bot' }).waitFor();
    const list = await t.http.get(`/v1/tenants/${tenantId}/endpoints`).set(admin()).expect(200);
    expect(list.body.data).toEqual([
      expect.objectContaining({ name: 'citizens-bot', model: fineTuned, region: 'eu-west-1' }),
    ]);
  });

  it('shows a compliance officer availability against the target, the incident on a timeline, and the credit', async () => {
    const tenantId = await slaTenant(t);
    const endpointId = await createEndpoint(t, tenantId, { name: 'prod' });
    const report = async () =>
      (await t.http.get(`/v1/tenants/${tenantId}/sla`).set(admin()).expect(200)).body;
    // Healthy first (its replica up and passing probes), then an outage: the replica stops
    // answering (frozen, not dead).
    let pids: number[] = [];
    await expectEventually(
      async () => {
        const e = (
          await t.http
            .get(`/v1/tenants/${tenantId}/endpoints/${endpointId}/sla`)
            .set(admin())
            .expect(200)
        ).body;
        expect(e.probes).toBeGreaterThanOrEqual(4);
        expect(e.probeFailures).toBe(0);
        pids = await replicaPids(t, endpointId);
        expect(pids.length).toBeGreaterThan(0);
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    try {
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      await expectEventually(
        async () => {
          const r = await report();
          expect(r.incidents.length).toBeGreaterThanOrEqual(1);
          expect(r.badMinutes).toBeGreaterThanOrEqual(1);
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
    } finally {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // Already replaced by the reconciler and gone.
        }
      }
    }

    const officer = await signIn(t, ['compliance_officer'], tenantId);
    const page = await withSession(officer.token, `/tenants/${tenantId}`);
    await page.getByRole('link', { name: 'SLA' }).click();
    await page.getByRole('heading', { level: 1, name: 'Service level' }).waitFor();
    const months = page.getByRole('table', { name: 'Availability by month' });
    const month = (await report()).month as string;
    const current = months.getByRole('row').filter({ hasText: month });
    await current.getByRole('cell', { name: '99.9 %' }).waitFor();
    await current.getByText('missed').waitFor();
    await current.getByText(/^(10|25|100) % = \$/).waitFor();
    await expect(months.getByRole('row').count()).resolves.toBe(7); // header + 6 months
    // The month's availability as a point, the target as a dashed line.
    await page.getByTestId('availability-chart').locator('.recharts-line-dot').first().waitFor();
    await page
      .getByTestId('incident-timeline')
      .locator('.recharts-bar-rectangle')
      .first()
      .waitFor();
    const incidents = page.getByRole('table', { name: 'Incidents' });
    await incidents.getByText('probe_failure').first().waitFor();
    await page
      .getByRole('region', { name: 'Service credit' })
      .getByText(/^\d+ % of /)
      .waitFor();
    await screenshot(page, 'sla');
  });
});
