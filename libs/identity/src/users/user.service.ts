import { PLATFORM_TENANT_ID, Role, rolesOf, StaffDirectory, TenantDb, TenantId } from '@app/authz';
import { Injectable } from '@nestjs/common';
import { Actor, keysetPage, NotFound, Page, RequestContext } from '@app/core';
import { EntityManager, In, QueryFailedError } from 'typeorm';
import { CannotDisableSelf, EmailTaken, RoleNotAllowedHere } from '../identity-problems';
import { userResponse } from './dto/user.response';
import { SessionService } from '../sessions/session.service';
import { RoleAssignment, User } from './user.entity';

/** A user with what the API shows beside it: its roles and when it last signed in. */
export type UserView = User & { roles: Role[]; lastSignInAt: Date | null };

/** Users and their role assignments. */
@Injectable()
export class UserService implements StaffDirectory {
  constructor(
    private readonly db: TenantDb,
    private readonly sessions: SessionService,
    private readonly context: RequestContext,
  ) {}

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
    assertRolesOf(tenantId, input.roles);
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

  /** The tenant's user with this email (case-insensitive), in the current transaction. */
  async findByEmail(tenantId: TenantId, email: string): Promise<User | undefined> {
    const user = await this.db.manager
      .getRepository(User)
      .createQueryBuilder('u')
      .where('u.tenant_id = :tenantId AND lower(u.email) = lower(:email)', { tenantId, email })
      .getOne();
    return user ?? undefined;
  }

  /** A user of the tenant by id, in the current transaction. */
  async findById(tenantId: TenantId, userId: string): Promise<User | undefined> {
    return (
      (await this.db.manager.getRepository(User).findOneBy({ tenantId, id: userId })) ?? undefined
    );
  }

  /**
   * Brings a user in line with their identity provider (SSO just-in-time provisioning): email,
   * display name, and exactly `roles` (others are removed), in the current transaction.
   *
   * @returns the roles before the change, for the audit log
   * @throws EmailTaken (409) when another user of the tenant has the new email;
   *   RoleNotAllowedHere (422) for a role of the other kind (a platform role in a customer tenant)
   */
  async syncFromDirectory(
    tenantId: TenantId,
    userId: string,
    input: { email: string; displayName: string | null; roles: Role[] },
  ): Promise<Role[]> {
    assertRolesOf(tenantId, input.roles);
    const manager = this.db.manager;
    try {
      await manager.transaction(async (tx) => {
        await tx
          .getRepository(User)
          .update({ tenantId, id: userId }, { email: input.email, displayName: input.displayName });
      });
    } catch (error) {
      if (
        error instanceof QueryFailedError &&
        (error.driverError as { code?: string }).code === '23505'
      ) {
        throw new EmailTaken(`Another user here already has the email ${input.email}.`);
      }
      throw error;
    }
    const repository = manager.getRepository(RoleAssignment);
    const before = (await repository.find({ where: { tenantId, userId } })).map(
      (a) => a.role as Role,
    );
    const stale = before.filter((role) => !input.roles.includes(role));
    if (stale.length) await repository.delete({ tenantId, userId, role: In(stale) });
    const added = input.roles.filter((role) => !before.includes(role));
    if (added.length) await repository.insert(added.map((role) => ({ tenantId, userId, role })));
    return before.sort();
  }

  /**
   * Users of the tenant with their roles and last sign-in, oldest first, `limit` per page.
   *
   * @throws ValidationFailed for a forged cursor.
   */
  async list(tenantId: TenantId, limit: number, after?: string): Promise<Page<UserView>> {
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
    return { data: await this.viewsOf(tenantId, page.data), nextCursor: page.nextCursor };
  }

