import type { Session } from '../session';

/** A screen of a tenant, shown as a link wherever the caller may read what it shows. */
export interface TenantSection {
  label: string;
  path: (tenantId: string) => string;
  visible: (can: Session['can'], tenantId: string) => boolean;
  /** Also in the main navigation (for the tenant's own people). */
  nav?: boolean;
}

/** The tenant's screens, in the order the tenant page lists them. */
export const TENANT_SECTIONS: TenantSection[] = [
  {
    label: 'SSO setup',
    path: (id) => `/tenants/${id}/sso`,
    visible: (can, id) => can('create', 'SamlConnection', id) || can('create', 'SsoDomain', id),
  },
  {
    label: 'Users and roles',
    path: (id) => `/tenants/${id}/users`,
    visible: (can, id) => can('read', 'User', id),
  },
  {
    label: 'API keys',
    path: (id) => `/tenants/${id}/api-keys`,
    visible: (can, id) => can('read', 'ApiKey', id),
  },
  {
    label: 'Endpoints',
    path: (id) => `/tenants/${id}/endpoints`,
    visible: (can, id) => can('read', 'Endpoint', id),
  },
  {
    label: 'Fine-tuning',
    path: (id) => `/tenants/${id}/fine-tuning`,
    visible: (can, id) => can('read', 'FineTuningJob', id),
  },
  {
    label: 'SLA',
    path: (id) => `/tenants/${id}/sla`,
    visible: (can, id) => can('read', 'SlaReport', id),
  },
  {
    label: 'Audit log',
    path: (id) => `/tenants/${id}/audit`,
    visible: (can, id) => can('read', 'AuditEvent', id),
    nav: true,
  },
  {
    label: 'Audit reports',
    path: (id) => `/tenants/${id}/audit/reports`,
    visible: (can, id) => can('read', 'AuditReport', id),
    nav: true,
  },
];
