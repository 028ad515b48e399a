import {
  PLATFORM_ROLES,
  PLATFORM_TENANT_ID,
  Role,
  StaffDirectory,
  TENANT_ROLES,
  TenantDb,
  TenantId,
} from '@app/authz';
import { Injectable } from '@nestjs/common';
import { keysetPage, Page } from '@app/core';
import { EntityManager, In, QueryFailedError } from 'typeorm';
import { EmailTaken, RoleNotAllowedHere } from '../identity-problems';
import { RoleAssignment, User } from './user.entity';

/** Users and their role assignments. */
@Injectable()
export class UserService implements StaffDirectory {
  constructor(private readonly db: TenantDb) {}

  /**
   * Creates a user of `tenantId` holding `roles`, in the current transaction (or in a new one
   * scoped to the tenant when there is none, e.g. SSO provisioning and test factories).
   *
   * @throws EmailTaken (409) when the email is in use in that tenant (case-insensitive).
   */
  async create(
    tenantId: TenantId,
    input: { email: string; displayName?: string; roles: Role[] },
  ): Promise<User & { roles: Role[] }> {
    const allowed: readonly string[] =
      tenantId === PLATFORM_TENANT_ID ? PLATFORM_ROLES : TENANT_ROLES;
    const wrong = input.roles.findIndex((role) => !allowed.includes(role));
    if (wrong !== -1) {
      throw new RoleNotAllowedHere(
        `${input.roles[wrong]} is not a ${tenantId === PLATFORM_TENANT_ID ? 'platform' : 'tenant'} role.`,
        {
          errors: [{ path: `roles[${wrong}]`, message: 'not a role of this organization' }],
        },
      );
    }
    const work = async () => {
      const manager = this.db.manager;
      try {
        const user = await manager.transaction((tx) =>
          tx.getRepository(User).save(
            tx.getRepository(User).create({
              tenantId,
              email: input.email,
              displayName: input.displayName ?? null,
              status: 'active',
            }),
          ),
        );
        await manager
          .getRepository(RoleAssignment)
          .insert(input.roles.map((role) => ({ tenantId, userId: user.id, role })));
        return Object.assign(user, { roles: input.roles });
      } catch (error) {
        if (
          error instanceof QueryFailedError &&
          (error.driverError as { code?: string }).code === '23505'
        ) {
          throw new EmailTaken(`A user with email ${input.email} already exists here.`);
        }
        throw error;
      }
    };
    return this.db.scope ? work() : this.db.run({ kind: 'tenant', tenantId }, work);
  }

  /**
   * Users of the tenant with their roles, oldest first, `limit` per page.
   *
   * @throws ValidationFailed for a forged cursor.
   */
  async list(
    tenantId: TenantId,
    limit: number,
    after?: string,
  ): Promise<Page<User & { roles: Role[] }>> {
    const query = this.db.manager
      .getRepository(User)
      .createQueryBuilder('u')
      .where('u.tenant_id = :tenantId', { tenantId });
    const page = await keysetPage(query, {
      alias: 'u',
      idOf: (user) => user.id,
      order: 'ASC',
      limit,
      after,
    });
    const assignments = page.data.length
      ? await this.db.manager
          .getRepository(RoleAssignment)
          .find({ where: { tenantId, userId: In(page.data.map((user) => user.id)) } })
      : [];
    return {
      data: page.data.map((user) =>
        Object.assign(user, {
          roles: assignments
            .filter((a) => a.userId === user.id)
            .map((a) => a.role as Role)
            .sort(),
        }),
      ),
      nextCursor: page.nextCursor,
    };
  }

  /**
   * {@link StaffDirectory}: active operator staff holding `role`. One statement through the
   * `auth_staff_has_role` function, on the current transaction's connection when there is one:
   * taking a second pooled connection while holding one can exhaust the pool under load.
   */
  async hasPlatformRole(userId: string, role: Role): Promise<boolean> {
    const run = (manager: EntityManager) =>
      manager.query('SELECT auth_staff_has_role($1, $2) AS ok', [userId, role]) as Promise<
        { ok: boolean }[]
      >;
    const [row] = this.db.scope
      ? await run(this.db.manager)
      : await this.db.asPlatform('staff role lookup', run);
    return row.ok;
  }
}
