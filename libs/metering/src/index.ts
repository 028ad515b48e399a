export * from './metering-problems';
export * from './metering.module';
export * from './quota/quota-keys';
export * from './quota/quota-reservation.service';
export * from './usage/usage-ingestion.service';
export * from './usage/usage-ledger.service';
export * from './usage/usage.policy';
