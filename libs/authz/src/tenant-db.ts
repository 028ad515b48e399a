import { defineProblem, inlineParameters, NotFound } from '@app/core';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ClsService } from 'nestjs-cls';
import type { PoolClient, QueryResult, QueryResultRow } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { TENANT_DIRECTORY, TenantDirectory } from './ports';
import { isUuid, TenantId } from './principal';

/**
 * Where a transaction's rows may come from. `tenant`: only that tenant's rows (RLS on
 * `app.tenant_id`). `platform`: every tenant's rows, an explicit bypass for platform staff and
 * system work, always with a reason (logged, and recorded by the audit log once it exists).
 */
export type DbScope =
  | {
      kind: 'tenant';
      tenantId: TenantId;
      /**
       * Answer 404 unless the tenant is reachable, and 409 `tenant_offboarded` for a write
       * (not read-only) transaction on an offboarded tenant (requests' path tenants).
       */
      verify?: boolean;
      /** Let this write through on an offboarded tenant (compliance exports after the end). */
      allowOffboarded?: boolean;
    }
  | { kind: 'platform'; reason: string };

/**
 * A write to an offboarded tenant: its data no longer changes. Declared here because the
 * request transaction refuses such writes for every library at once (the tenancy library
 * re-exports it).
 */
export const TenantOffboarded = defineProblem({
  code: 'tenant_offboarded',
  status: 409,
  title: 'Tenant is offboarded',
  description:
    'An offboarded tenant is read-only: no request changes its data any more (profile, contracts, account managers, API keys, …). Staff may still read it. Nothing was changed.',
});

/** The CLS key holding every `authz.*` value (nestjs-cls nests dotted keys in one object). */
const CLS_NAMESPACE = 'authz';
const CLS_MANAGER = 'authz.entityManager';
const CLS_SCOPE = 'authz.dbScope';
const CLS_AFTER_COMMIT = 'authz.afterCommit';
const CLS_AFTER_ROLLBACK = 'authz.afterRollback';

export interface TransactionOptions {
  /** `BEGIN READ ONLY`: a write fails loudly. Used for GET and HEAD requests. */
  readOnly?: boolean;
  /** `REPEATABLE READ`: every statement sees one snapshot (exports that read in two steps). */
  repeatableRead?: boolean;
  /**
   * On the reserved pool ({@link RESERVED_POOL_SIZE} connections of its own, opened on first
   * use) instead of the main one: for short work that requests wait for while they hold a main
   * connection (rebuilding quota counters). On the main pool, a burst of such requests larger
   * than the pool would leave the work no connection and every request waiting on it. Work run
   * here must not wait for a main-pool connection itself.
   */
  reserved?: boolean;
}

/** Connections of the reserved pool ({@link TransactionOptions.reserved}), per process. */
export const RESERVED_POOL_SIZE = 2;

/** The row {@link TenantDirectory.scopeCheckSql} answers. */
interface ScopeCheckRow {
  tenant_exists?: boolean;
  tenant_status?: string | null;
}

type ReleasableRunner = { releasePostgresConnection(error?: Error): Promise<void> };

/** Thrown when tenant data is touched outside a scoped transaction (a bug, never "any tenant"). */
export class NoTenantScopeError extends Error {
  constructor() {
    super(
      'no scoped transaction: use TenantDb.inTenant/asPlatform or a route with a declared policy',
    );
  }
}

/**
 * The only way libraries reach tenant-owned tables. Every unit of work is a transaction whose
 * first statement sets `app.tenant_id` (or the platform bypass) with `set_config(..., true)`, so
 * the setting dies with the transaction and a pooled connection never carries it over.
 */
