import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { IDEMPOTENCY_QUEUE } from './idempotency.constants';
import { IdempotencyPurgeProcessor } from './idempotency-purge.processor';
import { IdempotencyPurgeScheduler } from './idempotency-purge.scheduler';

/** The hourly purge of expired idempotency keys: a repeatable job and its processor (worker). */
@Module({
  imports: [BullModule.registerQueue({ name: IDEMPOTENCY_QUEUE })],
  providers: [IdempotencyPurgeProcessor, IdempotencyPurgeScheduler],
})
export class IdempotencyPurgeModule {}
