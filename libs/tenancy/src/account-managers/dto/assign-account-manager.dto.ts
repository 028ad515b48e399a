import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

/** `POST /v1/tenants/{tenantId}/account-managers`. */
export class AssignAccountManagerDto {
  @ApiProperty({
    format: 'uuid',
    description: 'An operator staff user holding the account_manager role.',
  })
  @IsUUID()
  userId!: string;
}

export class AccountManagerAssignmentResponse {
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

/** `GET /v1/tenants/{tenantId}/account-managers` (API.md, Lists). */
export class AccountManagerAssignmentPage {
  @ApiProperty({ type: [AccountManagerAssignmentResponse] })
  data!: AccountManagerAssignmentResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}
