import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fine-tuning jobs (OpenAI `/v1/fine_tuning/jobs`):
 * - `fine_tuning_jobs`: the job, its resolved hyperparameters and status; `queued_at` is when its
 *   files passed validation (a tenant's waiting jobs are admitted in creation order, FIFO);
 *   `cancel_requested_at` is the flag a running executor checks; the reservation columns name
 *   the quota holds taken at admission, and `usage_settled` says whether they have been settled
 *   (committed or released) since the job finished.
 * - `fine_tuning_job_events`: progress (status changes, per-step losses), each with a `key`
 *   unique per job, so a step re-run after a worker crash adds no duplicate.
 * - `fine_tuning_checkpoints`: one per epoch, the model saved at that step (`artifact_path`).
 * - `training_files.training_tokens`: the assistant tokens of one epoch over the file, counted at
 *   upload (null for files uploaded before), what a job's estimate multiplies by its epochs.
 * - `fine_tuning_tenant_admissions`: when each tenant last had a job admitted; admission serves
 *   the tenant waiting longest since its last one first (fair across tenants).
 */
export class FineTuningJobs1764635100000 implements MigrationInterface {
  name = 'FineTuningJobs1764635100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE fine_tuning_jobs (
        id                      text PRIMARY KEY CHECK (id ~ '^ftjob-[0-9a-f]{24}$'),
        tenant_id               uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        model                   text NOT NULL,
        training_file           text NOT NULL,
        validation_file         text,
        n_epochs                integer NOT NULL CHECK (n_epochs BETWEEN 1 AND 50),
        batch_size              integer NOT NULL CHECK (batch_size BETWEEN 1 AND 256),
        learning_rate_multiplier double precision NOT NULL
                                CHECK (learning_rate_multiplier > 0 AND learning_rate_multiplier <= 50),
        suffix                  text,
        seed                    integer NOT NULL,
        metadata                jsonb,
        status                  text NOT NULL CHECK (status IN ('validating_files', 'queued',
                                  'running', 'succeeded', 'failed', 'cancelled')),
        estimated_tokens        bigint NOT NULL CHECK (estimated_tokens >= 0),
        trained_tokens          bigint,
        fine_tuned_model        text,
        error                   jsonb,
        queued_at               timestamptz,
        started_at              timestamptz,
        finished_at             timestamptz,
        cancel_requested_at     timestamptz,
        training_reservation_id text,
        slot_event_id           uuid,
        usage_settled           boolean NOT NULL DEFAULT false,
        created_at              timestamptz NOT NULL DEFAULT now(),
        created_by              text,
        UNIQUE (tenant_id, id)
      )`);
    await queryRunner.query(
      `CREATE INDEX fine_tuning_jobs_tenant_created_idx
         ON fine_tuning_jobs (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX fine_tuning_jobs_waiting_idx ON fine_tuning_jobs (tenant_id, created_at, id)
         WHERE status = 'queued'`,
    );
    await queryRunner.query(
      `CREATE INDEX fine_tuning_jobs_active_idx ON fine_tuning_jobs (tenant_id, status)
         WHERE status IN ('validating_files', 'queued', 'running')`,
    );
    await queryRunner.query(`
      CREATE TABLE fine_tuning_job_events (
        id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq        bigserial NOT NULL,
        tenant_id  uuid NOT NULL,
        job_id     text NOT NULL,
        key        text NOT NULL,
        level      text NOT NULL CHECK (level IN ('info', 'warn', 'error')),
        type       text NOT NULL CHECK (type IN ('message', 'metrics')),
        message    text NOT NULL,
        data       jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (tenant_id, job_id) REFERENCES fine_tuning_jobs (tenant_id, id) ON DELETE CASCADE,
        UNIQUE (job_id, key)
      )`);
    await queryRunner.query(
      `CREATE INDEX fine_tuning_job_events_job_idx ON fine_tuning_job_events (tenant_id, job_id, seq DESC)`,
    );
    await queryRunner.query(`
      CREATE TABLE fine_tuning_checkpoints (
        id            text PRIMARY KEY CHECK (id ~ '^ftckpt-[0-9a-f]{24}$'),
        tenant_id     uuid NOT NULL,
        job_id        text NOT NULL,
        step_number   integer NOT NULL CHECK (step_number >= 1),
        epoch         integer NOT NULL CHECK (epoch >= 1),
        metrics       jsonb NOT NULL,
        trained_tokens bigint NOT NULL CHECK (trained_tokens >= 0),
        artifact_path text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        FOREIGN KEY (tenant_id, job_id) REFERENCES fine_tuning_jobs (tenant_id, id) ON DELETE CASCADE,
        UNIQUE (job_id, epoch)
      )`);
    await queryRunner.query(
      `CREATE INDEX fine_tuning_checkpoints_job_idx ON fine_tuning_checkpoints (tenant_id, job_id, step_number DESC)`,
    );
    await queryRunner.query(`
      CREATE TABLE fine_tuning_tenant_admissions (
        tenant_id         uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
        last_admitted_at  timestamptz NOT NULL
      )`);
    // What a job's estimate needs, counted once at upload rather than at every job created.
    await queryRunner.query(
      `ALTER TABLE training_files ADD COLUMN training_tokens bigint CHECK (training_tokens >= 0)`,
    );
    for (const table of [
      'fine_tuning_jobs',
      'fine_tuning_job_events',
      'fine_tuning_checkpoints',
      'fine_tuning_tenant_admissions',
    ]) {
      await enableTenantRowLevelSecurity(queryRunner, table);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE training_files DROP COLUMN training_tokens`);
    for (const table of [
      'fine_tuning_tenant_admissions',
      'fine_tuning_checkpoints',
      'fine_tuning_job_events',
      'fine_tuning_jobs',
    ]) {
      await disableTenantRowLevelSecurity(queryRunner, table);
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
