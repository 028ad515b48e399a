import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'cp:isPublic';

/**
 * Marks a controller or route as reachable without credentials (health, docs, SAML endpoints).
 * Everything else is denied by default once the authorization guard is installed.
 */
export const Public = () => SetMetadata(IS_PUBLIC, true);
