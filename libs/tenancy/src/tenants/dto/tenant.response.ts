import { ApiProperty } from '@nestjs/swagger';
import { storedProfile } from '../../compliance/compliance-profile';
import {
  ComplianceProfileResponse,
  ComplianceProfileVersionResponse,
} from '../../compliance/compliance-profile.dto';
import { TENANT_STATUSES, TenantStatus } from '../tenant-lifecycle';
import type { ComplianceProfileVersion, Tenant } from '../tenant.entity';

export class TenantResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() slug!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: TENANT_STATUSES }) status!: TenantStatus;
  @ApiProperty({ type: String, nullable: true }) statusReason!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  statusChangedAt!: string | null;
  @ApiProperty({ example: 'Europe/Berlin' }) billingTimeZone!: string;
  @ApiProperty({ type: ComplianceProfileResponse }) complianceProfile!: ComplianceProfileResponse;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;

  static of(tenant: Tenant): TenantResponse {
    return {
      id: tenant.id,
      slug: tenant.slug,
      name: tenant.name,
      status: tenant.status,
      statusReason: tenant.statusReason,
      statusChangedAt: tenant.statusChangedAt?.toISOString() ?? null,
      billingTimeZone: tenant.billingTimeZone,
      complianceProfile: profileResponse(tenant),
      createdAt: tenant.createdAt.toISOString(),
      updatedAt: tenant.updatedAt.toISOString(),
    };
  }
}

export function profileResponse(tenant: Tenant): ComplianceProfileResponse {
  return { ...storedProfile(tenant.complianceProfile), version: tenant.complianceProfileVersion };
}

export function profileVersionResponse(
  v: ComplianceProfileVersion,
): ComplianceProfileVersionResponse {
  return {
    ...storedProfile(v.profile),
    version: v.version,
    createdAt: v.createdAt.toISOString(),
    createdBy: v.createdBy,
  };
}

export class TenantPage {
  @ApiProperty({ type: [TenantResponse] }) data!: TenantResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
