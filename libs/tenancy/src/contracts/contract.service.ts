import { TenantDb, TenantId } from '@app/authz';
import {
  Actor,
  actorRef,
  decodeCursor,
  keysetPage,
  FieldError,
  NotFound,
  Page,
  RequestContext,
  toPage,
  ValidationFailed,
} from '@app/core';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { QUOTA_PLAN_LISTENER, QuotaPlanListener } from '../quotas/quota-plan-listener.port';
import { EntityManager, In, QueryFailedError } from 'typeorm';
import {
  AlreadyRenewed,
  AmendmentConflict,
  AsOfOutsideTerm,
  ContractIncomplete,
  ContractNotEditable,
  ContractNumberTaken,
  ContractOverlap,
  IllegalContractTransition,
  InvalidAmendment,
} from '../tenancy-problems';
import { TenantService } from '../tenants/tenant.service';
import {
  ContractAction,
  ContractStatus,
  effectiveContractStatus,
  nextContractStatus,
  terminationAt,
} from './contract-lifecycle';
import {
  activationErrors,
  BillingModel,
  contractTermErrors,
  ContractTerms,
  defaultTermEnd,
  QuotaLineTerms,
  renewalNumber,
  renewalNumbering,
  renewalTermEnd,
  SlaTerms,
} from './contract-terms';
import { Contract, ContractQuotaLine, ContractVersion } from './contract.entity';
import type { ContractTerm } from './periods';

/** A contract with the terms of one of its versions. */
export interface ContractView {
  contract: Contract;
  version: ContractVersion;
  quotaLines: ContractQuotaLine[];
}

/** The fields of a draft as sent (create and PATCH). */
export interface DraftInput {
  contractNumber?: string;
  termStart?: Date;
  termEnd?: Date;
  currency?: string | null;
  committedSpendMinor?: number | null;
  billingModel?: BillingModel | null;
  sla?: SlaTerms | null;
  quotaLines?: QuotaLineTerms[];
}

/** The terms an amendment changes. */
export interface AmendmentInput {
  effectiveFrom?: Date;
  reason?: string;
  changes: {
    committedSpendMinor?: number;
    billingModel?: BillingModel;
    sla?: SlaTerms;
    quotaLines?: QuotaLineTerms[];
  };
}

/** Renewal numbers looked up per query when choosing a free one. */
const RENEWAL_NUMBER_BATCH = 20;
const sqlState = (error: unknown) =>
  error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;

function invalid(errors: FieldError[], prefix = ''): void {
  if (errors.length === 0) return;
  throw new ValidationFailed(
    `${errors.length} field${errors.length === 1 ? ' is' : 's are'} invalid.`,
    { errors: errors.map((e) => ({ ...e, path: prefix + e.path })) },
  );
}

/**
 * Annual contracts: drafts, activation, amendments (versions), termination, renewal and
 * discarding drafts (API.md, Contracts and quotas). Runs inside the request's tenant-scoped
 * transaction. Every change first holds the tenant row FOR SHARE
 * ({@link TenantService.assertWritable}: it serializes with offboarding, which locks the tenant
 * and then its contracts, so the lock order is always tenant → contract), then locks the
 * contract row, so concurrent changes to one contract apply in turn. At most one contract of a
 * tenant is in force at any instant: the `contracts_no_overlap` exclusion constraint holds that
 * even for concurrent activations.
 */
@Injectable()
export class ContractService {
  constructor(
    private readonly db: TenantDb,
    private readonly tenants: TenantService,
    private readonly context: RequestContext,
    @Optional() @Inject(QUOTA_PLAN_LISTENER) private readonly planListener?: QuotaPlanListener,
  ) {}

  /** Notes the contract as it was, for the audit log's `changes.before`. */
  private noteBefore(contract: Contract): void {
    this.context.recordBefore({
      contractNumber: contract.contractNumber,
      status: contract.status,
      termStart: contract.termStart,
      termEnd: contract.termEnd,
      endsAt: contract.endsAt,
      currency: contract.currency,
      latestVersion: contract.currentVersion,
    });
  }

