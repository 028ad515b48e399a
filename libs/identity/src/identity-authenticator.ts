import {
  ApiKeyScope,
  Authenticator,
  Principal,
  Role,
  TENANT_DIRECTORY,
  TenantDirectory,
} from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { secretHash } from './secrets';

/** `last_used_at` / `last_seen_at` are written at most this often per key or session (ms). */
const TOUCH_INTERVAL_MS = 60_000;

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  prefix: string;
  roles: Role[];
  scopes: ApiKeyScope[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  tenant_status: string;
}

interface SessionRow {
  id: string;
  tenant_id: string;
  user_id: string;
  email: string;
  user_status: string;
  last_seen_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  roles: Role[];
  tenant_status: string;
}

/**
 * Turns a bearer token or session cookie into a principal. Nothing is cached: a revoked or
 * expired key or session answers 401 on the very next request, on every replica. Lookups are by
 * the SHA-256 of the presented secret through the `auth_*` SQL functions (one round trip each,
 * RLS bypassed only inside them).
 */
@Injectable()
export class IdentityAuthenticator implements Authenticator {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    @Inject(TENANT_DIRECTORY) private readonly tenants: TenantDirectory,
  ) {}

  async authenticate(credential: string, _request: Request): Promise<Principal | null> {
    if (credential.startsWith('cps_')) return this.fromSession(credential);
    return this.fromApiKey(credential);
  }

  private async fromApiKey(credential: string): Promise<Principal | null> {
    const [key]: ApiKeyRow[] = await this.dataSource.query('SELECT * FROM auth_api_key($1)', [
      secretHash(credential),
    ]);
    const now = Date.now();
    if (
      !key ||
      key.revoked_at ||
      key.tenant_status === 'offboarded' ||
      (key.expires_at && key.expires_at.getTime() <= now)
    ) {
      return null;
    }
    if (!key.last_used_at || now - key.last_used_at.getTime() > TOUCH_INTERVAL_MS) {
      await this.dataSource.query('SELECT auth_touch_api_key($1)', [key.id]);
    }
    return {
      actor: { type: 'api_key', id: key.id, keyPrefix: key.prefix },
      homeTenantId: key.tenant_id,
      roles: key.roles,
      scopes: key.scopes,
      assignedTenantIds: key.roles.includes('account_manager')
        ? await this.tenants.assignedTenantIds(key.id)
        : [],
      homeTenantStatus: key.tenant_status,
    };
  }

  private async fromSession(token: string): Promise<Principal | null> {
    const [session]: SessionRow[] = await this.dataSource.query('SELECT * FROM auth_session($1)', [
      secretHash(token),
    ]);
    const now = Date.now();
    if (
      !session ||
      session.revoked_at ||
      session.user_status !== 'active' ||
      session.tenant_status === 'offboarded' ||
      session.absolute_expires_at.getTime() <= now ||
      now - session.last_seen_at.getTime() > this.config.SESSION_IDLE_TIMEOUT_MS
    ) {
      return null;
    }
    if (
      now - session.last_seen_at.getTime() >
      Math.min(TOUCH_INTERVAL_MS, this.config.SESSION_IDLE_TIMEOUT_MS / 4)
    ) {
      await this.dataSource.query('SELECT auth_touch_session($1)', [session.id]);
    }
    return {
      actor: { type: 'user', id: session.user_id, email: session.email },
      homeTenantId: session.tenant_id,
      roles: session.roles,
      scopes: [],
      assignedTenantIds: session.roles.includes('account_manager')
        ? await this.tenants.assignedTenantIds(session.user_id)
        : [],
      sessionId: session.id,
      homeTenantStatus: session.tenant_status,
    };
  }
}
