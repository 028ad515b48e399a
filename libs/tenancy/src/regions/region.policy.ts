import { definePolicy } from '@app/authz';

/**
 * The region catalog: everyone signed in may read it (tenants choose regions for endpoints);
 * only platform admins (manage all) change it.
 */
export const REGION = definePolicy('Region', ({ can }) => {
  can('read', 'Region');
});