  /**
   * Drafts a contract (version 1). The term end defaults to one year after the start in the
   * tenant's billing time zone, which the contract keeps.
   *
   * @throws ValidationFailed (400) for inconsistent terms (end before start, duplicate lines, …)
   * @throws ContractNumberTaken (409) | TenantOffboarded (409) | NotFound
   */
  async create(
    tenantId: TenantId,
    input: DraftInput & { contractNumber: string; termStart: Date },
    by: Actor,
  ): Promise<ContractView> {
    const tenant = await this.tenants.assertWritable(tenantId);
    const terms: ContractTerms = {
      termStart: input.termStart,
      termEnd: input.termEnd ?? defaultTermEnd(input.termStart, tenant.billingTimeZone),
      currency: input.currency ?? null,
      committedSpendMinor: input.committedSpendMinor ?? null,
      billingModel: input.billingModel ?? null,
      sla: input.sla ?? null,
      quotaLines: input.quotaLines ?? [],
    };
    invalid(contractTermErrors(terms));
    return this.insertDraft(
      tenantId,
      {
        contractNumber: input.contractNumber,
        billingTimeZone: tenant.billingTimeZone,
        renewalOf: null,
      },
      terms,
      by,
    );
  }

  /**
   * Edits a draft in place. Fields left out (or null) keep their value; `quotaLines`, when
   * given, replaces every line.
   *
   * @throws ContractNotEditable (409) unless the contract is a draft
   * @throws ValidationFailed (400) | ContractNumberTaken (409) | NotFound
   */
  async update(tenantId: TenantId, id: string, input: DraftInput): Promise<ContractView> {
    await this.tenants.assertWritable(tenantId);
    const contract = await this.lock(tenantId, id);
    this.noteBefore(contract);
    if (contract.status !== 'draft') {
      throw new ContractNotEditable(
        `Contract ${contract.contractNumber} is ${effectiveContractStatus(contract, new Date())}; amend it instead.`,
      );
    }
    const current = await this.viewOf(contract, 1);
    const terms: ContractTerms = {
      termStart: input.termStart ?? contract.termStart,
      termEnd: input.termEnd ?? contract.termEnd,
      currency: input.currency ?? contract.currency,
      committedSpendMinor: input.committedSpendMinor ?? current.version.committedSpendMinor,
      billingModel: input.billingModel ?? current.version.billingModel,
      sla: input.sla ?? current.version.sla,
      quotaLines: input.quotaLines ?? current.quotaLines,
    };
    invalid(contractTermErrors(terms));
    await this.withNumberCheck(input.contractNumber ?? contract.contractNumber, async (manager) => {
      await manager.getRepository(Contract).update(
        { id: contract.id, tenantId },
        {
          contractNumber: input.contractNumber ?? contract.contractNumber,
          termStart: terms.termStart,
          termEnd: terms.termEnd,
          endsAt: terms.termEnd,
          currency: terms.currency ?? null,
        },
      );
      await manager.getRepository(ContractVersion).update(
        { contractId: contract.id, version: 1 },
        {
          effectiveFrom: terms.termStart,
          committedSpendMinor: terms.committedSpendMinor ?? null,
          billingModel: terms.billingModel ?? null,
          sla: terms.sla ?? null,
        },
      );
      if (input.quotaLines)
        await this.replaceLines(manager, tenantId, contract.id, 1, input.quotaLines);
    });
    return this.viewOf(await this.lock(tenantId, id), 1);
  }

  /**
   * draft → active, once the draft is complete and its term overlaps no other contract in force.
   *
   * @throws IllegalContractTransition (409) unless it is a draft
   * @throws ContractIncomplete (422) listing what is missing
   * @throws ContractOverlap (409), also when a concurrent activation won
   */
  async activate(tenantId: TenantId, id: string): Promise<ContractView> {
    await this.tenants.assertWritable(tenantId);
    const contract = await this.lock(tenantId, id);
    this.noteBefore(contract);
    const now = new Date();
    this.assertTransition(contract, 'activate', now);
    const view = await this.viewOf(contract, 1);
    const missing = activationErrors(this.termsOf(view), now);
    if (missing.length > 0) {
      throw new ContractIncomplete(
        `Contract ${contract.contractNumber} cannot be activated: ${missing.length} problem${missing.length === 1 ? '' : 's'}.`,
        { errors: missing },
      );
    }
    const clash = await this.overlapping(contract);
    if (clash) throw this.overlapError(contract, clash);
    try {
      await this.db.manager.transaction((manager) =>
        manager
          .getRepository(Contract)
          .update({ id, tenantId }, { status: 'active', activatedAt: now }),
      );
    } catch (error) {
      // A concurrent activation committed first: the exclusion constraint refuses this one.
      if (sqlState(error) === '23P01') throw this.overlapError(contract);
      throw error;
    }
    return this.viewAt(await this.lock(tenantId, id), now);
  }

