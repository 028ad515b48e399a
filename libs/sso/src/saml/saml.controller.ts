import { cookieOf, SESSION_COOKIE } from '@app/authz';
import { Public } from '@app/core';
import { SessionService } from '@app/identity';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiFoundResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { DiscoverDto, DiscoverResponse } from '../domains/dto/sso-domain.dto';
import { SamlLoginRefused } from '../sso-problems';
import { LOGIN_COOKIE, loginCookieOptions } from './login-binding';
import { SsoDiscoveryService } from './sso-discovery.service';
import { SamlLoginService, SignedIn } from './saml-login.service';

/**
 * The SAML service provider of each tenant (`/sso/saml/{tenantSlug}/...`) and home-realm
 * discovery. Public: the browser is not signed in yet; everything it sends is checked here.
 */
@ApiTags('sso')
@Controller('sso')
export class SamlController {
  constructor(
    private readonly login: SamlLoginService,
    private readonly discovery: SsoDiscoveryService,
    private readonly sessions: SessionService,
  ) {}

  @Get('saml/:tenantSlug/metadata')
  @Public()
  @ApiProduces('application/samlmetadata+xml')
  @ApiOkResponse({
    description: 'SP metadata: entity ID, ACS URL, NameID format, our certificate.',
  })
  @ApiNotFoundResponse({ description: 'No such tenant.' })
  async metadata(@Param('tenantSlug') slug: string, @Res() response: Response): Promise<void> {
    const xml = await this.login.metadata(slug);
    response.type('application/samlmetadata+xml').send(xml);
  }

  @Get('saml/:tenantSlug/login')
  @Public()
  @ApiFoundResponse({
    description:
      'To the IdP with an AuthnRequest (HTTP-Redirect), setting the `cp_saml_login` cookie (HttpOnly, Secure, SameSite=None, path `/sso/saml/{tenantSlug}`, SAML_REQUEST_TTL_MS) that binds the request to this browser: the ACS accepts the response only from it.',
  })
  @ApiBadRequestResponse({ description: '`validation_failed`: RelayState is not a relative path.' })
  @ApiNotFoundResponse({ description: 'No such tenant, or `sso_not_configured`.' })
  async start(
    @Param('tenantSlug') slug: string,
    @Query('RelayState') relayState: unknown,
    @Res() response: Response,
  ): Promise<void> {
    const started = await this.login.startLogin(slug, relayState);
    response.setHeader('Cache-Control', 'no-store');
    response.cookie(LOGIN_COOKIE, started.loginCookie.value, started.loginCookie.options);
    if ('redirect' in started) response.redirect(302, started.redirect);
    else response.type('html').send(started.html);
  }

  @Post('saml/:tenantSlug/acs')
  @Public()
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['SAMLResponse'],
      properties: {
        SAMLResponse: { type: 'string', description: 'base64 SAML Response (HTTP-POST binding)' },
        RelayState: { type: 'string', description: 'where to go after sign-in: a path here' },
      },
    },
  })
  @ApiResponse({
    status: 303,
    description:
      'Signed in: sets the `cp_session` cookie and goes to the RelayState (or `/`). Signed in or refused, the `cp_saml_login` cookie the browser sent is cleared.',
  })
  @ApiResponse({
    status: 401,
    description:
      'HTML page: refused (bad signature, audience, times, InResponseTo, `browser_mismatch`: a response to a sign-in this browser did not start, replay, …); 403 for an unverified email domain, no role or a disabled user; 413 for a SAMLResponse over SAML_MAX_RESPONSE_BYTES. The reason code is also in the audit log (`saml.login`).',
  })
  @ApiNotFoundResponse({ description: 'No such tenant.' })
  async acs(
    @Param('tenantSlug') slug: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    response.setHeader('Cache-Control', 'no-store');
    const body = (request.body ?? {}) as Record<string, unknown>;
    const loginCookie = cookieOf(request, LOGIN_COOKIE);
    let outcome: SignedIn | SamlLoginRefused;
    try {
      outcome = await this.login.acs(
        slug,
        body,
        { ip: request.ip, userAgent: request.headers['user-agent'] },
        loginCookie,
      );
    } catch (error) {
      if (!(error instanceof SamlLoginRefused)) throw error;
      outcome = error;
    }
    // The sign-in the cookie bound is over, answered or refused: it has no further use.
    if (loginCookie !== undefined) response.clearCookie(LOGIN_COOKIE, loginCookieOptions(slug));
    if (outcome instanceof SamlLoginRefused) {
      response.status(outcome.status).type('html').send(refusalPage(outcome));
      return;
    }
    response.cookie(SESSION_COOKIE, outcome.token, this.sessions.cookieOptions());
    response.redirect(303, outcome.redirectTo);
  }

  @Post('discover')
  @Public()
  @HttpCode(200)
  @ApiOkResponse({ type: DiscoverResponse })
  @ApiBadRequestResponse({ description: '`validation_failed`: not an email.' })
  @ApiNotFoundResponse({ description: '`sso_not_configured`' })
  async discover(@Body() body: DiscoverDto): Promise<DiscoverResponse> {
    return { loginUrl: await this.discovery.loginUrlFor(body.email) };
  }
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A readable page for the person whose sign-in was refused (the code matches the audit log). */
function refusalPage(error: SamlLoginRefused): string {
  const title =
    error.code === 'no_role'
      ? 'You have no role in this organization'
      : error.code === 'idp_status'
        ? 'Your identity provider refused the sign-in'
        : 'Sign-in failed';
  const advice =
    error.code === 'no_role'
      ? 'You were identified, but none of your groups gives you access here. Ask your administrator to add you to a group that has a role.'
      : error.code === 'browser_mismatch'
        ? 'This sign-in was not started in this browser, or a later sign-in here replaced it. If you did not just sign in, close this page. Otherwise start again from the sign-in page, in this browser.'
        : 'Try signing in again from the start. If it keeps failing, give your administrator the reason below.';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1><p>${escape(advice)}</p><p>Reason: <code>${escape(error.code)}</code> — ${escape(error.detail)}</p></body></html>`;
}
