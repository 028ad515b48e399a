import { Module } from '@nestjs/common';
import { IdempotencyService } from './idempotency.service';

/** `Idempotency-Key` handling for HTTP apps; used by the request transaction (authz). */
@Module({
  providers: [IdempotencyService],
  exports: [IdempotencyService],
})
export class IdempotencyModule {}