  /**
   * active → terminated now: the contract stops being in force at once (or never starts, when
   * its term is still ahead).
   *
   * @throws IllegalContractTransition (409) unless it is active (expired contracts stay expired)
   */
  async terminate(tenantId: TenantId, id: string, reason: string): Promise<ContractView> {
    await this.tenants.assertWritable(tenantId);
    const contract = await this.lock(tenantId, id);
    this.noteBefore(contract);
    const now = new Date();
    this.assertTransition(contract, 'terminate', now);
    await this.db.manager
      .getRepository(Contract)
      .update({ id, tenantId }, terminationAt(contract, now, reason));
    return this.viewAt(await this.lock(tenantId, id), now);
  }

  /**
   * Discards a draft: the contract, its version and its quota lines are deleted (a draft was
   * never in force, so no history is lost; the audit log keeps what it held).
   *
   * @returns the draft as it was, for the audit log
   * @throws ContractNotEditable (409) unless the contract is a draft
   * @throws TenantOffboarded (409) | NotFound
   */
  async discard(tenantId: TenantId, id: string): Promise<ContractView> {
    await this.tenants.assertWritable(tenantId);
    const contract = await this.lock(tenantId, id);
    if (contract.status !== 'draft') {
      throw new ContractNotEditable(
        `Contract ${contract.contractNumber} is ${effectiveContractStatus(contract, new Date())}; only drafts are discarded (terminate an active contract).`,
      );
    }
    const view = await this.viewOf(contract, 1);
    // Versions and quota lines go with it (ON DELETE CASCADE).
    await this.db.manager.getRepository(Contract).delete({ id, tenantId });
    return view;
  }

  /**
   * Adds a version to an active contract, effective from `effectiveFrom` (default now): the
   * latest terms with `changes` applied. Versions take effect in order, within the term, never
   * in the past, so `asOf` answers stay true once given.
   *
   * "Now" is read after the contract row is locked, so an amendment that waited for a concurrent
   * one is compared with the version that one added, not with the time it started waiting.
   *
   * @throws IllegalContractTransition (409) unless the contract is active
   * @throws InvalidAmendment (422) for an effective date in the past, outside the term or not
   *   after the latest version
   * @throws AmendmentConflict (409) when no effectiveFrom was sent and the latest version takes
   *   effect at or after now (a concurrent amendment, or one scheduled ahead): retry, or send one
   * @throws ValidationFailed (400) when the changed terms are inconsistent or empty
   */
  async amend(
    tenantId: TenantId,
    id: string,
    input: AmendmentInput,
    by: Actor,
  ): Promise<ContractView> {
    await this.tenants.assertWritable(tenantId);
    const contract = await this.lock(tenantId, id);
    this.noteBefore(contract);
    const now = new Date();
    if (effectiveContractStatus(contract, now) !== 'active') {
      throw new IllegalContractTransition(
        contract.status === 'draft'
          ? 'A draft is edited in place with PATCH; amendments change active contracts.'
          : `Contract ${contract.contractNumber} is ${effectiveContractStatus(contract, now)}; only active contracts are amended.`,
      );
    }
    const changes = Object.fromEntries(
      Object.entries(input.changes).filter(([, value]) => value !== undefined && value !== null),
    ) as AmendmentInput['changes'];
    if (Object.keys(changes).length === 0) {
      invalid([{ path: 'changes', message: 'must change at least one term' }]);
    }
    const latest = await this.viewOf(contract, contract.currentVersion);
    if (!input.effectiveFrom && latest.version.effectiveFrom >= now) {
      // The client left the date to us: a 422 on a field it did not send would mislead it.
      const at = latest.version.effectiveFrom.toISOString();
      throw new AmendmentConflict(
        `Version ${latest.version.version} takes effect at ${at}, not before now, so an amendment cannot take effect now. Retry, or send an effectiveFrom after ${at}.`,
        {
          extensions: {
            latestVersion: latest.version.version,
            latestEffectiveFrom: at,
          },
        },
      );
    }
    const effectiveFrom = input.effectiveFrom ?? now;
    const dateError = this.amendmentDateError(contract, latest.version, effectiveFrom, now);
    if (dateError) {
      throw new InvalidAmendment(dateError, {
        errors: [{ path: 'effectiveFrom', message: dateError }],
      });
    }
    const terms: ContractTerms = { ...this.termsOf(latest), ...changes };
    invalid(
      activationErrors(terms, now).filter((e) => e.path !== 'termEnd'),
      'changes.',
    );
    const version = contract.currentVersion + 1;
    const manager = this.db.manager;
    await manager.getRepository(ContractVersion).insert({
      tenantId,
      contractId: id,
      version,
      effectiveFrom,
      committedSpendMinor: terms.committedSpendMinor ?? null,
      billingModel: terms.billingModel ?? null,
      sla: terms.sla ?? null,
      reason: input.reason ?? null,
      createdBy: actorRef(by),
    });
    await this.insertLines(manager, tenantId, id, version, terms.quotaLines);
    await manager.getRepository(Contract).update({ id, tenantId }, { currentVersion: version });
    return this.viewOf(await this.lock(tenantId, id), version);
  }

