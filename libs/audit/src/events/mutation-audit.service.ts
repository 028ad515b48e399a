import { MutationAuditor, MutationFailure, MutationInfo } from '@app/authz';
import { RequestContext } from '@app/core';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from './audit.service';

/** `ComplianceProfile` → `compliance_profile`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase();
}

/**
 * The audit `action` of a route: `<subject>.<verb>` from its policy (`contract.activate`,
 * `api_key.revoke`, `tenant.create`), or, for routes open to any authenticated caller, from the
 * path (`POST /v1/auth/logout` → `auth.logout`).
 */
export function mutationAction(mutation: MutationInfo): string {
  if (mutation.policy) return `${snakeCase(mutation.policy.subject)}.${mutation.policy.action}`;
  const words = mutation.route
    .split('/')
    .filter((part) => part && part !== 'v1' && !part.startsWith(':'))
    .map(snakeCase);
  return words.length >= 2
    ? words.join('.')
    : `${words[0] ?? 'request'}.${mutation.method.toLowerCase()}`;
}

/** The resource a mutation touched: the route's own id, else the id of what it created. */
function resourceOf(mutation: MutationInfo, result: unknown): { type?: string; id?: string } {
  const { params } = mutation;
  const field = (name: string) =>
    result &&
    typeof result === 'object' &&
    typeof (result as Record<string, unknown>)[name] === 'string'
      ? ((result as Record<string, unknown>)[name] as string)
      : undefined;
  const created = field('id') ?? field('code') ?? field('userId');
  const type = mutation.policy ? snakeCase(mutation.policy.subject) : undefined;
  const id =
    params.id ??
    params.code ??
    params.userId ??
    created ??
    // Routes whose resource is the tenant itself or one of its singletons (its profile).
    params.tenantId;
  return { type, id };
}

/**
 * Records every mutating route through the transaction interceptor (authz's MUTATION_AUDITOR
 * port): success in the request's transaction with the response as `changes.after` (secrets
 * redacted) and, when the service noted one, `changes.before`; failure after the rollback with
 * the problem code as the reason.
 */
@Injectable()
export class MutationAuditService implements MutationAuditor {
  constructor(
    private readonly audit: AuditService,
    private readonly context: RequestContext,
  ) {}

  async succeeded(manager: EntityManager, mutation: MutationInfo, result: unknown): Promise<void> {
    const before = this.context.changeBefore;
    await this.audit.append(manager, {
      tenantId: mutation.tenantId,
      action: mutationAction(mutation),
      resource: resourceOf(mutation, result),
      outcome: 'success',
      changes: {
        ...(before !== undefined ? { before } : {}),
        ...(result !== undefined && result !== null ? { after: result } : {}),
      },
    });
  }

  async failed(mutation: MutationInfo, failure: MutationFailure): Promise<void> {
    await this.audit.tryAppendDetached({
      tenantId: mutation.tenantId,
      action: mutationAction(mutation),
      resource: resourceOf(mutation, undefined),
      outcome: 'failure',
      reason: `${failure.status} ${failure.code}${failure.detail ? `: ${failure.detail}` : ''}`,
    });
  }
}
