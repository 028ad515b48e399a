import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { AttributeMapping, RoleRule, StoredCertificate } from './saml-connection.types';

/** A tenant's SAML identity provider. IdP certificates are public: nothing here is secret. */
@Entity('saml_connections')
export class SamlConnection {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'uuid' })
  tenantId!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  status!: 'enabled' | 'disabled';

  @Column({ type: 'text' })
  idpEntityId!: string;

  @Column({ type: 'text' })
  ssoUrl!: string;

  @Column({ type: 'text' })
  ssoBinding!: 'redirect' | 'post';

  /** Signing certificates only (an IdP's encryption-only certificates are never stored). */
  @Column({ type: 'jsonb' })
  certificates!: StoredCertificate[];

  @Column({ type: 'jsonb' })
  attributeMapping!: AttributeMapping;

  @Column({ type: 'jsonb' })
  roleRules!: RoleRule[];

  @Column({ type: 'text', nullable: true })
  defaultRole!: string | null;

  @Column({ type: 'boolean' })
  allowIdpInitiated!: boolean;

  @Column({ type: 'boolean' })
  signAuthnRequests!: boolean;

  @Column({ type: 'boolean' })
  omitRequestedAuthnContext!: boolean;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'text', nullable: true })
  createdBy!: string | null;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;

  @Column({ type: 'text', nullable: true })
  updatedBy!: string | null;
}

/** Which user a connection's stable user key belongs to. */
@Entity('sso_identities')
export class SsoIdentity {
  @Column({ type: 'uuid', primary: true })
  tenantId!: string;

  @Column({ type: 'uuid', primary: true })
  connectionId!: string;

  @Column({ type: 'text', primary: true })
  subject!: string;

  @Column({ type: 'uuid' })
  userId!: string;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ type: 'timestamptz', default: () => 'now()' })
  lastLoginAt!: Date;
}