@Injectable()
export class TenantDb implements OnApplicationShutdown {
  private readonly logger = new Logger('TenantDb');
  private reservedSource?: Promise<DataSource>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cls: ClsService,
    @Inject(TENANT_DIRECTORY) private readonly tenants: TenantDirectory,
  ) {}

  /**
   * The entity manager of the current request's (or job's) scoped transaction.
   *
   * @throws NoTenantScopeError outside one.
   */
  get manager(): EntityManager {
    const manager = this.cls.isActive()
      ? this.cls.get<EntityManager | undefined>(CLS_MANAGER)
      : undefined;
    if (!manager) throw new NoTenantScopeError();
    return manager;
  }

  /**
   * The node-postgres connection of the current scoped transaction, for what TypeORM cannot do
   * (COPY streams). Its scope and settings are the transaction's.
   *
   * @throws NoTenantScopeError outside one.
   */
  get client(): PoolClient {
    const runner = this.manager.queryRunner as unknown as { databaseConnection?: PoolClient };
    if (!runner?.databaseConnection) throw new NoTenantScopeError();
    return runner.databaseConnection;
  }

  /** The scope of the current transaction, if any. */
  get scope(): DbScope | undefined {
    return this.cls.isActive() ? this.cls.get<DbScope | undefined>(CLS_SCOPE) : undefined;
  }

  /** Runs `work` in a new transaction that sees only `tenantId`'s rows. */
  inTenant<T>(tenantId: TenantId, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.transaction({ kind: 'tenant', tenantId }, work);
  }

  /** Runs `work` in a new transaction that sees every tenant's rows; `reason` says why. */
  asPlatform<T>(reason: string, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.transaction({ kind: 'platform', reason }, work);
  }

  /**
   * Runs `work` in a scoped transaction and makes it the current one ({@link manager}) for
   * everything `work` calls, in this async context. Used by the request interceptor and jobs.
   */
  run<T>(scope: DbScope, work: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const inContext = async () => {
      const afterCommit: (() => unknown)[] = [];
      const afterRollback: (() => unknown)[] = [];
      let result: T;
      try {
        result = await this.transaction(
          scope,
          async (manager) => {
            this.cls.set(CLS_MANAGER, manager);
            this.cls.set(CLS_SCOPE, scope);
            this.cls.set(CLS_AFTER_COMMIT, afterCommit);
            this.cls.set(CLS_AFTER_ROLLBACK, afterRollback);
            try {
              return await work();
            } finally {
              this.cls.set(CLS_MANAGER, undefined);
              this.cls.set(CLS_SCOPE, undefined);
              this.cls.set(CLS_AFTER_COMMIT, undefined);
              this.cls.set(CLS_AFTER_ROLLBACK, undefined);
            }
          },
          options,
        );
      } catch (error) {
        await this.runCallbacks(afterRollback, 'after-rollback');
        throw error;
      }
      await this.runCallbacks(afterCommit, 'after-commit');
      return result;
    };
    // Every transaction gets a child context, so the caller's context never holds its manager:
    // a transaction started inside another (a service's own unit of work called from a request)
    // leaves the outer one current, and concurrent transactions started from one context (a
    // batch flushed from a request, parallel commits) never take each other's connection.
    return this.cls.run(() => {
      // The child context is a shallow copy: the `authz.*` keys live in one shared object, which
      // the child must not write through into its parent's (the outer transaction's manager).
      this.cls.set(CLS_NAMESPACE, { ...(this.cls.get<object | undefined>(CLS_NAMESPACE) ?? {}) });
      return inContext();
    });
  }

  /**
   * Runs `callback` once the current scoped transaction ({@link run}) has committed, and never
   * if it rolls back: for effects outside PostgreSQL that must not run ahead of the data they
   * announce (telling Redis a contract changed). Outside a scoped transaction there is nothing
   * to wait for, so it runs at once. A failing callback is logged, not thrown: the transaction is
   * already committed.
   */
  afterCommit(callback: () => unknown): void {
    const pending = this.cls.isActive()
      ? this.cls.get<(() => unknown)[] | undefined>(CLS_AFTER_COMMIT)
      : undefined;
    if (pending) pending.push(callback);
    else void this.runCallbacks([callback], 'after-commit');
  }

  /**
   * Runs `callback` once the current scoped transaction ({@link run}) has failed and rolled
   * back, never if it commits: to undo an effect outside PostgreSQL made ahead of the commit
   * (usage counters in Redis). Failing callbacks are logged, not thrown.
   *
   * @throws NoTenantScopeError outside a scoped transaction.
   */
  afterRollback(callback: () => unknown): void {
    const pending = this.cls.isActive()
      ? this.cls.get<(() => unknown)[] | undefined>(CLS_AFTER_ROLLBACK)
      : undefined;
    if (!pending) throw new NoTenantScopeError();
    pending.push(callback);
  }

  async onApplicationShutdown(): Promise<void> {
    const reserved = await this.reservedSource?.catch(() => undefined);
    if (reserved?.isInitialized) await reserved.destroy();
  }

  /** The reserved pool: the main data source's settings and entities, a pool of its own. */
  private reservedDataSource(): Promise<DataSource> {
    this.reservedSource ??= new DataSource({
      ...this.dataSource.options,
      name: 'reserved',
      extra: {
        ...(this.dataSource.options as { extra?: object }).extra,
        max: RESERVED_POOL_SIZE,
      },
    } as typeof this.dataSource.options)
      .initialize()
      .catch((error: Error) => {
        this.reservedSource = undefined;
        throw error;
      });
    return this.reservedSource;
  }

  /** Runs callbacks in order; a failing one is logged and the rest still run. */
  private async runCallbacks(callbacks: (() => unknown)[], what: string): Promise<void> {
    for (const callback of callbacks) {
      await Promise.resolve()
        .then(callback)
        .catch((error: Error) => this.logger.warn(`${what} callback: ${error.message}`));
    }
  }

  /**
   * Statements in a scoped transaction of their own, sent with BEGIN, the RLS settings and
   * COMMIT as a single simple-protocol round trip: any lock they take is held only while
   * PostgreSQL runs them and commits, never across a network round trip. Parameters are inlined
   * as literals escaped by node-postgres (`escapeLiteral`; Buffers as bytea hex), since the
   * simple protocol takes none.
   *
   * @param statements each with `$1`…`$n` placeholders for its own params (no dollar quoting)
   * @returns the rows of each statement, in order
   */
  async oneShot<R extends QueryResultRow>(
    scope: DbScope,
    statements: { sql: string; params: unknown[] }[],
  ): Promise<R[][]> {
    if (scope.kind === 'tenant' && !isUuid(scope.tenantId)) throw new NoTenantScopeError();
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    const script = statements
      .map(({ sql, params }) => inlineParameters(sql, params, (text) => client.escapeLiteral(text)))
      .join('; ');
    let broken: Error | undefined;
    try {
      const results = (await client.query(
        `BEGIN; ${scopeSettingsSql(scope)}; ${script}; COMMIT`,
      )) as unknown as QueryResult<R>[];
      return results.slice(2, -1).map((result) => result.rows);
    } catch (error) {
      // A failed statement leaves the transaction aborted: end it, or drop the connection.
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      await (runner as unknown as ReleasableRunner).releasePostgresConnection(broken);
    }
  }

  /**
   * BEGIN and the RLS settings go to PostgreSQL as one simple-protocol round trip (the tenant id
   * is a validated UUID, so inlining it is safe); TypeORM's runner is then marked as inside a
   * transaction so that nested `manager.transaction()` calls become savepoints as usual.
   */
  private async transaction<T>(
    scope: DbScope,
    work: (manager: EntityManager) => Promise<T>,
    { readOnly = false, repeatableRead = false, reserved = false }: TransactionOptions = {},
  ): Promise<T> {
    if (scope.kind === 'tenant' && !isUuid(scope.tenantId)) throw new NoTenantScopeError();
    if (scope.kind === 'platform') this.logger.debug(`platform-wide access: ${scope.reason}`);
    const verify = scope.kind === 'tenant' && scope.verify;
    const source = reserved ? await this.reservedDataSource() : this.dataSource;
    const runner = source.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    let broken: Error | undefined;
    try {
      let results: QueryResult<ScopeCheckRow>[];
      try {
        results = (await client.query(
          `BEGIN${repeatableRead ? ' ISOLATION LEVEL REPEATABLE READ' : ''}${readOnly ? ' READ ONLY' : ''}; ${scopeSettingsSql(scope)}` +
            (verify ? `; ${this.tenants.scopeCheckSql}` : ''),
        )) as unknown as QueryResult<ScopeCheckRow>[];
      } catch (error) {
        // The transaction may be open and aborted: end it, or drop the connection, so the pool
        // never hands out a connection stuck "in failed transaction".
        await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        throw error;
      }
      Object.assign(runner, { isTransactionActive: true, transactionDepth: 1 });
      try {
        if (verify) {
          const check = results[2]?.rows[0];
          if (!check?.tenant_exists) throw new NotFound('No such tenant.');
          // Checked here, not in each service, so no library's write can forget it; reads go on.
          if (
            !readOnly &&
            check.tenant_status === 'offboarded' &&
            !(scope.kind === 'tenant' && scope.allowOffboarded)
          ) {
            throw new TenantOffboarded('The tenant is offboarded; its data no longer changes.');
          }
        }
        const result = await work(runner.manager);
        await runner.commitTransaction();
        return result;
      } catch (error) {
        if (runner.isTransactionActive) {
          await runner
            .rollbackTransaction()
            .catch((rollbackError: Error) => (broken = rollbackError));
        }
        throw error;
      }
    } finally {
      // TypeORM's own release path, with the error so pg-pool destroys a broken connection
      // (the public release() never passes one).
      await (runner as unknown as ReleasableRunner).releasePostgresConnection(broken);
    }
  }
}

/**
 * The statement that scopes a transaction: `app.tenant_id` (or none) and the platform bypass,
 * transaction-local (`set_config(..., true)`). The tenant id is a validated UUID, so inlining it
 * is safe.
 */
function scopeSettingsSql(scope: DbScope): string {
  const tenant = scope.kind === 'tenant' ? scope.tenantId.toLowerCase() : '';
  const bypass = scope.kind === 'platform' ? 'on' : 'off';
  return `SELECT set_config('app.tenant_id', '${tenant}', true), set_config('app.bypass_rls', '${bypass}', true)`;
}
