import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SLA minutes that change after their evaluation (SLA library, issue 11).
 *
 * - `sla_evaluation_state.late_from`: the earliest minute the rollup (re)wrote for the tenant
 *   after the evaluation had already passed it (a long stream's sample lands in the minute it
 *   started in; a worker that was away rolls up late). The next evaluation looks again at the
 *   minutes from there to where it had stopped, then clears it. Rollups and evaluations never
 *   run at once (an advisory lock, exclusive for the rollup, shared for evaluations), so a
 *   minute is never both unseen by an evaluation and unmarked.
 */
export class SlaLateMinutes1764635300000 implements MigrationInterface {
  name = 'SlaLateMinutes1764635300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE sla_evaluation_state ADD COLUMN late_from timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE sla_evaluation_state DROP COLUMN late_from`);
  }
}