  /**
   * Drafts the next term from an active or expired contract: it starts when this one's term
   * ends, lasts as long in calendar terms ({@link renewalTermEnd}: whole months, else whole
   * local days, in the billing time zone), and copies the latest terms. A contract has at most
   * one renewal at a time (no draft or active one may exist; a terminated or discarded one does
   * not count). Without a `contractNumber`, the renewal is numbered `-R<n>` with the first n
   * from the source's own number that no contract of the tenant uses yet.
   *
   * @throws IllegalContractTransition (409) for a draft or terminated contract
   * @throws AlreadyRenewed (409) when a draft or active renewal exists
   * @throws ContractNumberTaken (409) when the `contractNumber` sent is in use
   */
  async renew(
    tenantId: TenantId,
    id: string,
    input: { contractNumber?: string; termEnd?: Date },
    by: Actor,
  ): Promise<ContractView> {
    await this.tenants.assertWritable(tenantId);
    const source = await this.lock(tenantId, id);
    const now = new Date();
    const status = effectiveContractStatus(source, now);
    if (status !== 'active' && status !== 'expired') {
      throw new IllegalContractTransition(
        `Contract ${source.contractNumber} is ${status}; only active or expired contracts are renewed.`,
      );
    }
    const existing = await this.db.manager
      .getRepository(Contract)
      .findOneBy({ tenantId, renewalOf: id, status: In(['draft', 'active']) });
    if (existing) {
      throw new AlreadyRenewed(`Contract ${existing.contractNumber} already renews this one.`, {
        extensions: { renewalId: existing.id },
      });
    }
    const latest = await this.viewOf(source, source.currentVersion);
    const terms: ContractTerms = {
      ...this.termsOf(latest),
      termStart: source.termEnd,
      termEnd:
        input.termEnd ?? renewalTermEnd(source.termStart, source.termEnd, source.billingTimeZone),
    };
    invalid(contractTermErrors(terms));
    const identity = { billingTimeZone: source.billingTimeZone, renewalOf: source.id };
    if (input.contractNumber) {
      return this.insertDraft(
        tenantId,
        { ...identity, contractNumber: input.contractNumber },
        terms,
        by,
      );
    }
    // A number we chose can still be taken by a concurrent create: choose again.
    for (let attempt = 1; ; attempt += 1) {
      const contractNumber = await this.freeRenewalNumber(tenantId, source.contractNumber);
      try {
        return await this.insertDraft(tenantId, { ...identity, contractNumber }, terms, by);
      } catch (error) {
        if (!(error instanceof ContractNumberTaken) || attempt >= 3) throw error;
      }
    }
  }

