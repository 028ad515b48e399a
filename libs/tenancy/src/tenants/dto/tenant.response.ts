import { ApiProperty } from '@nestjs/swagger';
import type { Tenant } from '../tenant.entity';

export class TenantResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() slug!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;

  static of(tenant: Tenant): TenantResponse {
    return {
      id: tenant.id,
      slug: tenant.slug,
      name: tenant.name,
      createdAt: tenant.createdAt.toISOString(),
      updatedAt: tenant.updatedAt.toISOString(),
    };
  }
}

export class TenantPage {
  @ApiProperty({ type: [TenantResponse] }) data!: TenantResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
