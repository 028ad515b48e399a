import { APP_CONFIG, AppConfig } from '@app/core';
import { TenancyCoreModule } from '@app/tenancy';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FileStorage, LocalFileStorage } from './files/file-storage';
import { FilesController, TenantFilesController } from './files/files.controller';
import { TrainingFile } from './files/training-file.entity';
import { TrainingFileService } from './files/training-file.service';
import { FineTuningAdmission } from './jobs/fine-tuning-admission';
import { FineTuningExecutor, LocalFineTuningExecutor } from './jobs/fine-tuning-executor';
import {
  FineTuningCheckpoint,
  FineTuningJob,
  FineTuningJobEvent,
} from './jobs/fine-tuning-job.entity';
import { FineTuningJobService } from './jobs/fine-tuning-job.service';
import {
  FineTuningJobsController,
  TenantFineTuningJobsController,
} from './jobs/fine-tuning-jobs.controller';
import { FineTuningQueue } from './jobs/fine-tuning-queue';
import { FineTuningRunner } from './jobs/fine-tuning-runner';
import { FINE_TUNING_QUEUE, TRAINING_QUEUE } from './jobs/fine-tuning.constants';

/** Fine-tuning's core for every process: files, jobs, the `fine-tuning` queue, admission. */
@Module({
  imports: [
    TenancyCoreModule,
    TypeOrmModule.forFeature([
      TrainingFile,
      FineTuningJob,
      FineTuningJobEvent,
      FineTuningCheckpoint,
    ]),
    BullModule.registerQueue({ name: FINE_TUNING_QUEUE }, { name: TRAINING_QUEUE }),
  ],
  providers: [
    TrainingFileService,
    { provide: FileStorage, useClass: LocalFileStorage },
    FineTuningJobService,
    FineTuningQueue,
    FineTuningAdmission,
  ],
  exports: [
    TrainingFileService,
    FileStorage,
    FineTuningJobService,
    FineTuningQueue,
    FineTuningAdmission,
  ],
})
export class FineTuningCoreModule {}

/** Fine-tuning's API: files (`/v1/files`) and jobs (`/v1/fine_tuning/jobs`), OpenAI shapes. */
@Module({
  imports: [
    FineTuningCoreModule,
    // Uploads are held in memory (at most FILES_MAX_BYTES) and checked before they are stored.
    MulterModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        limits: { fileSize: config.FILES_MAX_BYTES, files: 1, fields: 10, parts: 12 },
      }),
    }),
  ],
  controllers: [
    FilesController,
    TenantFilesController,
    FineTuningJobsController,
    TenantFineTuningJobsController,
  ],
})
export class FineTuningModule {}

/** Fine-tuning in the worker: validation, admission, training (the `local` executor) and sweep. */
@Module({
  imports: [FineTuningCoreModule],
  providers: [{ provide: FineTuningExecutor, useClass: LocalFineTuningExecutor }, FineTuningRunner],
})
export class FineTuningWorkerModule {}
