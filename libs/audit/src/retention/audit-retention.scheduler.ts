import { AppConfig, InjectConfig, withTraceContext } from '@app/core';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { hostname } from 'node:os';
import { AUDIT_QUEUE, AUDIT_RETENTION_JOB } from '../audit.constants';

/** Registers the repeatable retention job (every AUDIT_RETENTION_INTERVAL_MS, one for all workers). */
@Injectable()
export class AuditRetentionScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(AUDIT_QUEUE) private readonly queue: Queue,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(
      'audit-retention',
      { every: this.config.AUDIT_RETENTION_INTERVAL_MS },
      {
        name: AUDIT_RETENTION_JOB,
        data: withTraceContext({ scheduledBy: hostname() }),
        opts: { removeOnComplete: 100, removeOnFail: 100 },
      },
    );
  }
}
