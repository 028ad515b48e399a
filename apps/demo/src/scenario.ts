import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { Browser, formsOf } from './browser';
import { DemoIdp, DirectoryEntry } from './demo-idp';
import { ApiClient, UnexpectedAnswer, waitFor } from './http-client';

/** Where the demo runs and how it reaches what `npm start` runs. */
export interface DemoOptions {
  /** The api's origin, e.g. `http://127.0.0.1:3000`. */
  apiUrl: string;
  /** The gateway's origin, e.g. `http://127.0.0.1:3001`. */
  gatewayUrl: string;
  /** A platform admin API key (the bootstrap key). */
  adminKey: string;
  /** Publishes a TXT record where the api's domain verification looks (its `DNS_RESOLVERS`). */
  publishTxt: (name: string, value: string) => void;
  /** A folder for the audit report, its manifest and the public keys (must exist). */
  workDir: string;
  /** The repository root, where `npm run audit:verify` runs. */
  repoRoot: string;
  /** Where each line of the story goes (default: stdout). */
  print?: (line: string) => void;
  /** Longest wait for the fine-tuning job and for the endpoint, ms (default 10 minutes each). */
  waitTimeoutMs?: number;
}

/** A fine-tuning epoch's losses: the mean training loss of its steps and its validation loss. */
export interface EpochLoss {
  epoch: number;
  trainLoss: number;
  validLoss: number | null;
}

/** The key figures of a run, for the e2e test to check (and for anyone scripting the demo). */
export interface DemoResult {
  regionCode: string;
  tenant: { id: string; slug: string; status: string };
  /** `activatedBy`: the email of the audit event's actor (the account manager). */
  contract: { id: string; status: string; quotaLines: number; activatedBy: string | null };
  /** Roles `GET /v1/me` showed after each person's SAML sign-in. */
  roles: { manager: string[]; admin: string[]; engineer: string[]; officer: string[] };
  /** Whether the IdP checked our SP's signature on every AuthnRequest. */
  authnRequestsVerified: boolean;
  job: {
    id: string;
    status: string;
    model: string;
    trainedTokens: number;
    epochs: EpochLoss[];
  };
  endpoint: { id: string; status: string; model: string };
  chat: {
    answered: number;
    firstAnswer: string;
    refusal: { status: number; code: string | null; quotaLine: Record<string, unknown> | null };
  };
  quotas: { metric: string; period: string; limit: number; used: number }[];
  /** The month's live SLA figures once this run's traffic is in them. */
  sla: {
    month: string;
    availability: number | null;
    requests: number;
    errors: number;
    badMinutes: number;
    creditPercent: number;
  };
  usage: { metric: string; quantity: number }[];
  denials: {
    region: { status: number; code: string };
    crossTenant: { status: number; code: string };
  };
  report: {
    id: string;
    rowCount: number;
    verifyExitCode: number;
    verifyOutput: string;
    /** The report's lines (JSON) of the refused attempts: `denied`, and the region rule's `failure`. */
    deniedEvents: { action: string; outcome: string; reason: string | null }[];
  };
}

const BASE_MODEL = 'llama-3-8b-local';
const HARD_TOKENS_PER_DAY = 3_000;
const DEMO_PASSWORD = 'correct horse battery staple';
/** The operator's own email domain, where its staff sign in (verified once per database). */
const OPERATOR_DOMAIN = 'operator.example';
const PLATFORM_TENANT_ID = '00000000-0000-0000-0000-000000000000';