  /** The first `-R<n>` number after `contractNumber`'s own that no contract of the tenant uses. */
  private async freeRenewalNumber(tenantId: TenantId, contractNumber: string): Promise<string> {
    const { stem, next } = renewalNumbering(contractNumber);
    for (let from = next; ; from += RENEWAL_NUMBER_BATCH) {
      const candidates = Array.from({ length: RENEWAL_NUMBER_BATCH }, (_, i) =>
        renewalNumber(stem, from + i),
      );
      const taken = await this.db.manager.getRepository(Contract).find({
        select: { contractNumber: true },
        where: { tenantId, contractNumber: In(candidates) },
      });
      const used = new Set(taken.map((c) => c.contractNumber));
      const free = candidates.find((candidate) => !used.has(candidate));
      if (free) return free;
    }
  }

  /**
   * The contract with the terms in force at `asOf`; without it, the terms in force now (or, before
   * the term starts, the terms it will start with).
   *
   * @throws AsOfOutsideTerm (422) when `asOf` is outside the contract's time in force
   * @throws NotFound
   */
  async get(tenantId: TenantId, id: string, asOf?: Date): Promise<ContractView> {
    const contract = await this.db.manager.getRepository(Contract).findOneBy({ id, tenantId });
    if (!contract) throw new NotFound('No such contract.');
    if (asOf) {
      const end = contract.status === 'draft' ? contract.termEnd : contract.endsAt;
      if (asOf < contract.termStart || asOf >= end) {
        throw new AsOfOutsideTerm(
          `Contract ${contract.contractNumber} is in force from ${contract.termStart.toISOString()} until ${end.toISOString()}.`,
          { errors: [{ path: 'asOf', message: 'is outside the time the contract is in force' }] },
        );
      }
      return this.viewAt(contract, asOf);
    }
    return this.viewAt(contract, new Date());
  }

  /**
   * The tenant's contracts, oldest first; with `asOf`, only the one in force then (terms as of
   * then); with `status`, only those whose status (as of now) is that.
   *
   * @throws ValidationFailed for a forged cursor
   */
  async list(
    tenantId: TenantId,
    filter: { asOf?: Date; status?: ContractStatus },
    limit: number,
    after?: string,
  ): Promise<Page<ContractView>> {
    const now = new Date();
    const query = this.db.manager
      .getRepository(Contract)
      .createQueryBuilder('c')
      .where('c.tenant_id = :tenantId', { tenantId });
    if (filter.asOf) {
      query.andWhere(`c.status <> 'draft' AND c.term_start <= :asOf AND c.ends_at > :asOf`, {
        asOf: filter.asOf,
      });
    }
    if (filter.status === 'expired') {
      query.andWhere(`(c.status = 'expired' OR (c.status = 'active' AND c.ends_at <= :now))`, {
        now,
      });
    } else if (filter.status === 'active') {
      query.andWhere(`c.status = 'active' AND c.ends_at > :now`, { now });
    } else if (filter.status) {
      query.andWhere('c.status = :status', { status: filter.status });
    }
    const page = await keysetPage(query, {
      alias: 'c',
      idOf: (c) => c.id,
      order: 'ASC',
      limit,
      after,
    });
    const views = await this.viewsAt(page.data, () => filter.asOf ?? now);
    return { data: views, nextCursor: page.nextCursor };
  }

  /** Every version of a contract with its lines, oldest first. @throws NotFound */
  async versions(
    tenantId: TenantId,
    id: string,
    limit: number,
    after?: string,
  ): Promise<Page<ContractView>> {
    const contract = await this.db.manager.getRepository(Contract).findOneBy({ id, tenantId });
    if (!contract) throw new NotFound('No such contract.');
    const query = this.db.manager
      .getRepository(ContractVersion)
      .createQueryBuilder('v')
      .where('v.contract_id = :id AND v.tenant_id = :tenantId', { id, tenantId })
      .orderBy('v.version', 'ASC')
      .limit(limit + 1);
    if (after)
      query.andWhere('v.version > :version', { version: Number(decodeCursor(after, 'integer').k) });
    const page = toPage(await query.getMany(), limit, (v) => ({ k: String(v.version), id }));
    const lines = await this.db.manager.getRepository(ContractQuotaLine).find({
      where: { contractId: id, tenantId, version: In(page.data.map((v) => v.version)) },
      order: { version: 'ASC', position: 'ASC' },
    });
    return {
      data: page.data.map((version) => ({
        contract,
        version,
        quotaLines: lines.filter((line) => line.version === version.version),
      })),
      nextCursor: page.nextCursor,
    };
  }

