import { Actor, actorRef, keysetPage, NotFound, Page } from '@app/core';
import { STAFF_DIRECTORY, StaffDirectory, TenantDb, TenantId } from '@app/authz';
import { Inject, Injectable } from '@nestjs/common';
import { NotAnAccountManager } from '../tenancy-problems';
import { AccountManagerAssignment } from './account-manager-assignment.entity';

@Injectable()
export class AccountManagerService {
  constructor(
    private readonly db: TenantDb,
    @Inject(STAFF_DIRECTORY) private readonly staff: StaffDirectory,
  ) {}

  /**
   * Assigns an account manager to the tenant (idempotent: assigning twice keeps one row).
   *
   * @throws NotAnAccountManager (422) when the user is not active staff with that role.
   */
  async assign(tenantId: TenantId, userId: string, by: Actor): Promise<AccountManagerAssignment> {
    if (!(await this.staff.hasPlatformRole(userId, 'account_manager'))) {
      throw new NotAnAccountManager('The user is not an active account manager.', {
        errors: [
          {
            path: 'userId',
            message: 'must be an active operator user with the account_manager role',
          },
        ],
      });
    }
    const repository = this.db.manager.getRepository(AccountManagerAssignment);
    await repository
      .createQueryBuilder()
      .insert()
      .values({ tenantId, userId, createdBy: actorRef(by) })
      .orIgnore()
      .execute();
    return repository.findOneByOrFail({ tenantId, userId });
  }

  /**
   * Ends an assignment: the account manager no longer reaches the tenant from their next request.
   *
   * @throws NotFound when the user is not assigned to the tenant
   */
  async unassign(tenantId: TenantId, userId: string): Promise<void> {
    const result = await this.db.manager
      .getRepository(AccountManagerAssignment)
      .delete({ tenantId, userId });
    if (!result.affected) throw new NotFound('The user is not assigned to this tenant.');
  }

  /** Assignments of the tenant, oldest first, `limit` per page. @throws ValidationFailed for a forged cursor. */
  async list(
    tenantId: TenantId,
    limit: number,
    after?: string,
  ): Promise<Page<AccountManagerAssignment>> {
    const query = this.db.manager
      .getRepository(AccountManagerAssignment)
      .createQueryBuilder('a')
      .where('a.tenant_id = :tenantId', { tenantId });
    return keysetPage(query, {
      alias: 'a',
      idColumn: 'user_id',
      idOf: (assignment) => assignment.userId,
      order: 'ASC',
      limit,
      after,
    });
  }
}