/**
 * The whole product, end to end, through its public HTTP APIs only (issue 13): the operator sets
 * up a region and an EU tenant under an annual contract; the tenant's admin connects the demo
 * SAML IdP and signs in through the SP-initiated redirect and POST flow; an ML engineer, given
 * their role by a group, fine-tunes a model on the shipped customer-service conversations,
 * deploys it on a dedicated endpoint and chats with it through the gateway until the contract's
 * hard token line answers 429; quota status, SLA figures and usage are read; a compliance
 * officer pulls a signed audit report and verifies it offline with the project's CLI, and the
 * denied attempts made on the way are found in it.
 *
 * Each step prints a numbered line and its key figures. Every run makes new tenants (a random
 * suffix), so it can run again on the same database.
 *
 * @throws UnexpectedAnswer when an API answers other than the story expects (status and body)
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const waitMs = options.waitTimeoutMs ?? 600_000;
  let stepNumber = 0;
  const step = (title: string) => print(`\n${String(++stepNumber).padStart(2)}. ${title}`);
  const say = (line: string) => print(`    ${line}`);
  const admin = new ApiClient(options.apiUrl, options.adminKey);
  const suffix = randomBytes(3).toString('hex');

  // ---------------------------------------------------------------- the operator's side
  step('Platform admin checks the bootstrap key and adds a region to the catalog');
  const me = await admin.get<{ roles: string[] }>('/v1/me');
  say(`signed in with the bootstrap key: roles ${me.body.roles.join(', ')}`);
  const regionCode = 'eu-north-1';
  const region = await admin.post(
    '/v1/regions',
    {
      code: regionCode,
      name: 'EU (Stockholm)',
      dataZone: 'eu',
      certifications: ['gdpr', 'iso27001', 'soc2'],
      gpuCapacity: { h100: 16 },
    },
    [201, 409],
  );
  say(
    region.status === 201
      ? `region ${regionCode} (EU Stockholm): data zone eu, gdpr + iso27001 + soc2, 16 H100`
      : `region ${regionCode} is already in the catalog (an earlier run)`,
  );

  step('Platform admin creates the tenant with an EU / GDPR compliance profile');
  const slug = `acme-rail-${suffix}`;
  const domain = `${slug}.example`;
  const created = await admin.post<{ id: string; slug: string; status: string }>('/v1/tenants', {
    slug,
    name: 'Acme Rail',
    billingTimeZone: 'Europe/Berlin',
    complianceProfile: {
      allowedRegions: [],
      allowedDataZones: ['eu'],
      allowedModelFamilies: ['llama'],
      dataClassification: 'confidential',
      requiredCertifications: ['gdpr'],
      auditRetentionDays: 2555,
    },
  });
  const tenantId = created.body.id;
  const activated = await admin.post<{ status: string }>(`/v1/tenants/${tenantId}/activate`);
  say(`tenant ${slug} (${tenantId}), status ${activated.body.status}`);
  say('profile: data zone eu only, certification gdpr required, llama models, confidential');
  // A second customer, whose contract the engineer will later try to read.
  const other = await admin.post<{ id: string }>('/v1/tenants', {
    slug: `globex-${suffix}`,
    name: 'Globex',
  });

  step("Platform admin connects the operator's own IdP; the account manager signs in through it");
  // Operator staff sign in like customers do: through the platform organization's SAML
  // connection, whose group rules grant platform roles. The demo starts a second IdP for the
  // operator (the story's staff directory); a connection left by an earlier run points at an
  // IdP that is gone, so it is replaced.
  const staffIdp = await DemoIdp.start({
    maria: {
      email: `maria@${OPERATOR_DOMAIN}`,
      firstName: 'Maria',
      lastName: 'Account-Manager',
      groups: ['account-managers'],
      password: DEMO_PASSWORD,
    },
  });
  let manager: SignedInPerson;
  try {
    await operatorSso(admin, staffIdp, options);
    say(
      `operator domain ${OPERATOR_DOMAIN} verified; connection to ${staffIdp.saml.ssoUrl} enabled`,
    );
    say('rules: account-managers → account_manager, staff-admins → platform_admin');
    manager = await signInThroughIdp(options.apiUrl, staffIdp, 'platform', 'maria', say);
  } finally {
    await staffIdp.stop();
  }
  await admin.post(`/v1/tenants/${tenantId}/account-managers`, { userId: manager.userId });
  say(`platform admin assigns maria@${OPERATOR_DOMAIN} to ${slug}`);
  const accountManager = admin.as(manager.token);

  step('Account manager drafts and activates the annual contract');
  const termStart = new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
  const quotaLines = [
    { metric: 'total_tokens', limit: HARD_TOKENS_PER_DAY, period: 'day', enforcement: 'hard' },
    { metric: 'training_tokens', limit: 2_000_000, period: 'term', enforcement: 'hard' },
    { metric: 'concurrent_fine_tuning_jobs', limit: 2, period: 'term', enforcement: 'hard' },
    { metric: 'dedicated_endpoints', limit: 2, period: 'term', enforcement: 'hard' },
    {
      metric: 'gpu_hours',
      limit: 8_760,
      period: 'term',
      enforcement: 'soft',
      overageUnitPriceMinor: 250,
    },
  ];
  const draft = await accountManager.post<{ id: string; status: string; termEnd: string }>(
    `/v1/tenants/${tenantId}/contracts`,
    {
      contractNumber: `ACME-RAIL-${termStart.getUTCFullYear()}-${suffix}`,
      termStart: termStart.toISOString(),
      currency: 'EUR',
      committedSpendMinor: 120_000_00,
      billingModel: 'prepaid',
      sla: {
        availabilityTarget: 99.9,
        latencyP95Ms: 800,
        ttfbP95Ms: 300,
        creditTiers: [
          { below: 99.9, creditPercent: 10 },
          { below: 99.0, creditPercent: 25 },
        ],
      },
      quotaLines,
    },
  );
  say(
    `draft ${draft.body.id}: ${termStart.toISOString().slice(0, 10)} to ${draft.body.termEnd.slice(0, 10)}, EUR 120,000.00 committed`,
  );
  for (const line of quotaLines) {
    say(
      `  quota line: ${line.metric} ${line.limit.toLocaleString('en')} per ${line.period}, ${line.enforcement}`,
    );
  }
  say(
    '  SLA: 99.9 % availability, p95 latency 800 ms, p95 TTFB 300 ms; credits 10 % below 99.9, 25 % below 99.0',
  );
  const contract = await accountManager.post<{ id: string; status: string }>(
    `/v1/tenants/${tenantId}/contracts/${draft.body.id}/activate`,
  );
  const activation = await admin.get<{ data: { actor: { email?: string } }[] }>(
    `/v1/tenants/${tenantId}/audit/events?action=contract.activate&order=desc&limit=1`,
  );
  const activatedBy = activation.body.data[0]?.actor.email ?? null;
  say(`contract ${contract.body.status}; audited as contract.activate by ${activatedBy}`);
  const otherContract = await admin.post<{ id: string }>(`/v1/tenants/${other.body.id}/contracts`, {
    contractNumber: `GLOBEX-${suffix}`,
    termStart: termStart.toISOString(),
    currency: 'USD',
  });

  // ---------------------------------------------------------------- the tenant's admin
  step('Tenant admin proves the email domain and connects the company IdP (SAML)');
  const people: Record<string, DirectoryEntry> = {
    erika: {
      email: `erika@${domain}`,
      firstName: 'Erika',
      lastName: 'Admin',
      groups: ['cp-admins'],
      password: DEMO_PASSWORD,
    },
    max: {
      email: `max@${domain}`,
      firstName: 'Max',
      lastName: 'Engineer',
      groups: ['ml-team'],
      password: DEMO_PASSWORD,
    },
    olga: {
      email: `olga@${domain}`,
      firstName: 'Olga',
      lastName: 'Officer',
      groups: ['auditors'],
      password: DEMO_PASSWORD,
    },
  };
  const idp = await DemoIdp.start(people);
  try {
    // The onboarding invitation: a short-lived tenant_admin key, revoked once SSO works.
    const invite = await admin.post<{ id: string; key: string }>(
      `/v1/tenants/${tenantId}/api-keys`,
      {
        name: 'onboarding',
        roles: ['tenant_admin'],
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
    );
    const onboarding = admin.as(invite.body.key);
    const claimed = await onboarding.post<{
      id: string;
      txtRecordName: string;
      txtRecordValue: string;
    }>(`/v1/tenants/${tenantId}/domains`, { domain });
    options.publishTxt(claimed.body.txtRecordName, claimed.body.txtRecordValue);
    say(
      `published TXT ${claimed.body.txtRecordName} = ${claimed.body.txtRecordValue.slice(0, 24)}…`,
    );
    const verified = await onboarding
      .post<{ status: string }>(`/v1/tenants/${tenantId}/domains/${claimed.body.id}/verify`)
      .catch((error: unknown) => {
        if (error instanceof UnexpectedAnswer && error.answer.status === 422) {
          throw new Error(
            `the api could not see the TXT record: start it with DNS_RESOLVERS pointing at the demo's DNS server (see README, Demo). ${error.message}`,
          );
        }
        throw error;
      });
    say(`domain ${domain}: ${verified.body.status}`);
    say(`demo IdP (samlify, its own signing key) at ${idp.saml.ssoUrl}`);
    const connection = await onboarding.post<{
      id: string;
      serviceProvider: { entityId: string; acsUrl: string; metadataUrl?: string };
    }>(`/v1/tenants/${tenantId}/sso/saml-connections`, {
      name: 'Acme Rail IdP',
      metadataXml: idp.saml.metadataXml(),
      attributeMapping: { preset: 'okta' },
      roleRules: [
        { group: 'cp-admins', role: 'tenant_admin' },
        { group: 'ml-team', role: 'ml_engineer' },
        { group: 'auditors', role: 'compliance_officer' },
      ],
      defaultRole: null,
      signAuthnRequests: true,
    });
    await onboarding.post(
      `/v1/tenants/${tenantId}/sso/saml-connections/${connection.body.id}/enable`,
    );
    // The IdP admin adds our SP from its metadata (entity ID and ACS), as in Okta's app setup.
    const spMetadata = await fetch(`${options.apiUrl}/sso/saml/${slug}/metadata`).then((r) =>
      r.text(),
    );
    const sp = idp.registerServiceProvider(spMetadata);
    say(
      `connection enabled; rules: cp-admins → tenant_admin, ml-team → ml_engineer, auditors → compliance_officer`,
    );
    say(`our SP registered at the IdP: ACS ${sp.acsUrl}`);

    const signIn = (username: string) => signInThroughIdp(options.apiUrl, idp, slug, username, say);

    step('Tenant admin signs in through the IdP (SP-initiated redirect, then POST to the ACS)');
    const erika = await signIn('erika');
    const tenantAdmin = admin.as(erika.token);
    await tenantAdmin.post(`/v1/tenants/${tenantId}/api-keys/${invite.body.id}/revoke`);
    say('the onboarding key is revoked: from now on people arrive through SSO');

    step('ML engineer signs in; the group ml-team gives the ml_engineer role');
    const max = await signIn('max');
    const engineer = admin.as(max.token);
    const openaiApi = new OpenAI({
      baseURL: `${options.apiUrl}/v1`,
      apiKey: max.token,
      maxRetries: 0,
    });

    // ---------------------------------------------------------------- fine-tuning
    step('ML engineer uploads the shipped training data (OpenAI client, /v1/files)');
    const dataDir = join(options.repoRoot, 'apps/demo/data');
    const trainBytes = await readFile(join(dataDir, 'support-train.jsonl'));
    const validBytes = await readFile(join(dataDir, 'support-validation.jsonl'));
    const trainingFile = await openaiApi.files.create({
      file: await toFile(trainBytes, 'support-train.jsonl'),
      purpose: 'fine-tune',
    });
    const validationFile = await openaiApi.files.create({
      file: await toFile(validBytes, 'support-validation.jsonl'),
      purpose: 'fine-tune',
    });
    say(
      `${trainingFile.id}: support-train.jsonl, ${countLines(trainBytes)} conversations, ${trainingFile.bytes.toLocaleString('en')} bytes`,
    );
    say(`${validationFile.id}: support-validation.jsonl, ${countLines(validBytes)} conversations`);

    step(`ML engineer fine-tunes ${BASE_MODEL} and waits for success`);
    const createdJob = await openaiApi.fineTuning.jobs.create({
      model: BASE_MODEL,
      training_file: trainingFile.id,
      validation_file: validationFile.id,
      suffix: 'support',
      seed: 42,
      hyperparameters: { n_epochs: 3, batch_size: 10 },
    });
    say(`${createdJob.id}: ${createdJob.status}`);
    let lastStatus = createdJob.status as string;
    const job = await waitFor(
      'the fine-tuning job',
      async () => {
        const current = await openaiApi.fineTuning.jobs.retrieve(createdJob.id);
        if (current.status !== lastStatus) {
          lastStatus = current.status;
          say(`${current.id}: ${current.status}`);
        }
        if (['failed', 'cancelled'].includes(current.status)) {
          throw new Error(
            `the fine-tuning job ended ${current.status}: ${JSON.stringify(current.error)}`,
          );
        }
        return current.status === 'succeeded' ? current : undefined;
      },
      waitMs,
      500,
    );
    const epochs = await lossPerEpoch(openaiApi, job.id);
    for (const epoch of epochs) {
      say(
        `epoch ${epoch.epoch}: training loss ${epoch.trainLoss.toFixed(4)}${epoch.validLoss === null ? '' : `, validation loss ${epoch.validLoss.toFixed(4)}`}`,
      );
    }
    say(
      `trained tokens ${job.trained_tokens?.toLocaleString('en')}; model ${job.fine_tuned_model}`,
    );

    step('ML engineer deploys the fine-tuned model on a dedicated endpoint in eu-west-1');
    const endpoint = await engineer.post<{ id: string; status: string; url?: string }>(
      `/v1/tenants/${tenantId}/endpoints`,
      {
        name: 'support-assistant',
        model: job.fine_tuned_model,
        region: 'eu-west-1',
        minReplicas: 1,
        maxReplicas: 1,
      },
    );
    say(`endpoint ${endpoint.body.id}: ${endpoint.body.status}`);
    let endpointStatus = endpoint.body.status;
    const running = await waitFor(
      'the endpoint to run',
      async () => {
        const current = await engineer.get<{ status: string; url?: string; statusReason?: string }>(
          `/v1/tenants/${tenantId}/endpoints/${endpoint.body.id}`,
        );
        if (current.body.status !== endpointStatus) {
          endpointStatus = current.body.status;
          say(`endpoint ${endpoint.body.id}: ${current.body.status}`);
        }
        if (current.body.status === 'failed')
          throw new Error(`the endpoint failed: ${current.body.statusReason}`);
        return current.body.status === 'running' ? current.body : undefined;
      },
      waitMs,
      500,
    );
    say(`running; its url: ${running.url ?? `${options.gatewayUrl}/v1`} (the gateway)`);

    // ---------------------------------------------------------------- the data plane
    step(
      `Chat through the gateway (official openai client) until the hard line of ${HARD_TOKENS_PER_DAY.toLocaleString('en')} tokens a day refuses`,
    );
    const inferenceKey = await tenantAdmin.post<{ key: string; prefix: string }>(
      `/v1/tenants/${tenantId}/api-keys`,
      {
        name: 'support-bot',
        roles: [],
        scopes: ['inference'],
      },
    );
    say(`tenant admin made the inference key ${inferenceKey.body.prefix}… for the support bot`);
    const gateway = new OpenAI({
      baseURL: `${options.gatewayUrl}/v1`,
      apiKey: inferenceKey.body.key,
      maxRetries: 0,
    });
    const questions = [
      'Hello, this is Ben. Can I take my bicycle on the train from Munich to Vienna?',
      'Hello, this is Anna. My train from Paris to Berlin was 90 minutes late. Can I get compensation?',
      'Hello, this is Clara. I left my laptop on the train from Hamburg to Cologne on Friday. What should I do?',
    ];
    let answered = 0;
    let firstAnswer = '';
    let refusal: DemoResult['chat']['refusal'] | null = null;
    for (let i = 0; i < 500 && !refusal; i++) {
      try {
        const completion = await gateway.chat.completions.create({
          model: job.fine_tuned_model!,
          messages: [
            {
              role: 'system',
              content:
                'You are the customer service assistant of Acme Rail. Answer briefly and kindly.',
            },
            { role: 'user', content: questions[i % questions.length] },
          ],
          max_tokens: 40,
          temperature: 0,
        });
        answered++;
        if (answered === 1) {
          firstAnswer = completion.choices[0].message.content ?? '';
          say(`Q: ${questions[0]}`);
          say(`A: ${firstAnswer.trim()}`);
          say(
            `   (${completion.usage?.total_tokens} tokens; the local provider's small n-gram model, now speaking the training data's words)`,
          );
        } else if (answered % 10 === 0) {
          say(`${answered} answers, the last ${completion.usage?.total_tokens} tokens`);
        }
      } catch (error) {
        if (!(error instanceof OpenAI.APIError) || error.status !== 429) throw error;
        const body = error.error as
          { code?: string; quota_line?: Record<string, unknown> } | undefined;
        refusal = {
          status: error.status,
          code: body?.code ?? null,
          quotaLine: body?.quota_line ?? null,
        };
        say(
          `… ${answered} answers later: ${error.status} ${body?.code}: ${(body as { message?: string })?.message}`,
        );
        if (refusal.quotaLine) {
          const line = refusal.quotaLine;
          say(
            `   quota line ${line.metric} per ${line.period}: limit ${line.limit}, used ${line.used}, reserved ${line.reserved}, until ${line.period_end}; Retry-After ${error.headers?.get('retry-after')} s`,
          );
        }
      }
    }
    if (!refusal) throw new Error('the hard token line never refused');

    // ---------------------------------------------------------------- the figures
    step('Quota status of the contract in force');
    // The gateway commits usage in batches every 200 ms: read until two reads agree.
    type QuotaStatus = {
      data: {
        metric: string;
        period: string;
        enforcement: string;
        limit: number;
        used: number;
        percent: number;
      }[];
    };
    let previous = '';
    const quotas = await waitFor(
      'usage to settle',
      async () => {
        const current = await tenantAdmin.get<QuotaStatus>(`/v1/tenants/${tenantId}/quotas`);
        const used = JSON.stringify(current.body.data.map((line) => [line.metric, line.used]));
        const settled = used === previous;
        previous = used;
        return settled ? current : undefined;
      },
      30_000,
      400,
    );
    for (const line of quotas.body.data) {
      say(
        `${line.metric.padEnd(28)} ${String(line.used).padStart(8)} of ${String(line.limit).padEnd(9)} per ${line.period.padEnd(5)} ${line.enforcement.padEnd(4)} ${line.percent} %`,
      );
    }

    step('Live SLA figures of this month');
    // The worker rolls the gateway's samples and its probes up per SLA minute; only completed
    // minutes count, so the first figures with this traffic come within a minute or so.
    const month = monthIn('Europe/Berlin', new Date());
    say(`waiting for the SLA minutes that hold this traffic to complete and be rolled up…`);
    const sla = await waitFor(
      'the SLA figures',
      async () => {
        const current = await tenantAdmin.get<SlaFigures>(
          `/v1/tenants/${tenantId}/sla?month=${month}`,
        );
        return current.body.requests >= answered ? current.body : undefined;
      },
      waitMs,
      1_000,
    );
    say(
      `${sla.month} (${sla.timeZone}), ${sla.final ? 'final' : 'live'}: availability ${sla.availability ?? '–'} % against a target of ${sla.availabilityTarget} %`,
    );
    say(
      `${sla.minutes} endpoint-minutes measured: ${sla.goodMinutes} good, ${sla.badMinutes} bad, ${sla.excludedMinutes} in maintenance windows`,
    );
    say(
      `${sla.requests} requests, ${sla.errors} errors; p95 time to first byte ${sla.latency.ttfbP95Ms ?? '–'} ms (target ${sla.latency.targets?.ttfbP95Ms ?? '–'}), p95 total ${sla.latency.totalP95Ms ?? '–'} ms (target ${sla.latency.targets?.totalP95Ms ?? '–'})`,
    );
    say(
      `incidents: ${sla.incidents.length}; service credit ${sla.creditPercent} % of the month's committed fee = ${(sla.creditMinor / 100).toFixed(2)} ${sla.currency ?? ''}`,
    );

    step('Usage since the contract began');
    const usage = await tenantAdmin.get<{
      data: { metric: string; quantity: number; events: number }[];
    }>(
      `/v1/tenants/${tenantId}/usage?from=${encodeURIComponent(termStart.toISOString())}&to=${encodeURIComponent(new Date().toISOString())}`,
    );
    for (const row of usage.body.data) {
      say(`${row.metric.padEnd(28)} ${String(row.quantity).padStart(8)} (${row.events} events)`);
    }

    // ---------------------------------------------------------------- compliance
    step('Denied attempts: a region outside the profile, another tenant’s contract');
    const outside = await engineer.post<{ code: string; detail: string }>(
      `/v1/tenants/${tenantId}/endpoints`,
      {
        name: 'us-copy',
        model: job.fine_tuned_model,
        region: 'us-east-1',
        minReplicas: 1,
        maxReplicas: 1,
      },
      [403],
    );
    say(`deploy in us-east-1: ${outside.status} ${outside.body.code}: ${outside.body.detail}`);
    const foreign = await engineer.get<{ code: string }>(
      `/v1/tenants/${other.body.id}/contracts/${otherContract.body.id}`,
      [404],
    );
    say(
      `read Globex's contract: ${foreign.status} ${foreign.body.code} (its existence is not revealed)`,
    );

    step('Compliance officer signs in, pulls a signed audit report and verifies it offline');
    const olga = await signIn('olga');
    const officer = admin.as(olga.token);
    const requested = await officer.post<{ id: string }>(
      `/v1/tenants/${tenantId}/audit/reports`,
      {
        from: new Date(Date.now() - 86_400_000).toISOString(),
        to: new Date().toISOString(),
        format: 'jsonl',
      },
      [202],
    );
    const report = await waitFor(
      'the audit report',
      async () => {
        const current = await officer.get<{ status: string; rowCount: number; sha256: string }>(
          `/v1/tenants/${tenantId}/audit/reports/${requested.body.id}`,
        );
        if (current.body.status === 'failed') throw new Error('the audit report failed');
        return current.body.status === 'completed' ? current.body : undefined;
      },
      waitMs,
      300,
    );
    const download = await officer.get(
      `/v1/tenants/${tenantId}/audit/reports/${requested.body.id}/download`,
    );
    const manifest = await officer.get(
      `/v1/tenants/${tenantId}/audit/reports/${requested.body.id}/manifest`,
    );
    const keys = await fetch(`${options.apiUrl}/v1/audit/signing-keys`).then((r) => r.text());
    const reportFile = join(options.workDir, `audit-report-${requested.body.id}.jsonl`);
    const manifestFile = join(options.workDir, `audit-report-${requested.body.id}.manifest.json`);
    const keysFile = join(options.workDir, 'signing-keys.json');
    await writeFile(reportFile, download.text);
    await writeFile(manifestFile, manifest.text);
    await writeFile(keysFile, keys);
    say(
      `report ${requested.body.id}: ${report.rowCount} events, sha256 ${report.sha256.slice(0, 16)}…`,
    );
    say(`saved ${reportFile}`);
    say(`$ npm run audit:verify -- <report> <manifest> --public-key signing-keys.json`);
    const verification = await run(
      'npm',
      ['run', '--silent', 'audit:verify', '--', reportFile, manifestFile, '--public-key', keysFile],
      options.repoRoot,
    );
    for (const line of verification.output.trim().split('\n')) say(`  ${line}`);
    say(`exit code ${verification.code}`);

    step('The denied attempts, as the signed report shows them');
    const events = download.text
      .split('\n')
      .filter(Boolean)
      .map(
        (line) =>
          JSON.parse(line) as {
            action: string;
            outcome: string;
            reason: string | null;
            actor: { email?: string };
            sequence: number;
          },
      );
    // Refusals by the policy guard (401, 403, another tenant's 404) are `denied`; a request a
    // service refused with 403 (the compliance profile's region rule) is a `failure` with its code.
    const denied = events.filter(
      (event) =>
        event.outcome === 'denied' ||
        (event.outcome === 'failure' && /^403 /.test(event.reason ?? '')),
    );
    for (const event of denied) {
      say(
        `#${event.sequence} ${event.action} ${event.outcome} by ${event.actor.email ?? 'a key'}: ${event.reason}`,
      );
    }

    print('\nDone: every step above went through the public HTTP APIs.');
    return {
      regionCode,
      tenant: { id: tenantId, slug, status: activated.body.status },
      contract: {
        id: contract.body.id,
        status: contract.body.status,
        activatedBy,
        quotaLines: quotaLines.length,
      },
      roles: {
        manager: manager.roles,
        admin: erika.roles,
        engineer: max.roles,
        officer: olga.roles,
      },
      authnRequestsVerified: [erika, max, olga].every((person) => person.requestChecked),
      job: {
        id: job.id,
        status: job.status,
        model: job.fine_tuned_model!,
        trainedTokens: job.trained_tokens ?? 0,
        epochs,
      },
      endpoint: { id: endpoint.body.id, status: running.status, model: job.fine_tuned_model! },
      chat: { answered, firstAnswer, refusal },
      quotas: quotas.body.data.map(({ metric, period, limit, used }) => ({
        metric,
        period,
        limit,
        used,
      })),
      sla: {
        month: sla.month,
        availability: sla.availability,
        requests: sla.requests,
        errors: sla.errors,
        badMinutes: sla.badMinutes,
        creditPercent: sla.creditPercent,
      },
      usage: usage.body.data.map(({ metric, quantity }) => ({ metric, quantity })),
      denials: {
        region: { status: outside.status, code: outside.body.code },
        crossTenant: { status: foreign.status, code: foreign.body.code },
      },
      report: {
        id: requested.body.id,
        rowCount: report.rowCount,
        verifyExitCode: verification.code,
        verifyOutput: verification.output,
        deniedEvents: denied.map(({ action, outcome, reason }) => ({ action, outcome, reason })),
      },
    };
  } finally {
    await idp.stop();
  }
}

/** Mean training loss per epoch and the epoch's validation loss, from the job's metrics events. */
/** What the demo reads of `GET /v1/tenants/{tenantId}/sla` (API.md, _SLA_). */
interface SlaFigures {
  month: string;
  timeZone: string;
  final: boolean;
  availability: number | null;
  availabilityTarget: number | null;
  minutes: number;
  goodMinutes: number;
  badMinutes: number;
  excludedMinutes: number;
  requests: number;
  errors: number;
  latency: {
    ttfbP95Ms: number | null;
    totalP95Ms: number | null;
    targets?: { ttfbP95Ms: number | null; totalP95Ms: number | null };
  };
  incidents: unknown[];
  creditPercent: number;
  creditMinor: number;
  currency: string | null;
}

