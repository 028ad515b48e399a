export * from './metering.module';
export * from './usage/usage-ingestion.service';
export * from './usage/usage-ledger.service';
export * from './usage/usage.policy';
