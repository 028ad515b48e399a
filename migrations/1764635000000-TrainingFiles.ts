import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `training_files`: a tenant's uploaded files (OpenAI `/v1/files`, purpose `fine-tune`), checked
 * line by line at upload, their bytes in the file storage (`storage_key`), tagged with the
 * tenant's data classification at upload time.
 */
export class TrainingFiles1764635000000 implements MigrationInterface {
  name = 'TrainingFiles1764635000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE training_files (
        id                  text PRIMARY KEY CHECK (id ~ '^file-[0-9a-f]{24}$'),
        tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        filename            text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
        purpose             text NOT NULL CHECK (purpose IN ('fine-tune')),
        bytes               bigint NOT NULL CHECK (bytes >= 0),
        line_count          integer NOT NULL CHECK (line_count >= 0),
        sha256              text NOT NULL,
        data_classification text NOT NULL,
        storage_key         text NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now(),
        created_by          text,
        UNIQUE (tenant_id, id)
      )`);
    await queryRunner.query(
      `CREATE INDEX training_files_tenant_created_idx ON training_files (tenant_id, created_at DESC, id DESC)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'training_files');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'training_files');
    await queryRunner.query(`DROP TABLE training_files`);
  }
}
