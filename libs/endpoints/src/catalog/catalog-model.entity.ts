import { Column, Entity, PrimaryColumn } from 'typeorm';

export const MODALITIES = ['chat', 'completion', 'embedding'] as const;
export type Modality = (typeof MODALITIES)[number];

/**
 * A model of the catalog (API.md `GET /v1/catalog/models`). Base models belong to the operator
 * (`tenantId` null) and every tenant sees them; a fine-tuned model belongs to its tenant, names
 * its `baseModelId` and where its weights are (`artifactUri`).
 */
@Entity('catalog_models')
export class CatalogModel {
  /** e.g. `llama-3-8b-local`, or `ft:llama-3-8b-local:acme:support:ftjob-…` for fine-tuned ones. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'uuid', nullable: true })
  tenantId!: string | null;

  /** What compliance profiles allow or refuse (`allowedModelFamilies`), e.g. `llama`. */
  @Column({ type: 'text' })
  family!: string;

  @Column({ type: 'text' })
  modality!: Modality;

  /** Tokens. */
  @Column({ type: 'integer' })
  contextLength!: number;

  /** Region codes the model is offered in. */
  @Column({ type: 'text', array: true })
  regions!: string[];

  /** GPU type of a replica, a key of the regions' `gpuCapacity` (e.g. `h100`). */
  @Column({ type: 'text' })
  gpuType!: string;

  @Column({ type: 'integer' })
  gpusPerReplica!: number;

  @Column({ type: 'boolean' })
  fineTunable!: boolean;

  @Column({ type: 'text', nullable: true })
  baseModelId!: string | null;

  @Column({ type: 'text', nullable: true })
  artifactUri!: string | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
