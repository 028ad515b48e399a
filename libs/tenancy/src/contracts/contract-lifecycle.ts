/** A contract's status. */
export const CONTRACT_STATUSES = ['draft', 'active', 'expired', 'terminated'] as const;
export type ContractStatus = (typeof CONTRACT_STATUSES)[number];

/** What moves a contract between statuses (`expire` is the passage of time, not a route). */
export type ContractAction = 'activate' | 'terminate' | 'expire';

/**
 * The allowed transitions, the one table the service and the tests use. Missing entries are
 * illegal (409 `illegal_contract_transition`). Expired and terminated are final.
 */
export const CONTRACT_TRANSITIONS: Readonly<
  Record<ContractStatus, Partial<Record<ContractAction, ContractStatus>>>
> = {
  draft: { activate: 'active' },
  active: { terminate: 'terminated', expire: 'expired' },
  expired: {},
  terminated: {},
};

export function nextContractStatus(
  from: ContractStatus,
  action: ContractAction,
): ContractStatus | undefined {
  return CONTRACT_TRANSITIONS[from][action];
}

/**
 * The status as of `now`: an active contract whose in-force end has passed is expired, whether or
 * not a job has written that yet.
 */
export function effectiveContractStatus(
  contract: { status: ContractStatus; endsAt: Date },
  now: Date,
): ContractStatus {
  return contract.status === 'active' && contract.endsAt.getTime() <= now.getTime()
    ? 'expired'
    : contract.status;
}

/** Why the contracts of an offboarded tenant were terminated. */
export const OFFBOARDING_TERMINATION_REASON = 'tenant offboarded';

/**
 * The columns a termination at `at` writes: the contract stops being in force at once, or never
 * starts when its term is still ahead (`endsAt` is then its start: an empty range).
 */
export function terminationAt(
  contract: { termStart: Date },
  at: Date,
  reason: string,
): { status: 'terminated'; terminatedAt: Date; terminationReason: string; endsAt: Date } {
  return {
    status: 'terminated',
    terminatedAt: at,
    terminationReason: reason,
    endsAt: new Date(Math.max(contract.termStart.getTime(), at.getTime())),
  };
}
