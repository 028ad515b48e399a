/**
 * The additional authenticated data an endpoint's sealed secret is bound to: its tenant and id,
 * so a ciphertext copied into another row (or tenant) does not decrypt.
 */
export function endpointSecretAad(tenantId: string, endpointId: string): string {
  return `webhook_endpoints:${tenantId.toLowerCase()}:${endpointId.toLowerCase()}`;
}
