import { AuditService } from '@app/audit';
import { PLATFORM_TENANT_ID, TenantDb, TenantId } from '@app/authz';
import { AppConfig, InjectConfig, pendingMigrations } from '@app/core';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ApiKey } from '../api-keys/api-key.entity';
import { newApiKey, secretHash } from '../secrets';

/** Arbitrary constant naming the advisory lock that serializes bootstrap across replicas. */
const BOOTSTRAP_LOCK_KEY = 7_212_349_002;

/**
 * First start: while the platform has no platform admin (no active `platform_admin` key or
 * user), create one API key with that role, from `BOOTSTRAP_ADMIN_TOKEN` when set, otherwise a
 * generated one printed once on stdout, like an initial root password. Replicas starting
 * together create one key only (advisory lock).
 */
@Injectable()
export class BootstrapService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Bootstrap');

  constructor(
    private readonly db: TenantDb,
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const pending = await pendingMigrations(this.dataSource).catch(() => ['unknown']);
    if (pending.length) {
      // MIGRATIONS_RUN=false and the schema is behind: /health/ready says so; bootstrap waits for
      // the next start after the migrations have run.
      this.logger.warn(
        'pending migrations: platform admin bootstrap skipped until the schema is current',
      );
      return;
    }
    const created = await this.ensurePlatformAdmin();
    if (created && !this.config.BOOTSTRAP_ADMIN_TOKEN) {
      process.stdout.write(
        `\nNo platform admin existed, so one API key was created. It is shown only now; store it:\n\n  ${created}\n\n` +
          `Use it as "Authorization: Bearer <key>". Set BOOTSTRAP_ADMIN_TOKEN to choose it instead.\n\n`,
      );
    } else if (created) {
      this.logger.log('created the platform admin API key from BOOTSTRAP_ADMIN_TOKEN');
    }
  }

  /** @returns the new key's secret when one was created, else undefined. */
  async ensurePlatformAdmin(): Promise<string | undefined> {
    return this.db.inTenant(PLATFORM_TENANT_ID as TenantId, async (manager) => {
      await manager.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
      const [{ admins }] = await manager.query(
        `SELECT (SELECT count(*) FROM api_keys WHERE 'platform_admin' = ANY(roles) AND revoked_at IS NULL
                   AND (expires_at IS NULL OR expires_at > now()))
              + (SELECT count(*) FROM role_assignments r JOIN users u ON u.id = r.user_id
                  WHERE r.role = 'platform_admin' AND u.status = 'active') AS admins`,
      );
      if (Number(admins) > 0) return undefined;
      const key = this.config.BOOTSTRAP_ADMIN_TOKEN ?? newApiKey(this.config.API_KEY_ENVIRONMENT);
      const hash = secretHash(key);
      // A token that was a revoked bootstrap key before is not resurrected: it stays revoked.
      const [existing] = await manager.query('SELECT id FROM api_keys WHERE secret_hash = $1', [
        hash,
      ]);
      if (existing) {
        this.logger.warn('BOOTSTRAP_ADMIN_TOKEN names a revoked or expired key; set a new one');
        return undefined;
      }
      const inserted = await manager.getRepository(ApiKey).insert({
        tenantId: PLATFORM_TENANT_ID,
        name: 'bootstrap platform admin',
        prefix: this.config.BOOTSTRAP_ADMIN_TOKEN ? 'bootstrap' : key.slice(0, 16),
        secretHash: hash,
        roles: ['platform_admin'],
        scopes: [],
        createdBy: 'system:bootstrap',
      });
      // A system action on the platform chain, committed with the key it records.
      await this.audit.append(manager, {
        tenantId: null,
        actor: { type: 'system', id: 'bootstrap' },
        action: 'api_key.bootstrap',
        resource: { type: 'api_key', id: String(inserted.identifiers[0]?.id ?? '') },
        outcome: 'success',
        reason: 'no active platform admin: created the bootstrap platform admin key',
      });
      return key;
    });
  }
}
