import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CONTRACT_STATUSES, ContractStatus, effectiveContractStatus } from '../contract-lifecycle';
import type { BillingModel, SlaTerms } from '../contract-terms';
import type { ContractView } from '../contract.service';
import { QuotaLineDto, SlaTermsDto } from './contract.dto';

/** A contract with the terms of one version (the one in force at `asOf`, or now). */
export class ContractResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
  @ApiProperty() contractNumber!: string;
  @ApiProperty({ enum: CONTRACT_STATUSES }) status!: ContractStatus;
  @ApiProperty({ type: 'integer', minimum: 1, description: 'The version whose terms are shown.' })
  version!: number;
  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'The latest version (amendments included).',
  })
  latestVersion!: number;
  @ApiProperty({ format: 'date-time', description: 'When the shown version takes effect.' })
  effectiveFrom!: string;
  @ApiProperty({ format: 'date-time' }) termStart!: string;
  @ApiProperty({ format: 'date-time' }) termEnd!: string;
  @ApiProperty({ format: 'date-time', description: 'termEnd, or when it was terminated.' })
  endsAt!: string;
  @ApiProperty({ example: 'Europe/Berlin' }) billingTimeZone!: string;
  @ApiProperty({ type: String, nullable: true, example: 'USD' }) currency!: string | null;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
  })
  committedSpendMinor!: number | null;
  @ApiProperty({ type: String, nullable: true, enum: ['prepaid', 'postpaid_commitment'] })
  billingModel!: BillingModel | null;
  @ApiProperty({ type: SlaTermsDto, nullable: true }) sla!: SlaTerms | null;
  @ApiProperty({ type: [QuotaLineDto] }) quotaLines!: QuotaLineDto[];
  @ApiPropertyOptional({ type: String, nullable: true, description: 'Why this version was made.' })
  amendmentReason!: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) renewalOf!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) activatedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) terminatedAt!: string | null;
  @ApiProperty({ type: String, nullable: true }) terminationReason!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;

  static of({ contract, version, quotaLines }: ContractView, now = new Date()): ContractResponse {
    return {
      id: contract.id,
      tenantId: contract.tenantId,
      contractNumber: contract.contractNumber,
      status: effectiveContractStatus(contract, now),
      version: version.version,
      latestVersion: contract.currentVersion,
      effectiveFrom: version.effectiveFrom.toISOString(),
      termStart: contract.termStart.toISOString(),
      termEnd: contract.termEnd.toISOString(),
      endsAt: contract.endsAt.toISOString(),
      billingTimeZone: contract.billingTimeZone,
      currency: contract.currency,
      committedSpendMinor: version.committedSpendMinor,
      billingModel: version.billingModel,
      sla: version.sla,
      quotaLines: quotaLines.map((line) => ({
        metric: line.metric,
        limit: line.limit,
        period: line.period,
        enforcement: line.enforcement,
        ...(line.overageUnitPriceMinor != null
          ? { overageUnitPriceMinor: line.overageUnitPriceMinor }
          : {}),
      })),
      amendmentReason: version.reason,
      renewalOf: contract.renewalOf,
      activatedAt: contract.activatedAt?.toISOString() ?? null,
      terminatedAt: contract.terminatedAt?.toISOString() ?? null,
      terminationReason: contract.terminationReason,
      createdAt: contract.createdAt.toISOString(),
      updatedAt: contract.updatedAt.toISOString(),
    };
  }
}

export class ContractPage {
  @ApiProperty({ type: [ContractResponse] }) data!: ContractResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

export class ContractVersionResponse {
  @ApiProperty({ type: 'integer', minimum: 1 }) version!: number;
  @ApiProperty({ format: 'date-time' }) effectiveFrom!: string;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
  })
  committedSpendMinor!: number | null;
  @ApiProperty({ type: String, nullable: true }) billingModel!: BillingModel | null;
  @ApiProperty({ type: SlaTermsDto, nullable: true }) sla!: SlaTerms | null;
  @ApiProperty({ type: [QuotaLineDto] }) quotaLines!: QuotaLineDto[];
  @ApiProperty({ type: String, nullable: true }) reason!: string | null;
  @ApiProperty({ type: String, nullable: true }) createdBy!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class ContractVersionList {
  @ApiProperty({ type: [ContractVersionResponse] }) data!: ContractVersionResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
