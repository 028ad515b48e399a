export * from './connections/saml-connection.types';
export * from './saml/certificates';
export * from './saml/idp-metadata';
export * from './saml/safe-xml';
export { safeRelayState } from './saml/saml-login.service';
export * from './sp/sp-credentials.service';
export * from './sso-problems';
export * from './sso.module';
export * from './sso.policy';
