export * from './account-managers/account-manager.policy';
export * from './tenancy-problems';
export * from './tenancy.module';
export * from './tenants/tenant.entity';
export * from './tenants/tenant.policy';
export * from './tenants/tenant.service';
export * from './contracts/periods';
