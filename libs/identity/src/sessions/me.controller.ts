import {
  asTenantId,
  Authenticated,
  CurrentAccess,
  PLATFORM_TENANT_ID,
  SESSION_COOKIE,
} from '@app/authz';
import { Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { SessionService } from './session.service';

class MeResponse {
  @ApiProperty({ description: '{type: user|api_key, id, email?, keyPrefix?}' })
  actor!: { type: string; id: string; email?: string; keyPrefix?: string };
  @ApiProperty({ type: String, nullable: true, description: 'null for operator staff' })
  tenantId!: string | null;
  @ApiProperty({ type: [String] }) roles!: string[];
  @ApiProperty({ type: [String] }) scopes!: string[];
  @ApiProperty({
    description:
      'Effective permissions as CASL rules: [{action, subject, conditions?, fields?, inverted?}]',
  })
  permissions!: unknown[];
}

@ApiTags('auth')
@Controller('v1')
export class MeController {
  constructor(
    private readonly access: CurrentAccess,
    private readonly sessions: SessionService,
  ) {}

  /** Who the caller is and what it may do (API.md: `GET /v1/me`). */
  @Get('me')
  @Authenticated()
  @ApiOkResponse({ type: MeResponse })
  me(): MeResponse {
    const { principal, ability } = this.access;
    return {
      actor: principal.actor,
      tenantId: principal.homeTenantId === PLATFORM_TENANT_ID ? null : principal.homeTenantId,
      roles: principal.roles,
      scopes: principal.scopes,
      permissions: ability.rules.map(({ action, subject, conditions, fields, inverted }) => ({
        action,
        subject,
        ...(conditions ? { conditions } : {}),
        ...(fields ? { fields } : {}),
        ...(inverted ? { inverted } : {}),
      })),
    };
  }

  /** Ends the caller's session and clears the cookie; with an API key it changes nothing. */
  @Post('auth/logout')
  @HttpCode(204)
  @Authenticated()
  @ApiNoContentResponse()
  async logout(@Res({ passthrough: true }) response: Response): Promise<void> {
    const { principal } = this.access;
    if (principal.sessionId)
      await this.sessions.end(asTenantId(principal.homeTenantId), principal.sessionId);
    const { maxAge: _maxAge, ...cookie } = this.sessions.cookieOptions();
    response.clearCookie(SESSION_COOKIE, cookie);
  }
}
