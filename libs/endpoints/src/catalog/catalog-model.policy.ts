import { definePolicy } from '@app/authz';

/**
 * The model catalog: everyone signed in reads it (base models, and their own tenant's fine-tuned
 * ones: the service filters rows by tenant); only platform admins (`manage all`) change it.
 */
export const CATALOG_MODEL = definePolicy('CatalogModel', ({ can }) => {
  can('read', 'CatalogModel');
});
