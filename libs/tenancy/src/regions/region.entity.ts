import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A region of the operator's infrastructure (platform-wide catalog, not tenant-owned). */
@Entity('regions')
export class Region {
  /** e.g. `eu-west-1`. */
  @PrimaryColumn({ type: 'text' })
  code!: string;

  @Column({ type: 'text' })
  name!: string;

  /** Jurisdiction the region's data stays in, e.g. `eu`, `us`. */
  @Column({ type: 'text' })
  dataZone!: string;

  @Column({ type: 'text', array: true })
  certifications!: string[];

  /** GPUs by type, e.g. `{"h100": 64}`. */
  @Column({ type: 'jsonb' })
  gpuCapacity!: Record<string, number>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt!: Date;
}
