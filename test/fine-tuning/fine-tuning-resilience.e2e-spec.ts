import {
  bearer,
  createTenantKey,
  deployableTenant,
  expectEventually,
  ledgerSum,
  retireFineTuningJobs,
  TestApp,
  trainingJsonl,
  freePort,
} from '@app/testing';
import { TenantDb } from '@app/authz';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startApi } from '../support/api';
import { startWorker } from '../support/worker';

const MODEL = 'llama-3-8b-local';
const ROOT = join(__dirname, '..', '..');
jest.setTimeout(240_000);

/** `apps/worker` as a process of its own (ts-node), on this jest worker's database and Redis. */
async function spawnWorker(env: Record<string, string>): Promise<ChildProcess> {
  return spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      'apps/worker/src/main.ts',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, WORKER_PORT: String(await freePort()), LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/**
 * Fine-tuning under faults and load: a worker killed mid-training (SIGKILL, a real process)
 * leaves a job that another worker resumes from its last checkpoint, with no duplicate events,
 * checkpoints or usage; admission is fair across tenants.
 */
describe('fine-tuning under faults and load', () => {
  let api: TestApp;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await retireFineTuningJobs(api);
    await api.close();
  });

  async function engineer() {
    const tenantId = await deployableTenant(api, {
      lines: [{ metric: 'training_tokens', limit: 100_000_000, enforcement: 'hard' }],
    });
    const { key } = await createTenantKey(api, tenantId, ['ml_engineer']);
    return { tenantId, key };
  }

  async function upload(key: string, bytes: Buffer): Promise<string> {
    const res = await api.http
      .post('/v1/files')
      .set(bearer(key))
      .field('purpose', 'fine-tune')
      .attach('file', bytes, 'train.jsonl')
      .expect(200);
    return res.body.id;
  }

  const ledger = (tenantId: string, metric: string) => ledgerSum(api, tenantId, metric);

  it('resumes a job from its last checkpoint after its worker is killed, with nothing twice', async () => {
    const { tenantId, key } = await engineer();
    const file = await upload(key, trainingJsonl(40));
    const env = {
      FINE_TUNING_LOCK_MS: '2000',
      FINE_TUNING_STEP_DELAY_MS: '30',
      FINE_TUNING_SWEEP_INTERVAL_MS: '1000',
    };
    const child = await spawnWorker(env);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let survivor: TestApp | undefined;
    try {
      const created = await api.http
        .post('/v1/fine_tuning/jobs')
        .set(bearer(key))
        .send({
          model: MODEL,
          training_file: file,
          hyperparameters: { n_epochs: 8, batch_size: 4 },
          seed: 3,
        })
        .expect(200);
      const jobId: string = created.body.id;
      const checkpoints = async () =>
        (
          await api.http
            .get(`/v1/fine_tuning/jobs/${jobId}/checkpoints`)
            .set(bearer(key))
            .expect(200)
        ).body.data as { step_number: number }[];
      // The child process trains it; kill it once two epochs are saved, mid-training.
      await expectEventually(
        async () => expect((await checkpoints()).length).toBeGreaterThanOrEqual(2),
        {
          timeoutMs: 90_000,
          intervalMs: 100,
        },
      );
      child.kill('SIGKILL');
      await exited;
      const atKill = (await checkpoints()).length;
      expect(atKill).toBeLessThan(8);

      // Another worker: once the dead worker's lock lapses, it resumes the job.
      survivor = await startWorker({ env });
      let job: Record<string, unknown> = {};
      await expectEventually(
        async () => {
          job = (await api.http.get(`/v1/fine_tuning/jobs/${jobId}`).set(bearer(key)).expect(200))
            .body;
          expect(job.status).toBe('succeeded');
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      expect(job.trained_tokens).toBe(job.estimated_tokens);

      const events: { type: string; message: string; data: { step?: number } | null }[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await api.http
          .get(`/v1/fine_tuning/jobs/${jobId}/events`)
          .query({ limit: 100, ...(after ? { after } : {}) })
          .set(bearer(key))
          .expect(200);
        events.push(...page.body.data);
        if (!page.body.has_more) break;
        after = page.body.data[page.body.data.length - 1].id;
      }
      const steps = events.filter((e) => e.type === 'metrics').map((e) => e.data!.step!);
      expect(steps.sort((a, b) => a - b)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
      const resumed = events.filter((e) => e.message.startsWith('Resumed from the checkpoint'));
      expect(resumed).toHaveLength(1);
      expect(resumed[0].message).toContain(`step ${atKill * 10}`);
      expect((await checkpoints()).map((c) => c.step_number)).toEqual(
        Array.from({ length: 8 }, (_, i) => 80 - i * 10),
      );
      // Settled just after the job turns `succeeded` (the runner's `settle`).
      await expectEventually(async () => {
        expect(await ledger(tenantId, 'training_tokens')).toBe(job.trained_tokens);
        expect(await ledger(tenantId, 'concurrent_fine_tuning_jobs')).toBe(0);
      });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await survivor?.close();
    }
  });

  it('starts another tenant’s first job before the tenth of a tenant that queued 200', async () => {
    const a = await engineer();
    const b = await engineer();
    const fileA = await upload(a.key, trainingJsonl(4));
    const fileB = await upload(b.key, trainingJsonl(4));
    const create = (key: string, file: string) =>
      api.http
        .post('/v1/fine_tuning/jobs')
        .set(bearer(key))
        .send({
          model: MODEL,
          training_file: file,
          hyperparameters: { n_epochs: 1, batch_size: 1 },
        })
        .then((res) => {
          if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
          return res;
        });
    // A queues 200 jobs (the first alone: it loads the tenant's quota counters; then ten at a
    // time), then B queues one; no worker runs yet.
    await create(a.key, fileA);
    for (let i = 1; i < 200; i += 9) {
      await Promise.all(Array.from({ length: Math.min(9, 200 - i) }, () => create(a.key, fileA)));
    }
    const bJob: string = (await create(b.key, fileB)).body.id;

    const worker = await startWorker({
      env: {
        FINE_TUNING_MAX_RUNNING: '2',
        FINE_TUNING_WORKER_CONCURRENCY: '2',
        FINE_TUNING_STEP_DELAY_MS: '50',
        FINE_TUNING_SWEEP_INTERVAL_MS: '1000',
      },
    });
    try {
      await expectEventually(
        async () => {
          const res = await api.http.get(`/v1/fine_tuning/jobs/${bJob}`).set(bearer(b.key));
          expect(res.body.status).toBe('succeeded');
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    } finally {
      await worker.close();
    }
    const started = (await api.app
      .get(TenantDb)
      .asPlatform('test: the start order of the jobs', (manager) =>
        // In the order of admission: each job's `status:running` event, numbered by one
        // sequence (admissions take turns under one lock), not by clock readings.
        manager.query(
          `SELECT j.tenant_id, j.id FROM fine_tuning_jobs j
             JOIN fine_tuning_job_events e ON e.job_id = j.id AND e.key = 'status:running'
            WHERE j.tenant_id = ANY($1)
            ORDER BY e.seq`,
          [[a.tenantId, b.tenantId]],
        ),
      )) as { tenant_id: string; id: string }[];
    const bRank = started.findIndex((row) => row.id === bJob);
    const aBefore = started.slice(0, bRank).filter((row) => row.tenant_id === a.tenantId).length;
    expect(aBefore).toBeLessThan(10);
    // A's jobs start in the order A queued them (FIFO within a tenant).
    const aCreated = (await api.app
      .get(TenantDb)
      .asPlatform('test: A’s jobs in creation order', (manager) =>
        manager.query(
          `SELECT j.id FROM fine_tuning_jobs j
            WHERE j.tenant_id = $1 AND EXISTS (SELECT 1 FROM fine_tuning_job_events e
                                                WHERE e.job_id = j.id AND e.key = 'status:running')
            ORDER BY j.created_at, j.id`,
          [a.tenantId],
        ),
      )) as { id: string }[];
    expect(started.filter((row) => row.tenant_id === a.tenantId).map((r) => r.id)).toEqual(
      aCreated.map((r) => r.id),
    );
  });
});