/** `YYYY-MM` of `instant` in `timeZone`. */
function monthIn(timeZone: string, instant: Date): string {
  const parts = new Intl.DateTimeFormat('en', { timeZone, year: 'numeric', month: '2-digit' })
    .formatToParts(instant)
    .reduce<Record<string, string>>((all, part) => ({ ...all, [part.type]: part.value }), {});
  return `${parts.year}-${parts.month}`;
}

async function lossPerEpoch(client: OpenAI, jobId: string): Promise<EpochLoss[]> {
  const byEpoch = new Map<number, { sum: number; steps: number; valid: number | null }>();
  for await (const event of client.fineTuning.jobs.listEvents(jobId, { limit: 100 })) {
    if (event.type !== 'metrics') continue;
    const data = event.data as {
      epoch: number;
      train_loss: number;
      valid_loss?: number;
      step: number;
    };
    const epoch = byEpoch.get(data.epoch) ?? { sum: 0, steps: 0, valid: null };
    epoch.sum += data.train_loss;
    epoch.steps++;
    if (data.valid_loss !== undefined) epoch.valid = data.valid_loss;
    byEpoch.set(data.epoch, epoch);
  }
  return [...byEpoch.entries()]
    .sort(([a], [b]) => a - b)
    .map(([epoch, { sum, steps, valid }]) => ({ epoch, trainLoss: sum / steps, validLoss: valid }));
}

