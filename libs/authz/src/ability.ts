import {
  AbilityBuilder,
  createMongoAbility,
  MongoAbility,
  subject as asSubject,
} from '@casl/ability';
import { PLATFORM_TENANT_ID, Principal } from './principal';

export type Action =
  | 'manage'
  | 'create'
  | 'read'
  | 'update'
  | 'delete'
  | 'revoke'
  | 'rotate'
  | 'assign'
  | 'activate'
  | 'suspend'
  | 'offboard'
  | 'terminate'
  | 'renew'
  | 'amend'
  | 'enable'
  | 'disable'
  | 'verify'
  | 'test'
  | 'start'
  | 'stop'
  | 'cancel';

/**
 * Subject types. Each library adds its own when it declares a policy; `all` matches every one.
 * The names are the resource types used in audit events and problem details.
 */
export type SubjectType = string;

export type AppAbility = MongoAbility<[Action, SubjectType | object]>;

export type PolicyBuilder = Pick<AbilityBuilder<AppAbility>, 'can' | 'cannot'>;

/**
 * A library's rules for one subject, next to what they protect (`<aggregate>.policy.ts`).
 * It receives the principal and adds `can`/`cannot` rules; conditions use the record's field
 * names (`tenantId`, `id`) so that they can be checked on a loaded record or turned into SQL.
 */
export type PolicyContributor = (builder: PolicyBuilder, principal: Principal) => void;

const contributors = new Map<SubjectType, PolicyContributor>();

/**
 * Declares the rules for a subject type.
 *
 * @throws Error when the subject already has rules (one declaration per subject).
 */
export function definePolicy(
  subjectType: SubjectType,
  contributor: PolicyContributor,
): SubjectType {
  if (contributors.has(subjectType)) throw new Error(`policy for ${subjectType} declared twice`);
  contributors.set(subjectType, contributor);
  return subjectType;
}

/** Subject types that have declared policies (for the route matrix and snapshot tests). */
export function declaredSubjects(): SubjectType[] {
  return [...contributors.keys()].sort();
}

/**
 * Builds the ability of one principal from every declared policy. Built once per request by the
 * guard; platform admins get `manage all`, which no `cannot` of a library may take back except
 * field rules (nobody reads key hashes).
 */
export function buildAbility(principal: Principal): AppAbility {
  const builder = new AbilityBuilder<AppAbility>(createMongoAbility);
  if (principal.roles.includes('platform_admin') && principal.homeTenantId === PLATFORM_TENANT_ID) {
    builder.can('manage', 'all');
  }
  for (const contribute of contributors.values()) contribute(builder, principal);
  return builder.build();
}

/** Tags a plain record with its subject type for CASL checks. */
export function subjectOf<T extends object>(type: SubjectType, record: T): T {
  return asSubject(type, { ...record });
}