  /**
   * The contract in force for the tenant at `at` with the terms of that instant, or null when
   * none is (no contract, a gap between terms, or only drafts).
   */
  async inForce(tenantId: TenantId, at: Date): Promise<ContractView | null> {
    const contract = await this.db.manager
      .getRepository(Contract)
      .createQueryBuilder('c')
      .where(`c.tenant_id = :tenantId AND c.status <> 'draft'`, { tenantId })
      .andWhere('c.term_start <= :at AND c.ends_at > :at', { at })
      .getOne();
    return contract ? this.viewAt(contract, at) : null;
  }

  /**
   * The contract in force at the latest instant of [from, to) at which one is, with the terms of
   * that instant; null when none is in force at any time in it. For a span that ends after a
   * contract was terminated or expired (an SLA month), these are the terms it ended with.
   */
  async lastInForceDuring(tenantId: TenantId, from: Date, to: Date): Promise<ContractView | null> {
    const contract = await this.db.manager
      .getRepository(Contract)
      .createQueryBuilder('c')
      .where(`c.tenant_id = :tenantId AND c.status <> 'draft'`, { tenantId })
      .andWhere('c.term_start < :to AND c.ends_at > :from', { from, to })
      .orderBy('c.ends_at', 'DESC')
      .addOrderBy('c.term_start', 'DESC')
      .getOne();
    if (!contract) return null;
    const last = Math.min(contract.endsAt.getTime(), to.getTime()) - 1;
    return this.viewAt(contract, new Date(Math.max(contract.termStart.getTime(), last)));
  }

  /**
   * When the terms in force at `at` next change by themselves: the effective date of the next
   * amendment already made, or null when none is pending. Quota reservations cache a plan until
   * then.
   */
  async nextChangeAfter(tenantId: TenantId, contractId: string, at: Date): Promise<Date | null> {
    const next = await this.db.manager
      .getRepository(ContractVersion)
      .createQueryBuilder('v')
      .where('v.tenant_id = :tenantId AND v.contract_id = :contractId', { tenantId, contractId })
      .andWhere('v.effective_from > :at', { at })
      .orderBy('v.effective_from', 'ASC')
      .getOne();
    return next?.effectiveFrom ?? null;
  }

  /**
   * The tenants with a contract in force at `at` (platform scope): whose quota lines the alert
   * sweep checks. Offboarded tenants have none (offboarding terminates their contracts).
   */
  async tenantsInForce(at: Date): Promise<TenantId[]> {
    const rows: { tenant_id: TenantId }[] = await this.db.manager.query(
      `SELECT DISTINCT tenant_id FROM contracts
        WHERE status <> 'draft' AND term_start <= $1 AND ends_at > $1`,
      [at],
    );
    return rows.map((row) => row.tenant_id);
  }

  /**
   * The terms (anchor, end, billing time zone) of every non-draft contract of `tenantIds` in
   * force during part of [from, to]: what metering needs to place usage events in their quota
   * periods ({@link periodContaining}). Runs in the caller's transaction (platform scope for
   * several tenants).
   */
  async termsDuring(
    tenantIds: readonly TenantId[],
    from: Date,
    to: Date,
  ): Promise<(ContractTerm & { tenantId: TenantId; contractId: string })[]> {
    if (tenantIds.length === 0) return [];
    const contracts = await this.db.manager
      .getRepository(Contract)
      .createQueryBuilder('c')
      .where(`c.tenant_id IN (:...tenantIds) AND c.status <> 'draft'`, { tenantIds })
      .andWhere('c.term_start <= :to AND c.ends_at > :from', { from, to })
      .getMany();
    return contracts.map((c) => ({
      tenantId: c.tenantId as TenantId,
      contractId: c.id,
      termStart: c.termStart,
      termEnd: c.endsAt,
      timeZone: c.billingTimeZone,
    }));
  }