function countLines(bytes: Buffer): number {
  return bytes
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim()).length;
}

/** Runs a command to its end; answers its exit code and its stdout and stderr together. */
function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, INIT_CWD: cwd } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** A person signed in through SAML: their session token and what `GET /v1/me` said. */
interface SignedInPerson {
  token: string;
  userId: string;
  roles: string[];
  /** Whether the IdP checked our SP's signature on the AuthnRequest. */
  requestChecked: boolean;
}

/**
 * SP-initiated SAML sign-in of `username` (password {@link DEMO_PASSWORD}) at `idp` into the
 * organization `slug` (a customer tenant, or `platform` for operator staff), in a fresh
 * browser: home-realm discovery by their email → our login route → the IdP's form → its
 * signed Response posted to our ACS → session.
 *
 * @throws Error saying which hop answered what, when the flow does not end signed in
 */
async function signInThroughIdp(
  apiUrl: string,
  idp: DemoIdp,
  slug: string,
  username: string,
  say: (line: string) => void,
): Promise<SignedInPerson> {
  const browser = new Browser([idp.tls.certificatePem]);
  // 1. Home-realm discovery answers the login URL, built from the api's PUBLIC_URL as the ACS
  // is. The login route binds the AuthnRequest to the browser with a cookie of its host, which
  // the ACS asks for, so the sign-in starts on that host, not necessarily the one the demo calls
  // the api at (PUBLIC_URL is localhost by default, the demo calls 127.0.0.1).
  const discovered = await fetch(`${apiUrl}/sso/discover`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: idp.emailOf(username) }),
  });
  const { loginUrl } = (await discovered.json()) as { loginUrl?: string };
  if (!discovered.ok || !loginUrl || new URL(loginUrl).pathname !== `/sso/saml/${slug}/login`) {
    throw new Error(
      `home-realm discovery of ${idp.emailOf(username)} answered ${discovered.status} ${loginUrl ?? ''}, not ${slug}'s login URL`,
    );
  }
  // 2. Our login route redirects to the IdP with the AuthnRequest (HTTP-Redirect binding).
  const loginPage = await browser.open(`${loginUrl}?RelayState=/v1/me`);
  const [loginForm] = formsOf(loginPage.body);
  if (!loginPage.url.startsWith(idp.saml.ssoUrl) || !loginForm) {
    throw new Error(`expected the IdP's sign-in page, got ${loginPage.status} at ${loginPage.url}`);
  }
  // 3. The person signs in at the IdP, which answers an auto-submitting form to our ACS.
  const posting = await browser.submit(loginPage, loginForm, {
    username,
    password: DEMO_PASSWORD,
  });
  const [acsForm] = formsOf(posting.body);
  if (!acsForm?.fields.SAMLResponse) {
    throw new Error(
      `the IdP did not answer a SAMLResponse form (${posting.status}): ${posting.body.slice(0, 300)}`,
    );
  }
  // 4. The browser posts the signed Response to our ACS (HTTP-POST binding) with the login
  // cookie; the ACS sets the session cookie and redirects to the RelayState, /v1/me.
  const landed = await browser.submit(posting, acsForm);
  // The session cookie too belongs to the host of the ACS (PUBLIC_URL's).
  const session = browser.cookie(landed.url, 'cp_session');
  if (landed.status !== 200 || !session) {
    throw new Error(`the ACS refused the sign-in (${landed.status}): ${landed.body.slice(0, 300)}`);
  }
  const who = JSON.parse(landed.body) as { actor: { id: string; email: string }; roles: string[] };
  say(
    `${who.actor.email}: AuthnRequest ${idp.lastRequest?.id}${idp.lastRequest?.signatureChecked ? ' (signed by our SP, checked by the IdP)' : ''} → signed Response → ACS → session, roles ${who.roles.join(', ')}`,
  );
  return {
    token: session,
    userId: who.actor.id,
    roles: who.roles,
    requestChecked: idp.lastRequest?.signatureChecked === true,
  };
}