  /**
   * One user of the tenant with its roles and last sign-in, in the current transaction.
   *
   * @throws NotFound when the tenant has no such user (another tenant's user is not found).
   */
  async get(tenantId: TenantId, userId: string): Promise<UserView> {
    const user = await this.findById(tenantId, userId);
    if (!user) throw new NotFound('No such user.');
    const [view] = await this.viewsOf(tenantId, [user]);
    return view;
  }

  /**
   * Disables a user of the tenant and ends all of their sessions, in the current transaction
   * (the audit log records the user before and after in the same one). A disabled user's SSO
   * sign-ins are refused until they are enabled again. Disabling a disabled user changes nothing.
   *
   * @throws NotFound when the tenant has no such user
   * @throws CannotDisableSelf (409) when `by` is that user
   */
  async disable(tenantId: TenantId, userId: string, by: Actor): Promise<UserView> {
    const user = await this.lockForChange(tenantId, userId);
    if (by.type === 'user' && by.id === user.id) {
      throw new CannotDisableSelf('You cannot disable your own user; ask another tenant admin.');
    }
    if (user.status !== 'disabled') {
      await this.db.manager.getRepository(User).update(
        { tenantId, id: userId },
        {
          status: 'disabled',
        },
      );
    }
    await this.sessions.endAllOf(tenantId, userId);
    return this.get(tenantId, userId);
  }

  /**
   * Enables a disabled user of the tenant: they may sign in again through SSO (their roles are
   * set by the identity provider then). Enabling an active user changes nothing. Sessions
   * ended by the disable stay ended.
   *
   * @throws NotFound when the tenant has no such user
   */
  async enable(tenantId: TenantId, userId: string): Promise<UserView> {
    const user = await this.lockForChange(tenantId, userId);
    if (user.status !== 'active') {
      await this.db.manager.getRepository(User).update(
        { tenantId, id: userId },
        {
          status: 'active',
        },
      );
    }
    return this.get(tenantId, userId);
  }

  /** The user, locked for the change, noted as `changes.before` for the audit log. */
  private async lockForChange(tenantId: TenantId, userId: string): Promise<UserView> {
    const user = await this.db.manager
      .getRepository(User)
      .createQueryBuilder('u')
      .setLock('pessimistic_write')
      .where('u.tenant_id = :tenantId AND u.id = :userId', { tenantId, userId })
      .getOne();
    if (!user) throw new NotFound('No such user.');
    const [view] = await this.viewsOf(tenantId, [user]);
    this.context.recordBefore(userResponse(view));
    return view;
  }

  /** `users` with their roles (sorted) and last sign-in: two queries for the lot. */
  private async viewsOf(tenantId: TenantId, users: User[]): Promise<UserView[]> {
    if (!users.length) return [];
    const ids = users.map((user) => user.id);
    // One after the other: both run on the request transaction's single connection.
    const assignments = await this.db.manager
      .getRepository(RoleAssignment)
      .find({ where: { tenantId, userId: In(ids) } });
    const signIns = await this.sessions.lastSignIns(tenantId, ids);
    return users.map((user) =>
      Object.assign(user, {
        roles: assignments
          .filter((a) => a.userId === user.id)
          .map((a) => a.role as Role)
          .sort(),
        lastSignInAt: signIns.get(user.id) ?? null,
      }),
    );
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

/**
 * People of a customer tenant hold tenant roles, the operator's staff platform roles; checked
 * wherever roles are written, whatever checked them before (SSO connections check their rules).
 *
 * @throws RoleNotAllowedHere (422) naming `roles[i]`
 */
function assertRolesOf(tenantId: TenantId, roles: readonly Role[]): void {
  const allowed = rolesOf(tenantId);
  const wrong = roles.findIndex((role) => !allowed.includes(role));
  if (wrong !== -1) {
    throw new RoleNotAllowedHere(
      `${roles[wrong]} is not a ${tenantId === PLATFORM_TENANT_ID ? 'platform' : 'tenant'} role.`,
      { errors: [{ path: `roles[${wrong}]`, message: 'not a role of this organization' }] },
    );
  }
}
