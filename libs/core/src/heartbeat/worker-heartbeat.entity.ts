import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One row per worker process (`hostname:pid`), updated by each heartbeat job it processes. */
@Entity('worker_heartbeats')
export class WorkerHeartbeat {
  @PrimaryColumn({ type: 'text' })
  workerId!: string;

  @Column({ type: 'text' })
  hostname!: string;

  @Column({ type: 'integer' })
  pid!: number;

  @Column({ type: 'timestamptz' })
  startedAt!: Date;

  @Column({ type: 'timestamptz' })
  lastBeatAt!: Date;

  /** Heartbeat jobs this worker has processed since it started. */
  @Column({ type: 'bigint', transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  beats!: number;

  @Column({ type: 'text', nullable: true })
  lastJobId!: string | null;
}