  private assertTransition(contract: Contract, action: ContractAction, now: Date): ContractStatus {
    const status = effectiveContractStatus(contract, now);
    const next = nextContractStatus(status, action);
    if (!next) {
      throw new IllegalContractTransition(
        `Cannot ${action} contract ${contract.contractNumber}: it is ${status}.`,
        { extensions: { contractStatus: status, action } },
      );
    }
    return next;
  }

  private amendmentDateError(
    contract: Contract,
    latest: ContractVersion,
    effectiveFrom: Date,
    now: Date,
  ): string | undefined {
    // One second of grace for clocks and the request's own time in flight.
    if (effectiveFrom.getTime() < now.getTime() - 1000)
      return 'effectiveFrom must not be in the past';
    if (effectiveFrom < contract.termStart || effectiveFrom >= contract.endsAt) {
      return `effectiveFrom must be within the term, from ${contract.termStart.toISOString()} until ${contract.endsAt.toISOString()}`;
    }
    if (effectiveFrom <= latest.effectiveFrom) {
      return `effectiveFrom must be after ${latest.effectiveFrom.toISOString()}, when version ${latest.version} takes effect`;
    }
    return undefined;
  }

  private async insertDraft(
    tenantId: TenantId,
    identity: { contractNumber: string; billingTimeZone: string; renewalOf: string | null },
    terms: ContractTerms,
    by: Actor,
  ): Promise<ContractView> {
    const id = await this.withNumberCheck(identity.contractNumber, async (manager) => {
      const inserted = await manager.getRepository(Contract).insert({
        tenantId,
        contractNumber: identity.contractNumber,
        status: 'draft',
        termStart: terms.termStart,
        termEnd: terms.termEnd,
        endsAt: terms.termEnd,
        billingTimeZone: identity.billingTimeZone,
        currency: terms.currency ?? null,
        renewalOf: identity.renewalOf,
        currentVersion: 1,
        createdBy: actorRef(by),
      });
      const contractId = inserted.identifiers[0].id as string;
      await manager.getRepository(ContractVersion).insert({
        tenantId,
        contractId,
        version: 1,
        effectiveFrom: terms.termStart,
        committedSpendMinor: terms.committedSpendMinor ?? null,
        billingModel: terms.billingModel ?? null,
        sla: terms.sla ?? null,
        createdBy: actorRef(by),
      });
      await this.insertLines(manager, tenantId, contractId, 1, terms.quotaLines);
      return contractId;
    });
    return this.viewOf(await this.lock(tenantId, id), 1);
  }

