import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { hostname } from 'node:os';
import { withTraceContext } from '../telemetry/job-trace';

/** How often registered schedules are checked for and restored, ms. */
export const SCHEDULE_CHECK_MS = 60_000;

interface Schedule {
  queue: Queue;
  id: string;
  everyMs: number;
  jobName: string;
}

/**
 * The worker's repeatable jobs (BullMQ job schedulers: one per id for all workers). BullMQ keeps
 * schedules in Redis, so a Redis that loses its data loses them too: every SCHEDULE_CHECK_MS this
 * puts back any registered schedule Redis no longer has (an existing one is left untouched, so
 * its timing does not shift).
 */
@Injectable()
export class RepeatableJobs implements OnApplicationShutdown {
  private readonly logger = new Logger('RepeatableJobs');
  private readonly schedules: Schedule[] = [];
  private timer?: NodeJS.Timeout;

  /**
   * Runs `jobName` on `queue` every `everyMs` milliseconds (the first run at once), with
   * `{scheduledBy: <host>}` and the trace context as data.
   */
  async schedule(queue: Queue, id: string, everyMs: number, jobName: string): Promise<void> {
    const schedule = { queue, id, everyMs, jobName };
    this.schedules.push(schedule);
    await this.upsert(schedule);
    this.timer ??= setInterval(() => void this.restoreMissing(), SCHEDULE_CHECK_MS).unref();
  }

  /** Puts back the schedules Redis lost; returns their ids. */
  async restoreMissing(): Promise<string[]> {
    const restored: string[] = [];
    for (const schedule of this.schedules) {
      try {
        if (await schedule.queue.getJobScheduler(schedule.id)) continue;
        await this.upsert(schedule);
        restored.push(schedule.id);
      } catch (error) {
        this.logger.warn({ err: error, schedule: schedule.id }, 'could not check a job schedule');
      }
    }
    if (restored.length) this.logger.warn({ restored }, 'job schedules restored (Redis lost them)');
    return restored;
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private upsert({ queue, id, everyMs, jobName }: Schedule): Promise<unknown> {
    return queue.upsertJobScheduler(
      id,
      { every: everyMs },
      {
        name: jobName,
        data: withTraceContext({ scheduledBy: hostname() }),
        opts: { removeOnComplete: 100, removeOnFail: 100 },
      },
    );
  }
}
