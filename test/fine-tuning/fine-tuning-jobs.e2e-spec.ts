import {
  bearer,
  createTenantKey,
  deployableTenant,
  expectEventually,
  ledgerSum,
  platformAdminKey,
  retireEndpoints,
  retireFineTuningJobs,
  TestApp,
  trainingJsonl,
} from '@app/testing';
import { countTokens } from '@app/language-model';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import { startApi } from '../support/api';
import { startGateway } from '../support/gateway';
import { startWorker } from '../support/worker';

const admin = () => bearer(platformAdminKey());
const MODEL = 'llama-3-8b-local';
jest.setTimeout(180_000);

/**
 * Fine-tuning jobs (OpenAI API reference "Fine-tuning") through the official `openai` client:
 * upload, create, poll to `succeeded`, events and checkpoints, deploy the fine-tuned model on a
 * dedicated endpoint and chat with it through the gateway; bad inputs; cancel; tenant isolation.
 */
describe('fine-tuning jobs (/v1/fine_tuning/jobs, OpenAI-compatible)', () => {
  let api: TestApp;
  let worker: TestApp;
  let baseURL: string;

  beforeAll(async () => {
    api = await startApi();
    worker = await startWorker({
      env: {
        FINE_TUNING_STEP_DELAY_MS: '2',
        FINE_TUNING_SWEEP_INTERVAL_MS: '1000',
        ENDPOINT_RECONCILE_INTERVAL_MS: '500',
      },
    });
    const { port } = api.app.getHttpServer().address() as AddressInfo;
    baseURL = `http://127.0.0.1:${port}/v1`;
  });
  afterAll(async () => {
    await worker.close();
    await retireEndpoints(api);
    await retireFineTuningJobs(api);
    await api.close();
  });

  /** A tenant allowed the llama family, with quota lines, and an ML engineer's client. */
  async function engineer(
    lines: { metric: string; limit: number; enforcement: 'hard' | 'soft' }[] = [],
    profile: Record<string, unknown> = {},
  ) {
    const tenantId = await deployableTenant(api, { lines, profile });
    const { key } = await createTenantKey(api, tenantId, ['ml_engineer']);
    return { tenantId, key, client: new OpenAI({ baseURL, apiKey: key, maxRetries: 0 }) };
  }

  async function upload(client: OpenAI, bytes: Buffer) {
    return client.files.create({ file: await toFile(bytes, 'train.jsonl'), purpose: 'fine-tune' });
  }

  const ledger = (tenantId: string, metric: string) => ledgerSum(api, tenantId, metric);

  it('trains a model end to end and serves it on a dedicated endpoint', async () => {
    const { tenantId, key, client } = await engineer([
      { metric: 'training_tokens', limit: 1_000_000, enforcement: 'hard' },
      { metric: 'concurrent_fine_tuning_jobs', limit: 2, enforcement: 'hard' },
    ]);
    const training = await upload(client, trainingJsonl(24));
    const validation = await upload(client, trainingJsonl(4, 'the senate'));
    const created = await client.fineTuning.jobs.create({
      model: MODEL,
      training_file: training.id,
      validation_file: validation.id,
      suffix: 'citizens',
      seed: 7,
      hyperparameters: { n_epochs: 2, batch_size: 4 },
      metadata: { team: 'support' },
    });
    expect(created).toMatchObject({
      object: 'fine_tuning.job',
      model: MODEL,
      status: 'validating_files',
      training_file: training.id,
      validation_file: validation.id,
      hyperparameters: { n_epochs: 2, batch_size: 4, learning_rate_multiplier: 2 },
      metadata: { team: 'support' },
      fine_tuned_model: null,
    });
    expect(created.id).toMatch(/^ftjob-[0-9a-f]{24}$/);

    let job = created;
    await expectEventually(
      async () => {
        job = await client.fineTuning.jobs.retrieve(created.id);
        expect(job.status).toBe('succeeded');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(job.fine_tuned_model).toMatch(
      new RegExp(`^ft:${MODEL}:[a-z0-9-]+:citizens:${created.id}$`),
    );
    expect(job.trained_tokens).toBe(
      (job as unknown as { estimated_tokens: number }).estimated_tokens,
    );
    expect(job.finished_at).toEqual(expect.any(Number));

    // Events: every step once, newest first, with losses; the statuses in order.
    const events = [];
    for await (const event of client.fineTuning.jobs.listEvents(created.id, { limit: 10 })) {
      events.push(event);
    }
    const steps = events.filter((e) => e.type === 'metrics');
    const totalSteps = (steps[0].data as { total_steps: number }).total_steps;
    expect(totalSteps).toBe(2 * Math.ceil(24 / 4));
    expect(steps.map((e) => (e.data as { step: number }).step)).toEqual(
      Array.from({ length: totalSteps }, (_, i) => totalSteps - i),
    );
    const statuses = events
      .filter((e) => (e.data as { status?: string } | null)?.status)
      .map((e) => (e.data as { status: string }).status)
      .reverse();
    expect(statuses).toEqual(['validating_files', 'queued', 'running', 'succeeded']);
    // The train loss falls from the first epoch to the second.
    const loss = (epoch: number) =>
      steps
        .filter((e) => (e.data as { epoch: number }).epoch === epoch)
        .reduce((sum, e) => sum + (e.data as { train_loss: number }).train_loss, 0);
    expect(loss(2)).toBeLessThan(loss(1));

    const checkpoints = await client.fineTuning.jobs.checkpoints.list(created.id);
    expect(checkpoints.data.map((c) => c.step_number)).toEqual([totalSteps, totalSteps / 2]);
    expect(checkpoints.data[0]).toMatchObject({
      object: 'fine_tuning.job.checkpoint',
      fine_tuning_job_id: created.id,
      fine_tuned_model_checkpoint: `${job.fine_tuned_model}:ckpt-step-${totalSteps}`,
      metrics: { step: totalSteps, train_loss: expect.any(Number), valid_loss: expect.any(Number) },
    });

    // Every state change is an audit event of the tenant's chain.
    const audit = await api.http
      .get(`/v1/tenants/${tenantId}/audit/events`)
      .query({ resourceType: 'fine_tuning_job', resourceId: created.id, limit: 100 })
      .set(admin())
      .expect(200);
    expect(audit.body.data.map((e: { action: string }) => e.action).reverse()).toEqual([
      'fine_tuning_job.create',
      'fine_tuning_job.queued',
      'fine_tuning_job.running',
      'fine_tuning_job.succeeded',
    ]);

    // Usage (settled just after the job turns `succeeded`): the trained tokens once; the
    // training slot back to zero.
    await expectEventually(async () => {
      expect(await ledger(tenantId, 'training_tokens')).toBe(job.trained_tokens);
      expect(await ledger(tenantId, 'concurrent_fine_tuning_jobs')).toBe(0);
    });

    // The model is in the tenant's catalog, and deployable.
    const endpoint = await api.http
      .post(`/v1/tenants/${tenantId}/endpoints`)
      .set(bearer(key))
      .send({
        name: 'citizens',
        model: job.fine_tuned_model,
        region: 'eu-west-1',
        minReplicas: 1,
        maxReplicas: 1,
      })
      .expect(201);
    await expectEventually(
      async () => {
        const res = await api.http
          .get(`/v1/tenants/${tenantId}/endpoints/${endpoint.body.id}`)
          .set(admin());
        expect(res.body.status).toBe('running');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const gateway = await startGateway();
    try {
      const { port } = gateway.app.getHttpServer().address() as AddressInfo;
      const inference = await createTenantKey(api, tenantId, [], ['inference']);
      const chat = await new OpenAI({
        baseURL: `http://127.0.0.1:${port}/v1`,
        apiKey: inference.key,
        maxRetries: 0,
      }).chat.completions.create({
        model: job.fine_tuned_model!,
        messages: [
          { role: 'system', content: 'You answer as a citizen of Rome.' },
          { role: 'user', content: 'Question 3: what of the corn?' },
        ],
        max_tokens: 24,
        temperature: 0,
      });
      // The fine-tuned model answers in its training data's words.
      expect(chat.choices[0].message.content).toContain('patricians');
      expect(chat.model).toBe(job.fine_tuned_model);
    } finally {
      await gateway.close();
    }
  });

  describe('bad input answers 400-429 and creates nothing', () => {
    let tenant: Awaited<ReturnType<typeof engineer>>;
    let fileId: string;
    beforeAll(async () => {
      tenant = await engineer([{ metric: 'training_tokens', limit: 2_000, enforcement: 'hard' }], {
        allowedModelFamilies: ['llama'],
      });
      fileId = (await upload(tenant.client, trainingJsonl(8))).id;
    });
    const create = (body: Record<string, unknown>) =>
      api.http
        .post('/v1/fine_tuning/jobs')
        .set(bearer(tenant.key))
        .send({ model: MODEL, training_file: fileId, ...body });

    it('refuses a file of the wrong purpose at upload, and malformed JSONL naming the line', async () => {
      const wrong = await api.http
        .post('/v1/files')
        .set(bearer(tenant.key))
        .field('purpose', 'assistants')
        .attach('file', trainingJsonl(2), 'a.jsonl')
        .expect(400);
      expect(wrong.body.errors).toEqual([expect.objectContaining({ path: 'purpose' })]);
      const malformed = await api.http
        .post('/v1/files')
        .set(bearer(tenant.key))
        .field('purpose', 'fine-tune')
        .attach(
          'file',
          Buffer.concat([trainingJsonl(2), Buffer.from('{"messages": [\n')]),
          'a.jsonl',
        )
        .expect(400);
      expect(malformed.body.errors).toEqual([{ path: 'file:3', message: 'is not valid JSON' }]);
    });

    it('refuses an unknown model, a model that cannot be fine-tuned, and a family not allowed', async () => {
      const unknown = await create({ model: 'gpt-9' }).expect(400);
      expect(unknown.body.errors[0].path).toBe('model');
      const embedding = await create({ model: 'e5-small-local' }).expect(400);
      expect(embedding.body.code).toBe('model_not_fine_tunable');
      const mistral = await create({ model: 'mistral-7b-local' }).expect(403);
      expect(mistral.body).toMatchObject({ code: 'model_family_not_allowed', family: 'mistral' });
    });

    it('refuses unknown files, another tenant’s file and hyperparameters out of range', async () => {
      const missing = await create({ training_file: 'file-000000000000000000000000' }).expect(400);
      expect(missing.body.errors).toEqual([expect.objectContaining({ path: 'training_file' })]);
      const other = await engineer();
      const theirs = (await upload(other.client, trainingJsonl(2))).id;
      const foreign = await create({ training_file: theirs }).expect(400);
      expect(foreign.body.errors[0].path).toBe('training_file');

      for (const [hyperparameters, path] of [
        [{ n_epochs: 0 }, 'hyperparameters.n_epochs'],
        [{ n_epochs: 51 }, 'hyperparameters.n_epochs'],
        [{ n_epochs: 1.5 }, 'hyperparameters.n_epochs'],
        [{ batch_size: 'big' }, 'hyperparameters.batch_size'],
        [{ learning_rate_multiplier: 0 }, 'hyperparameters.learning_rate_multiplier'],
        [{ learning_rate_multiplier: -1 }, 'hyperparameters.learning_rate_multiplier'],
      ] as const) {
        const res = await create({ hyperparameters }).expect(400);
        expect(res.body.errors).toEqual([expect.objectContaining({ path })]);
      }
      const method = await create({
        method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 99 } } },
      }).expect(400);
      expect(method.body.errors[0].path).toBe('method.supervised.hyperparameters.n_epochs');
      const suffix = await create({ suffix: 'Has Spaces' }).expect(400);
      expect(suffix.body.errors[0].path).toBe('suffix');
      const dpo = await create({ method: { type: 'dpo' } }).expect(400);
      expect(dpo.body.errors[0].path).toBe('method.type');
    });

    it('refuses ambiguous or empty fields', async () => {
      const both = await create({
        hyperparameters: { n_epochs: 1 },
        method: { type: 'supervised', supervised: { hyperparameters: { n_epochs: 2 } } },
      }).expect(400);
      expect(both.body.errors[0].path).toBe('hyperparameters');
      const empty = await create({ validation_file: '' }).expect(400);
      expect(empty.body.errors[0].path).toBe('validation_file');
      // A metadata key the request parser would drop without a word is refused instead.
      const builtIn = await create({ metadata: { team: 'ml', constructor: 'x' } }).expect(400);
      expect(builtIn.body.errors[0].path).toBe('metadata.constructor');
    });

    it('reads files with a byte-order mark, and honours OpenAI’s weight on assistant turns', async () => {
      const line = (weight: number) =>
        JSON.stringify({
          messages: [
            { role: 'user', content: 'What of the corn?' },
            { role: 'assistant', content: 'Ignored answer.', weight },
            { role: 'user', content: 'And now?' },
            { role: 'assistant', content: 'Counted answer.' },
          ],
        });
      // A tenant of its own: the job trains, which would use the quota the next test checks.
      const own = await engineer();
      const bom = await upload(own.client, Buffer.from(`\uFEFF${line(0)}\n`));
      const res = await api.http
        .post('/v1/fine_tuning/jobs')
        .set(bearer(own.key))
        .send({ model: MODEL, training_file: bom.id, hyperparameters: { n_epochs: 1 } })
        .expect(200);
      // Only the weighted answer and its end-of-text token.
      expect(res.body.estimated_tokens).toBe(countTokens('Counted answer.') + 1);
      const bad = await api.http
        .post('/v1/files')
        .set(bearer(tenant.key))
        .field('purpose', 'fine-tune')
        .attach('file', Buffer.from(`${line(1)}\n${line(2)}\n`), 'w.jsonl')
        .expect(400);
      expect(bad.body.errors).toEqual([
        {
          path: 'file:2',
          message: 'messages[1].weight must be 0 or 1, and only on assistant messages',
        },
      ]);
    });

    it('refuses a job over the training_tokens quota with 429, before anything is queued', async () => {
      const big = (await upload(tenant.client, trainingJsonl(60))).id;
      const res = await create({ training_file: big, hyperparameters: { n_epochs: 3 } }).expect(
        429,
      );
      expect(res.body).toMatchObject({
        code: 'training_quota_exceeded',
        line: { metric: 'training_tokens', period: 'term', limit: 2_000 },
        remaining: 2_000,
      });
      expect(res.body.estimatedTokens).toBeGreaterThan(2_000);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      const list = await tenant.client.fineTuning.jobs.list();
      expect(list.data).toEqual([]);
    });
  });

  it('cancels a running job within 5 s, keeping its checkpoints and billing what it trained', async () => {
    const { tenantId, client } = await engineer([
      { metric: 'training_tokens', limit: 10_000_000, enforcement: 'hard' },
    ]);
    const file = await upload(client, trainingJsonl(40));
    {
      const job = await client.fineTuning.jobs.create({
        model: MODEL,
        training_file: file.id,
        hyperparameters: { n_epochs: 50, batch_size: 4 },
      });
      await expectEventually(
        async () => {
          const page = await client.fineTuning.jobs.checkpoints.list(job.id);
          expect(page.data.length).toBeGreaterThan(0);
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      const asked = Date.now();
      const cancelling = await client.fineTuning.jobs.cancel(job.id);
      expect(['running', 'cancelled']).toContain(cancelling.status);
      let done = cancelling;
      await expectEventually(
        async () => {
          done = await client.fineTuning.jobs.retrieve(job.id);
          expect(done.status).toBe('cancelled');
        },
        { timeoutMs: 5_000, intervalMs: 100 },
      );
      expect(Date.now() - asked).toBeLessThan(5_000);
      expect(done.trained_tokens).toBeGreaterThan(0);
      expect(done.fine_tuned_model).toBeNull();
      expect((await client.fineTuning.jobs.checkpoints.list(job.id)).data.length).toBeGreaterThan(
        0,
      );
      await expectEventually(async () => {
        expect(await ledger(tenantId, 'training_tokens')).toBe(done.trained_tokens);
      });
      // A finished job cannot be cancelled again.
      const again = await api.http
        .post(`/v1/fine_tuning/jobs/${job.id}/cancel`)
        .set(bearer((client as unknown as { apiKey: string }).apiKey))
        .expect(409);
      expect(again.body).toMatchObject({ code: 'illegal_job_transition', jobStatus: 'cancelled' });
    }
  });

  it('fails a job the executor cannot train with a clear code, at once, and bills nothing', async () => {
    // A fine-tunable catalog model the local executor has no trainer for: a permanent error.
    const id = `custom-llama-${Date.now().toString(36)}`;
    await api.http
      .post('/v1/catalog/models')
      .set(admin())
      .send({
        id,
        family: 'llama',
        modality: 'chat',
        contextLength: 4096,
        regions: ['eu-west-1'],
        gpuType: 'h100',
        gpusPerReplica: 1,
        fineTunable: true,
      })
      .expect(201);
    const { tenantId, client } = await engineer([
      { metric: 'training_tokens', limit: 1_000_000, enforcement: 'hard' },
    ]);
    const file = await upload(client, trainingJsonl(4));
    const job = await client.fineTuning.jobs.create({ model: id, training_file: file.id });
    let done = job;
    await expectEventually(
      async () => {
        done = await client.fineTuning.jobs.retrieve(job.id);
        expect(done.status).toBe('failed');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(done.error).toMatchObject({ code: 'unsupported_base_model' });
    expect(done.error?.message).toContain(id);
    await expectEventually(async () => {
      expect(await ledger(tenantId, 'training_tokens')).toBe(0);
      expect(await ledger(tenantId, 'concurrent_fine_tuning_jobs')).toBe(0);
    });
  });

  it('checks the compliance profile again at admission, and stops an offboarded tenant’s jobs', async () => {
    const { tenantId, client } = await engineer([
      { metric: 'training_tokens', limit: 10_000_000, enforcement: 'hard' },
      { metric: 'concurrent_fine_tuning_jobs', limit: 1, enforcement: 'hard' },
    ]);
    const long = await upload(client, trainingJsonl(20));
    const short = await upload(client, trainingJsonl(4));
    const status = async (id: string) => (await client.fineTuning.jobs.retrieve(id)).status;
    const blocker = await client.fineTuning.jobs.create({
      model: MODEL,
      training_file: long.id,
      hyperparameters: { n_epochs: 50, batch_size: 1 },
    });
    await expectEventually(async () => expect(await status(blocker.id)).toBe('running'), {
      timeoutMs: 30_000,
    });
    const waiting = await client.fineTuning.jobs.create({ model: MODEL, training_file: short.id });
    await expectEventually(async () => expect(await status(waiting.id)).toBe('queued'));
    // The profile stops allowing llama while the job waits behind the cap of one.
    await api.http
      .put(`/v1/tenants/${tenantId}/compliance-profile`)
      .set(admin())
      .send({
        allowedRegions: ['eu-west-1'],
        allowedDataZones: [],
        allowedModelFamilies: ['mistral'],
        dataClassification: 'confidential',
        requiredCertifications: [],
        auditRetentionDays: 365,
      })
      .expect(200);
    await client.fineTuning.jobs.cancel(blocker.id);
    await expectEventually(async () => expect(await status(waiting.id)).toBe('failed'), {
      timeoutMs: 15_000,
    });
    expect((await client.fineTuning.jobs.retrieve(waiting.id)).error).toMatchObject({
      code: 'model_family_not_allowed',
      param: 'model',
    });

    // Offboarding: a running job stops (cancelled, no model), its slot is given back.
    const other = await engineer([
      { metric: 'training_tokens', limit: 10_000_000, enforcement: 'hard' },
    ]);
    const file = await upload(other.client, trainingJsonl(20));
    const running = await other.client.fineTuning.jobs.create({
      model: MODEL,
      training_file: file.id,
      hyperparameters: { n_epochs: 50, batch_size: 1 },
    });
    const staffView = async () =>
      (
        await api.http
          .get(`/v1/tenants/${other.tenantId}/fine_tuning/jobs/${running.id}`)
          .set(admin())
          .expect(200)
      ).body;
    await expectEventually(async () => expect((await staffView()).status).toBe('running'), {
      timeoutMs: 30_000,
    });
    await api.http
      .post(`/v1/tenants/${other.tenantId}/offboard`)
      .set(admin())
      .send({ reason: 'contract ended' })
      .expect(200);
    await expectEventually(async () => expect((await staffView()).status).toBe('cancelled'), {
      timeoutMs: 10_000,
    });
    expect((await staffView()).fine_tuned_model).toBeNull();
  });

  it('answers 404 for another tenant’s job, and lets staff read a tenant’s jobs', async () => {
    const owner = await engineer();
    const file = await upload(owner.client, trainingJsonl(4));
    const job = await owner.client.fineTuning.jobs.create({ model: MODEL, training_file: file.id });
    const stranger = await engineer();
    for (const path of ['', '/events', '/checkpoints']) {
      await api.http
        .get(`/v1/fine_tuning/jobs/${job.id}${path}`)
        .set(bearer(stranger.key))
        .expect(404);
    }
    await api.http
      .post(`/v1/fine_tuning/jobs/${job.id}/cancel`)
      .set(bearer(stranger.key))
      .expect(404);
    expect((await stranger.client.fineTuning.jobs.list()).data).toEqual([]);
    const staff = await api.http
      .get(`/v1/tenants/${owner.tenantId}/fine_tuning/jobs/${job.id}`)
      .set(admin())
      .expect(200);
    expect(staff.body.id).toBe(job.id);
    await api.http
      .get(`/v1/tenants/${stranger.tenantId}/fine_tuning/jobs/${job.id}`)
      .set(admin())
      .expect(404);
    // A viewer of the tenant may read, not create.
    const { key: viewer } = await createTenantKey(api, owner.tenantId, ['viewer']);
    await api.http.get(`/v1/fine_tuning/jobs/${job.id}`).set(bearer(viewer)).expect(200);
    await api.http
      .post('/v1/fine_tuning/jobs')
      .set(bearer(viewer))
      .send({ model: MODEL, training_file: file.id })
      .expect(403);
    // Operator staff have no jobs or files of their own: told where to look.
    const staffCreate = await api.http
      .post('/v1/fine_tuning/jobs')
      .set(admin())
      .send({ model: MODEL, training_file: file.id })
      .expect(403);
    expect(staffCreate.body.code).toBe('tenant_caller_required');
    expect(staffCreate.body.detail).toContain('/v1/tenants/');
    for (const path of ['/v1/files', '/v1/fine_tuning/jobs', `/v1/fine_tuning/jobs/${job.id}`]) {
      const res = await api.http.get(path).set(admin()).expect(403);
      expect(res.body.code).toBe('tenant_caller_required');
    }
  });

  it('creates one job per Idempotency-Key', async () => {
    const { key, client } = await engineer();
    const file = await upload(client, trainingJsonl(4));
    const send = () =>
      api.http
        .post('/v1/fine_tuning/jobs')
        .set(bearer(key))
        .set('Idempotency-Key', 'job-1')
        .send({ model: MODEL, training_file: file.id });
    const [a, b] = [await send().expect(200), await send().expect(200)];
    expect(b.body.id).toBe(a.body.id);
    expect((await client.fineTuning.jobs.list()).data).toHaveLength(1);
  });
});
