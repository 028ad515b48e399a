import { MigrationInterface, QueryRunner } from 'typeorm';

/** Platform table (not tenant-owned): one row per worker process, written by the heartbeat job. */
export class WorkerHeartbeats1764460800000 implements MigrationInterface {
  name = 'WorkerHeartbeats1764460800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE worker_heartbeats (
        worker_id    text PRIMARY KEY,
        hostname     text NOT NULL,
        pid          integer NOT NULL,
        started_at   timestamptz NOT NULL,
        last_beat_at timestamptz NOT NULL,
        beats        bigint NOT NULL DEFAULT 0,
        last_job_id  text
      )`);
    await queryRunner.query(
      `CREATE INDEX worker_heartbeats_last_beat_at_idx ON worker_heartbeats (last_beat_at DESC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE worker_heartbeats`);
  }
}
