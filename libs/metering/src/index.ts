export * from './metering.module';
export * from './usage/usage-ledger.service';
