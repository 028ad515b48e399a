import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Annual contracts, their versions (the original terms and each amendment) and quota lines
 * (tenancy library).
 *
 * - A contract's `ends_at` is the instant it stops being in force: its term end, or the
 *   termination instant. The exclusion constraint keeps the in-force ranges of a tenant's
 *   non-draft contracts disjoint, so at most one contract is in force at any instant and two
 *   concurrent activations of overlapping contracts cannot both commit.
 * - Versions are append-only: version 1 holds the terms from the term start (edited in place
 *   only while the contract is a draft), each amendment adds the next version with a later
 *   `effective_from`. The terms in force at an instant are those of the highest version whose
 *   `effective_from` is at or before it.
 */
export class Contracts1764633800000 implements MigrationInterface {
  name = 'Contracts1764633800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Trusted extension (PostgreSQL 13+): gives uuid equality inside a GiST exclusion constraint.
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS btree_gist`);
    await queryRunner.query(`
      CREATE TABLE contracts (
        id                 uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
        tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        contract_number    text NOT NULL CHECK (length(contract_number) BETWEEN 1 AND 64),
        status             text NOT NULL DEFAULT 'draft'
                             CHECK (status IN ('draft', 'active', 'expired', 'terminated')),
        term_start         timestamptz NOT NULL,
        term_end           timestamptz NOT NULL,
        ends_at            timestamptz NOT NULL,
        billing_time_zone  text NOT NULL,
        currency           char(3) CHECK (currency ~ '^[A-Z]{3}$'),
        renewal_of         uuid,
        current_version    integer NOT NULL DEFAULT 1,
        activated_at       timestamptz,
        terminated_at      timestamptz,
        termination_reason text,
        created_by         text,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT contracts_term_order CHECK (term_end > term_start),
        CONSTRAINT contracts_ends_within_term CHECK (ends_at >= term_start AND ends_at <= term_end),
        CONSTRAINT contracts_tenant_id_key UNIQUE (tenant_id, id),
        CONSTRAINT contracts_number_key UNIQUE (tenant_id, contract_number),
        CONSTRAINT contracts_renewal_fk FOREIGN KEY (tenant_id, renewal_of)
          REFERENCES contracts (tenant_id, id),
        CONSTRAINT contracts_no_overlap EXCLUDE USING gist
          (tenant_id WITH =, tstzrange(term_start, ends_at) WITH &&) WHERE (status <> 'draft')
      )`);
    await queryRunner.query(
      `CREATE INDEX contracts_tenant_created_idx ON contracts (tenant_id, created_at, id)`,
    );
    await queryRunner.query(
      `CREATE INDEX contracts_expiry_idx ON contracts (ends_at) WHERE status = 'active'`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'contracts');

    await queryRunner.query(`
      CREATE TABLE contract_versions (
        tenant_id             uuid NOT NULL,
        contract_id           uuid NOT NULL,
        version               integer NOT NULL CHECK (version >= 1),
        effective_from        timestamptz NOT NULL,
        committed_spend_minor bigint CHECK (committed_spend_minor >= 0),
        billing_model         text CHECK (billing_model IN ('prepaid', 'postpaid_commitment')),
        sla                   jsonb,
        reason                text,
        created_by            text,
        created_at            timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (contract_id, version),
        CONSTRAINT contract_versions_effective_key UNIQUE (contract_id, effective_from),
        CONSTRAINT contract_versions_tenant_key UNIQUE (tenant_id, contract_id, version),
        FOREIGN KEY (tenant_id, contract_id) REFERENCES contracts (tenant_id, id) ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX contract_versions_tenant_idx ON contract_versions (tenant_id, contract_id)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'contract_versions');

    await queryRunner.query(`
      CREATE TABLE contract_quota_lines (
        tenant_id                uuid NOT NULL,
        contract_id              uuid NOT NULL,
        version                  integer NOT NULL,
        position                 integer NOT NULL CHECK (position >= 0),
        metric                   text NOT NULL CHECK (metric IN ('input_tokens', 'output_tokens',
                                   'total_tokens', 'requests', 'gpu_hours', 'training_tokens',
                                   'dedicated_endpoints', 'concurrent_fine_tuning_jobs')),
        period                   text NOT NULL CHECK (period IN ('term', 'month', 'day')),
        enforcement              text NOT NULL CHECK (enforcement IN ('hard', 'soft')),
        "limit"                  bigint NOT NULL CHECK ("limit" > 0),
        overage_unit_price_minor bigint CHECK (overage_unit_price_minor >= 0),
        PRIMARY KEY (contract_id, version, position),
        CONSTRAINT contract_quota_lines_unique_line UNIQUE (contract_id, version, metric, period),
        FOREIGN KEY (tenant_id, contract_id, version)
          REFERENCES contract_versions (tenant_id, contract_id, version) ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX contract_quota_lines_tenant_idx ON contract_quota_lines (tenant_id, contract_id, version)`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'contract_quota_lines');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['contract_quota_lines', 'contract_versions', 'contracts']) {
      await disableTenantRowLevelSecurity(queryRunner, table);
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}
