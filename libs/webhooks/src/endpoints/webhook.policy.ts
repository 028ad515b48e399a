import { definePolicy, PLATFORM_TENANT_ID, Principal, PolicyBuilder } from '@app/authz';

/**
 * Who reads a tenant's webhook configuration and deliveries, as for contracts: the tenant's
 * admins and compliance officers, its assigned account managers and operator compliance
 * officers. Endpoint URLs can carry the receiver's own credentials, so other tenant members
 * (ML engineers, viewers) do not see them.
 */
function readers(
  { can }: PolicyBuilder,
  principal: Principal,
  subject: 'WebhookEndpoint' | 'WebhookDelivery',
): void {
  if (principal.homeTenantId !== PLATFORM_TENANT_ID) {
    if (principal.roles.some((r) => r === 'tenant_admin' || r === 'compliance_officer')) {
      can('read', subject, { tenantId: principal.homeTenantId });
    }
    return;
  }
  if (principal.roles.includes('account_manager')) {
    can('read', subject, { tenantId: { $in: principal.assignedTenantIds } });
  }
  if (principal.roles.includes('compliance_officer')) can('read', subject);
}

/**
 * Webhook endpoints: the tenant's admins manage them (create, update, delete, rotate the
 * secret); platform admins get `manage all`. Nobody reads the sealed secret: it is shown once,
 * on create and rotate.
 */
export const WEBHOOK_ENDPOINT = definePolicy('WebhookEndpoint', (builder, principal) => {
  readers(builder, principal, 'WebhookEndpoint');
  if (principal.homeTenantId !== PLATFORM_TENANT_ID && principal.roles.includes('tenant_admin')) {
    builder.can(['create', 'update', 'delete', 'rotate'], 'WebhookEndpoint', {
      tenantId: principal.homeTenantId,
    });
  }
  builder.cannot('read', 'WebhookEndpoint', ['secretCiphertext']);
});

/** Webhook deliveries: read as endpoints are; tenant admins queue test deliveries (`create`). */
export const WEBHOOK_DELIVERY = definePolicy('WebhookDelivery', (builder, principal) => {
  readers(builder, principal, 'WebhookDelivery');
  if (principal.homeTenantId !== PLATFORM_TENANT_ID && principal.roles.includes('tenant_admin')) {
    builder.can('create', 'WebhookDelivery', { tenantId: principal.homeTenantId });
  }
});
