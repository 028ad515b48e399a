import { BIGINT_AS_NUMBER } from '@app/core';
import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An uploaded fine-tuning file (OpenAI "File object"); its bytes are in the FileStorage. */
@Entity('training_files')
export class TrainingFile {
  /** `file-` and 24 hex digits. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  filename!: string;

  @Column({ type: 'text' })
  purpose!: 'fine-tune';

  @Column({ type: 'bigint', transformer: BIGINT_AS_NUMBER })
  bytes!: number;

  /** Examples (non-blank lines). */
  @Column({ type: 'integer' })
  lineCount!: number;

  @Column({ type: 'text' })
  sha256!: string;

  /** Assistant tokens of one epoch over the file (the shared tokenizer); null before it was counted. */
  @Column({ type: 'bigint', nullable: true, transformer: BIGINT_AS_NUMBER })
  trainingTokens!: number | null;

  /** The tenant's data classification when the file was uploaded. */
  @Column({ type: 'text' })
  dataClassification!: string;

  @Column({ type: 'text', select: false })
  storageKey!: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;
}
