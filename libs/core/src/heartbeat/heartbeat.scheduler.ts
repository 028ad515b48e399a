import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { InjectConfig } from '../config/config.module';
import { RepeatableJobs } from '../queue/repeatable-jobs';
import type { AppConfig } from '../config/config.schema';
import { HEARTBEAT_JOB, HEARTBEAT_QUEUE } from './heartbeat.constants';

/** Registers the repeatable heartbeat (one scheduler for all workers; BullMQ dedupes by id). */
@Injectable()
export class HeartbeatScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(HEARTBEAT_QUEUE) private readonly queue: Queue,
    @InjectConfig() private readonly config: AppConfig,
    private readonly jobs: RepeatableJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(
      this.queue,
      'worker-heartbeat',
      this.config.HEARTBEAT_INTERVAL_MS,
      HEARTBEAT_JOB,
    );
  }
}
