import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HEARTBEAT_QUEUE } from './heartbeat.constants';
import { HeartbeatProcessor } from './heartbeat.processor';
import { HeartbeatScheduler } from './heartbeat.scheduler';
import { WorkerHeartbeat } from './worker-heartbeat.entity';

/** The worker's heartbeat: a repeatable job and its processor. Imported by `apps/worker` only. */
@Module({
  imports: [
    BullModule.registerQueue({ name: HEARTBEAT_QUEUE }),
    TypeOrmModule.forFeature([WorkerHeartbeat]),
  ],
  providers: [HeartbeatProcessor, HeartbeatScheduler],
})
export class HeartbeatModule {}
