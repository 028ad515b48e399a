import { APP_CONFIG, AppConfig } from '@app/core';
import { TenancyCoreModule } from '@app/tenancy';
import { Module } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FileStorage, LocalFileStorage } from './files/file-storage';
import { FilesController, TenantFilesController } from './files/files.controller';
import { TrainingFile } from './files/training-file.entity';
import { TrainingFileService } from './files/training-file.service';

/** Fine-tuning's API: files (`/v1/files`, OpenAI shapes). Jobs arrive with the rest of issue 10. */
@Module({
  imports: [
    TenancyCoreModule,
    TypeOrmModule.forFeature([TrainingFile]),
    // Uploads are held in memory (at most FILES_MAX_BYTES) and checked before they are stored.
    MulterModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        limits: { fileSize: config.FILES_MAX_BYTES, files: 1, fields: 10, parts: 12 },
      }),
    }),
  ],
  controllers: [FilesController, TenantFilesController],
  providers: [TrainingFileService, { provide: FileStorage, useClass: LocalFileStorage }],
  exports: [TrainingFileService, FileStorage],
})
export class FineTuningModule {}
