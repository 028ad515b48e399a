import { ApiProperty } from '@nestjs/swagger';

/** A user as the API shows it (`GET /v1/platform/users`, `/v1/tenants/{tenantId}/users`). */
export class UserResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) tenantId!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ type: String, nullable: true }) displayName!: string | null;
  @ApiProperty({ enum: ['active', 'disabled'] }) status!: string;
  @ApiProperty({
    type: [String],
    description:
      "Tenant members' roles come from their identity provider's groups (the SAML connection's group-to-role rules) and are replaced at each SSO sign-in; they are not edited here.",
  })
  roles!: string[];
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When the user last signed in (their newest session); null if never.',
  })
  lastSignInAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class UserPage {
  @ApiProperty({ type: [UserResponse] }) data!: UserResponse[];
  @ApiProperty({ type: String, nullable: true }) nextCursor!: string | null;
}

/** The API's view of a user with its roles and last sign-in (also the audit log's before). */
export function userResponse(
  user: Pick<UserResponse, 'id' | 'tenantId' | 'email' | 'displayName' | 'status' | 'roles'> & {
    createdAt: Date;
    lastSignInAt?: Date | null;
  },
): UserResponse {
  return {
    id: user.id,
    tenantId: user.tenantId,
    email: user.email,
    displayName: user.displayName,
    status: user.status,
    roles: user.roles,
    lastSignInAt: user.lastSignInAt?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
  };
}
