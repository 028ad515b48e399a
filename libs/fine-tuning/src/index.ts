export * from './fine-tuning-problems';
export * from './fine-tuning.module';
export * from './files/file-storage';
export * from './files/training-file-check';
export * from './files/training-file.entity';
export * from './files/training-file.policy';
export * from './files/training-file.service';