/**
 * The operator's staff SSO, as the platform admin sets it up through the customer SSO routes
 * with the platform organization's id: `operator.example` verified (once per database), and one
 * enabled connection to `idp` (replacing an earlier run's, whose IdP is gone), mapping
 * `account-managers` → account_manager and `staff-admins` → platform_admin. Our SP is then
 * registered at the IdP from `/sso/saml/platform/metadata`.
 */
async function operatorSso(admin: ApiClient, idp: DemoIdp, options: DemoOptions): Promise<void> {
  const base = `/v1/tenants/${PLATFORM_TENANT_ID}`;
  const domains = await admin.get<{ data: { id: string; domain: string; status: string }[] }>(
    `${base}/domains?limit=100`,
  );
  const known = domains.body.data.find((d) => d.domain === OPERATOR_DOMAIN);
  if (known?.status !== 'verified') {
    const claimed = known
      ? await admin.get<{ id: string; txtRecordName: string; txtRecordValue: string }>(
          `${base}/domains/${known.id}`,
        )
      : await admin.post<{ id: string; txtRecordName: string; txtRecordValue: string }>(
          `${base}/domains`,
          { domain: OPERATOR_DOMAIN },
        );
    options.publishTxt(claimed.body.txtRecordName, claimed.body.txtRecordValue);
    await admin.post(`${base}/domains/${claimed.body.id}/verify`);
  }
  const connections = await admin.get<{ data: { id: string }[] }>(
    `${base}/sso/saml-connections?limit=100`,
  );
  for (const earlier of connections.body.data) {
    await admin.delete(`${base}/sso/saml-connections/${earlier.id}`);
  }
  const connection = await admin.post<{ id: string }>(`${base}/sso/saml-connections`, {
    name: 'Operator staff IdP',
    metadataXml: idp.saml.metadataXml(),
    attributeMapping: { preset: 'okta' },
    roleRules: [
      { group: 'staff-admins', role: 'platform_admin' },
      { group: 'account-managers', role: 'account_manager' },
    ],
    signAuthnRequests: true,
  });
  await admin.post(`${base}/sso/saml-connections/${connection.body.id}/enable`);
  const spMetadata = await fetch(`${options.apiUrl}/sso/saml/platform/metadata`).then((r) =>
    r.text(),
  );
  idp.registerServiceProvider(spMetadata);
}
