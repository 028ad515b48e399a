import { TenantDb, TenantId } from '@app/authz';
import {
  AppConfig,
  Conflict,
  InjectConfig,
  NotFound,
  Page,
  RequestContext,
  tenantRowsNewestFirst,
} from '@app/core';
import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { QueryFailedError } from 'typeorm';
import { DomainTaken, DomainVerificationFailed } from '../sso-problems';
import { SsoDomain } from './sso-domain.entity';

/** The label under which the TXT record proving a domain is published. */
export const TXT_LABEL = '_cp-verification';

export interface SsoDomainView {
  id: string;
  domain: string;
  status: 'pending' | 'verified';
  txtRecordName: string;
  txtRecordValue: string;
  verifiedAt: string | null;
  createdAt: string;
}

/**
 * A tenant's claimed email domains. Claiming one answers a DNS TXT record to publish
 * (`_cp-verification.<domain>` = `cp-verification=<random>`); verifying looks it up with
 * `node:dns` against `DNS_RESOLVERS` (else the system's). Only verified domains let people
 * sign in with SSO and answer home-realm discovery; a domain is verified for one tenant only.
 */
@Injectable()
export class SsoDomainService {
  constructor(
    private readonly db: TenantDb,
    private readonly context: RequestContext,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** @throws Conflict (409) when the tenant already claimed it */
  async claim(tenantId: TenantId, domain: string): Promise<SsoDomain> {
    const repository = this.db.manager.getRepository(SsoDomain);
    const name = normalizeDomain(domain);
    if (await repository.findOneBy({ tenantId, domain: name })) {
      throw new Conflict(`${name} is already claimed by this tenant.`);
    }
    const saved = await repository.save(
      repository.create({
        tenantId,
        domain: name,
        status: 'pending',
        verificationToken: `cp-verification=${randomBytes(24).toString('base64url')}`,
        verifiedAt: null,
      }),
    );
    return this.get(tenantId, saved.id);
  }

  async list(tenantId: TenantId, limit: number, after?: string): Promise<Page<SsoDomain>> {
    return tenantRowsNewestFirst(this.db.manager, SsoDomain, tenantId, limit, after);
  }

  /** @throws NotFound (another tenant's included) */
  async get(tenantId: TenantId, id: string): Promise<SsoDomain> {
    const domain = await this.db.manager.getRepository(SsoDomain).findOneBy({ tenantId, id });
    if (!domain) throw new NotFound('No such domain.');
    return domain;
  }

  /**
   * Looks the TXT record up and marks the domain verified when one of its strings is the token.
   * Verifying an already verified domain checks again (and keeps it verified when it passes).
   *
   * @throws NotFound; DomainVerificationFailed (422) saying what DNS answered; DomainTaken (409)
   */
  async verify(tenantId: TenantId, id: string): Promise<SsoDomain> {
    const domain = await this.get(tenantId, id);
    this.context.recordBefore(this.view(domain));
    const name = `${TXT_LABEL}.${domain.domain}`;
    const resolver = new Resolver({ timeout: 3_000, tries: 2 });
    if (this.config.DNS_RESOLVERS) resolver.setServers(this.config.DNS_RESOLVERS);
    let values: string[];
    try {
      values = (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new DomainVerificationFailed(
        code === 'ENODATA' || code === 'ENOTFOUND'
          ? `DNS has no TXT record at ${name} yet.`
          : `DNS could not be asked about ${name} (${code ?? 'error'}); try again.`,
      );
    }
    if (!values.includes(domain.verificationToken)) {
      throw new DomainVerificationFailed(
        `The TXT records at ${name} (${values.length}) do not include this domain's token.`,
      );
    }
    try {
      await this.db.manager.transaction((tx) =>
        tx
          .getRepository(SsoDomain)
          .update({ tenantId, id }, { status: 'verified', verifiedAt: () => 'now()' }),
      );
    } catch (error) {
      if (
        error instanceof QueryFailedError &&
        (error.driverError as { code?: string }).code === '23505'
      ) {
        throw new DomainTaken(`${domain.domain} is verified by another tenant.`);
      }
      throw error;
    }
    return this.get(tenantId, id);
  }

  /** @throws NotFound */
  async remove(tenantId: TenantId, id: string): Promise<void> {
    const domain = await this.get(tenantId, id);
    this.context.recordBefore(this.view(domain));
    await this.db.manager.getRepository(SsoDomain).delete({ tenantId, id });
  }

  view(domain: SsoDomain): SsoDomainView {
    return {
      id: domain.id,
      domain: domain.domain,
      status: domain.status,
      txtRecordName: `${TXT_LABEL}.${domain.domain}`,
      txtRecordValue: domain.verificationToken,
      verifiedAt: domain.verifiedAt?.toISOString() ?? null,
      createdAt: domain.createdAt.toISOString(),
    };
  }
}

/** Lowercase, without a trailing dot (the DTO has checked it is a host name). */
export function normalizeDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}
