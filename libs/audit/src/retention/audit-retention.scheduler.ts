import { AppConfig, InjectConfig, RepeatableJobs } from '@app/core';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AUDIT_QUEUE, AUDIT_RETENTION_JOB } from '../audit.constants';

/** Registers the repeatable retention job (every AUDIT_RETENTION_INTERVAL_MS, one for all workers). */
@Injectable()
export class AuditRetentionScheduler implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(AUDIT_QUEUE) private readonly queue: Queue,
    @InjectConfig() private readonly config: AppConfig,
    private readonly jobs: RepeatableJobs,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.jobs.schedule(
      this.queue,
      'audit-retention',
      this.config.AUDIT_RETENTION_INTERVAL_MS,
      AUDIT_RETENTION_JOB,
    );
  }
}
