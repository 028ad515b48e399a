import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { hostname } from 'node:os';
import { InjectConfig } from '../config/config.module';
import type { AppConfig } from '../config/config.schema';
import { withTraceContext } from '../telemetry/job-trace';
import { HEARTBEAT_JOB, HEARTBEAT_QUEUE } from './heartbeat.constants';

/** Registers the repeatable heartbeat (one scheduler for all workers; BullMQ dedupes by id). */
@Injectable()
export class HeartbeatScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(HEARTBEAT_QUEUE) private readonly queue: Queue,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(
      'worker-heartbeat',
      { every: this.config.HEARTBEAT_INTERVAL_MS },
      {
        name: HEARTBEAT_JOB,
        data: withTraceContext({ scheduledBy: hostname() }),
        opts: { removeOnComplete: 100, removeOnFail: 100 },
      },
    );
  }
}
