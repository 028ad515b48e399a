export * from './expect-eventually';
export * from './test-app';
export * from './test-database';
export * from './tenant-session';
export * from './usage-ledger';
export * from './audit-chain';
export * from './contracts';
export * from './private-redis';
