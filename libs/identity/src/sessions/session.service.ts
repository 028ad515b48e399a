import { AuditService } from '@app/audit';
import { TenantDb, TenantId } from '@app/authz';
import { AppConfig, InjectConfig } from '@app/core';
import { Injectable } from '@nestjs/common';
import { newSessionToken, secretHash } from '../secrets';
import { Session } from './session.entity';

/**
 * Sessions of people (SSO creates them). Tokens are opaque (`cps_` + 256 random bits) and stored
 * only as SHA-256. A session ends at logout, after `SESSION_IDLE_TIMEOUT_MS` without use, or at
 * `SESSION_ABSOLUTE_TIMEOUT_MS` after sign-in, whichever comes first.
 */
@Injectable()
export class SessionService {
  constructor(
    private readonly db: TenantDb,
    @InjectConfig() private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /**
   * Starts a session for a user of `tenantId` and records the sign-in (`session.start`) in the
   * tenant's audit chain in the same transaction; returns the token, shown only here.
   */
  async start(
    tenantId: TenantId,
    userId: string,
    client: { ip?: string; userAgent?: string } = {},
  ): Promise<{ session: Session; token: string }> {
    const token = newSessionToken();
    const session = await this.db.inTenant(tenantId, async (manager) => {
      const repository = manager.getRepository(Session);
      const saved = await repository.save(
        repository.create({
          tenantId,
          userId,
          tokenHash: secretHash(token),
          lastSeenAt: new Date(),
          absoluteExpiresAt: new Date(Date.now() + this.config.SESSION_ABSOLUTE_TIMEOUT_MS),
          ip: client.ip ?? null,
          userAgent: client.userAgent?.slice(0, 512) ?? null,
        }),
      );
      // The sign-in, in the same transaction as the session it creates (never the token).
      await this.audit.append(manager, {
        tenantId,
        actor: { type: 'user', id: userId },
        action: 'session.start',
        resource: { type: 'session', id: saved.id },
        outcome: 'success',
        ip: client.ip,
        userAgent: client.userAgent,
      });
      return saved;
    });
    return { session, token };
  }

  /**
   * Options of the `cp_session` cookie: HttpOnly, SameSite=Lax, Secure unless
   * `SESSION_COOKIE_SECURE=false`, expiring with the session's absolute lifetime (ms).
   */
  cookieOptions(): { httpOnly: true; secure: boolean; sameSite: 'lax'; path: '/'; maxAge: number } {
    return {
      httpOnly: true,
      secure: this.config.SESSION_COOKIE_SECURE,
      sameSite: 'lax',
      path: '/',
      maxAge: this.config.SESSION_ABSOLUTE_TIMEOUT_MS,
    };
  }

  /** Ends the session now (idempotent). Runs in the request's transaction. */
  async end(tenantId: TenantId, sessionId: string): Promise<void> {
    await this.db.manager
      .getRepository(Session)
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('tenant_id = :tenantId AND id = :sessionId AND revoked_at IS NULL', {
        tenantId,
        sessionId,
      })
      .execute();
  }

  /**
   * Ends every live session of a user of `tenantId` (when the user is disabled), in the current
   * transaction. @returns how many sessions it ended
   */
  async endAllOf(tenantId: TenantId, userId: string): Promise<number> {
    const result = await this.db.manager
      .getRepository(Session)
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('tenant_id = :tenantId AND user_id = :userId AND revoked_at IS NULL', {
        tenantId,
        userId,
      })
      .execute();
    return result.affected ?? 0;
  }

  /**
   * When each of `userIds` (users of `tenantId`) last signed in: the start of their newest
   * session, ended or not. Users who never signed in are absent. In the current transaction.
   */
  async lastSignIns(tenantId: TenantId, userIds: string[]): Promise<Map<string, Date>> {
    if (!userIds.length) return new Map();
    const rows: { user_id: string; at: Date }[] = await this.db.manager.query(
      `SELECT user_id, max(created_at) AS at FROM sessions
        WHERE tenant_id = $1 AND user_id = ANY($2::uuid[]) GROUP BY user_id`,
      [tenantId, userIds],
    );
    return new Map(rows.map((row) => [row.user_id, row.at]));
  }
}