  /** Runs `work` in a savepoint; a taken contract number becomes ContractNumberTaken. */
  private async withNumberCheck<T>(
    contractNumber: string,
    work: (manager: EntityManager) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.db.manager.transaction(work);
    } catch (error) {
      if (sqlState(error) === '23505') {
        throw new ContractNumberTaken(`Contract number "${contractNumber}" is in use.`, {
          errors: [{ path: 'contractNumber', message: 'is already used by another contract' }],
        });
      }
      throw error;
    }
  }

  private async replaceLines(
    manager: EntityManager,
    tenantId: TenantId,
    contractId: string,
    version: number,
    lines: QuotaLineTerms[],
  ): Promise<void> {
    await manager.getRepository(ContractQuotaLine).delete({ contractId, version, tenantId });
    await this.insertLines(manager, tenantId, contractId, version, lines);
  }

  private async insertLines(
    manager: EntityManager,
    tenantId: TenantId,
    contractId: string,
    version: number,
    lines: QuotaLineTerms[],
  ): Promise<void> {
    if (lines.length === 0) return;
    await manager.getRepository(ContractQuotaLine).insert(
      lines.map((line, position) => ({
        tenantId,
        contractId,
        version,
        position,
        metric: line.metric,
        period: line.period,
        enforcement: line.enforcement,
        limit: line.limit,
        overageUnitPriceMinor: line.overageUnitPriceMinor ?? null,
      })),
    );
  }

  private async lock(tenantId: TenantId, id: string): Promise<Contract> {
    const contract = await this.db.manager.getRepository(Contract).findOne({
      where: { id, tenantId },
      lock: { mode: 'pessimistic_write' },
    });
    if (!contract) throw new NotFound('No such contract.');
    // Every change to a contract starts here: reservations must see it from the next call.
    this.planListener?.planMayHaveChanged(tenantId);
    return contract;
  }

  /** Another non-draft contract of the tenant in force during part of this one's term. */
  private overlapping(contract: Contract): Promise<Contract | null> {
    return this.db.manager
      .getRepository(Contract)
      .createQueryBuilder('c')
      .where(`c.tenant_id = :tenantId AND c.id <> :id AND c.status <> 'draft'`, {
        tenantId: contract.tenantId,
        id: contract.id,
      })
      .andWhere('tstzrange(c.term_start, c.ends_at) && tstzrange(:start, :end)', {
        start: contract.termStart,
        end: contract.endsAt,
      })
      .getOne();
  }

  private overlapError(contract: Contract, clash?: Contract): Error {
    return new ContractOverlap(
      clash
        ? `Contract ${contract.contractNumber} overlaps contract ${clash.contractNumber}, in force from ${clash.termStart.toISOString()} until ${clash.endsAt.toISOString()}.`
        : `Contract ${contract.contractNumber} overlaps a contract that was activated at the same time.`,
      {
        errors: [{ path: 'termStart', message: 'the term overlaps another contract in force' }],
        ...(clash ? { extensions: { conflictingContractId: clash.id } } : {}),
      },
    );
  }

  private termsOf(view: ContractView): ContractTerms {
    return {
      termStart: view.contract.termStart,
      termEnd: view.contract.termEnd,
      currency: view.contract.currency,
      committedSpendMinor: view.version.committedSpendMinor,
      billingModel: view.version.billingModel,
      sla: view.version.sla,
      quotaLines: view.quotaLines.map((line) => ({
        metric: line.metric,
        period: line.period,
        enforcement: line.enforcement,
        limit: line.limit,
        overageUnitPriceMinor: line.overageUnitPriceMinor,
      })),
    };
  }

  private async viewOf(contract: Contract, version: number): Promise<ContractView> {
    const manager = this.db.manager;
    const [row, quotaLines] = await Promise.all([
      manager
        .getRepository(ContractVersion)
        .findOneByOrFail({ contractId: contract.id, version, tenantId: contract.tenantId }),
      manager.getRepository(ContractQuotaLine).find({
        where: { contractId: contract.id, version, tenantId: contract.tenantId },
        order: { position: 'ASC' },
      }),
    ]);
    return { contract, version: row, quotaLines };
  }

  private async viewAt(contract: Contract, at: Date): Promise<ContractView> {
    const [view] = await this.viewsAt([contract], () => at);
    return view;
  }

  /**
   * Each contract with the version in force at `instantOf(contract)` (before the term starts:
   * version 1). Two queries for the whole page.
   */
  private async viewsAt(
    contracts: Contract[],
    instantOf: (contract: Contract) => Date,
  ): Promise<ContractView[]> {
    if (contracts.length === 0) return [];
    const ids = contracts.map((c) => c.id);
    const tenantId = contracts[0].tenantId;
    const versions = await this.db.manager.getRepository(ContractVersion).find({
      where: { contractId: In(ids), tenantId },
      order: { version: 'DESC' },
    });
    const chosen = contracts.map((contract) => {
      const at = instantOf(contract).getTime();
      const own = versions.filter((v) => v.contractId === contract.id);
      return own.find((v) => v.effectiveFrom.getTime() <= at) ?? own[own.length - 1];
    });
    const lines = await this.db.manager.getRepository(ContractQuotaLine).find({
      where: chosen.map((v) => ({ contractId: v.contractId, version: v.version, tenantId })),
      order: { position: 'ASC' },
    });
    return contracts.map((contract, i) => ({
      contract,
      version: chosen[i],
      quotaLines: lines.filter(
        (line) => line.contractId === contract.id && line.version === chosen[i].version,
      ),
    }));
  }
}
