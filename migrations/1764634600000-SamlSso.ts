import { disableTenantRowLevelSecurity, enableTenantRowLevelSecurity } from '@app/core';
import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SAML single sign-on (sso library).
 *
 * - `saml_connections`: a tenant's identity providers (entity ID, SSO URL and binding, signing
 *   certificates, attribute mapping, group-to-role rules, switches). At most one is enabled per
 *   tenant: it is the one `/sso/saml/{slug}/login` and `/acs` use.
 * - `sso_domains`: domains a tenant claims, with the DNS TXT token that proves it. A domain is
 *   verified for at most one tenant (home-realm discovery needs one answer).
 * - `sso_identities`: which user a connection's stable user key (chosen by the admin) maps to.
 */
export class SamlSso1764634600000 implements MigrationInterface {
  name = 'SamlSso1764634600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE saml_connections (
        id                           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id                    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        name                         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        status                       text NOT NULL DEFAULT 'disabled' CHECK (status IN ('enabled', 'disabled')),
        idp_entity_id                text NOT NULL CHECK (length(idp_entity_id) <= 1024),
        sso_url                      text NOT NULL CHECK (length(sso_url) <= 2048),
        sso_binding                  text NOT NULL DEFAULT 'redirect' CHECK (sso_binding IN ('redirect', 'post')),
        certificates                 jsonb NOT NULL,
        attribute_mapping            jsonb NOT NULL,
        role_rules                   jsonb NOT NULL DEFAULT '[]',
        default_role                 text,
        allow_idp_initiated          boolean NOT NULL DEFAULT false,
        sign_authn_requests          boolean NOT NULL DEFAULT false,
        omit_requested_authn_context boolean NOT NULL DEFAULT false,
        created_at                   timestamptz NOT NULL DEFAULT now(),
        created_by                   text,
        updated_at                   timestamptz NOT NULL DEFAULT now(),
        updated_by                   text,
        UNIQUE (tenant_id, id)
      )`);
    await queryRunner.query(
      `CREATE INDEX saml_connections_tenant_created_idx ON saml_connections (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX saml_connections_one_enabled_key ON saml_connections (tenant_id) WHERE status = 'enabled'`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'saml_connections');

    await queryRunner.query(`
      CREATE TABLE sso_domains (
        id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id          uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        domain             text NOT NULL CHECK (length(domain) <= 253 AND domain = lower(domain)),
        status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified')),
        verification_token text NOT NULL,
        verified_at        timestamptz,
        created_at         timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant_id, domain)
      )`);
    await queryRunner.query(
      `CREATE INDEX sso_domains_tenant_created_idx ON sso_domains (tenant_id, created_at DESC, id DESC)`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX sso_domains_verified_key ON sso_domains (domain) WHERE status = 'verified'`,
    );
    await enableTenantRowLevelSecurity(queryRunner, 'sso_domains');

    await queryRunner.query(`
      CREATE TABLE sso_identities (
        tenant_id     uuid NOT NULL,
        connection_id uuid NOT NULL,
        subject       text NOT NULL CHECK (length(subject) <= 1024),
        user_id       uuid NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        last_login_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, connection_id, subject),
        FOREIGN KEY (tenant_id, connection_id) REFERENCES saml_connections (tenant_id, id) ON DELETE CASCADE,
        FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
      )`);
    await enableTenantRowLevelSecurity(queryRunner, 'sso_identities');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await disableTenantRowLevelSecurity(queryRunner, 'sso_identities');
    await queryRunner.query(`DROP TABLE sso_identities`);
    await disableTenantRowLevelSecurity(queryRunner, 'sso_domains');
    await queryRunner.query(`DROP TABLE sso_domains`);
    await disableTenantRowLevelSecurity(queryRunner, 'saml_connections');
    await queryRunner.query(`DROP TABLE saml_connections`);
  }
}
