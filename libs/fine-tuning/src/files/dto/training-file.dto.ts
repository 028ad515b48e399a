import { Omittable } from '@app/core';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn } from 'class-validator';
import { OpenAiListQueryDto } from '../../openai-list-query.dto';
import { FILE_PURPOSES } from '../training-file.service';
import type { TrainingFile } from '../training-file.entity';

/** `GET /v1/files` (OpenAI "List files": `purpose`, `limit`, `after`). */
export class FileQueryDto extends OpenAiListQueryDto {
  @ApiPropertyOptional({ enum: FILE_PURPOSES })
  @Omittable()
  @IsIn([...FILE_PURPOSES])
  purpose?: string;
}

/** The OpenAI "File object", with the checks' results. */
export class FileObject {
  @ApiProperty({ example: 'file-5f2c0e6a1b9d4c3e8a7f6b21' })
  id!: string;

  @ApiProperty({ example: 'file' })
  object!: 'file';

  @ApiProperty({ description: 'Size in bytes.' })
  bytes!: number;

  @ApiProperty({ description: 'Unix time, seconds.' })
  created_at!: number;

  @ApiProperty()
  filename!: string;

  @ApiProperty({ enum: FILE_PURPOSES })
  purpose!: string;

  @ApiProperty({
    example: 'processed',
    description: 'Files are checked at upload: always processed.',
  })
  status!: 'processed';

  @ApiProperty({ type: String, nullable: true })
  status_details!: null;

  @ApiProperty({ description: 'Training examples (non-blank lines).' })
  line_count!: number;

  @ApiProperty({
    example: 'confidential',
    description: "The tenant's data classification at upload.",
  })
  data_classification!: string;

  static of(file: TrainingFile): FileObject {
    return {
      id: file.id,
      object: 'file',
      bytes: file.bytes,
      created_at: Math.floor(file.createdAt.getTime() / 1000),
      filename: file.filename,
      purpose: file.purpose,
      status: 'processed',
      status_details: null,
      line_count: file.lineCount,
      data_classification: file.dataClassification,
    };
  }
}

export class FileList {
  @ApiProperty({ example: 'list' })
  object!: 'list';

  @ApiProperty({ type: [FileObject] })
  data!: FileObject[];

  @ApiProperty()
  has_more!: boolean;

  @ApiProperty({ type: String, nullable: true })
  first_id!: string | null;

  @ApiProperty({ type: String, nullable: true })
  last_id!: string | null;
}

export class DeletedFile {
  @ApiProperty()
  id!: string;

  @ApiProperty({ example: 'file' })
  object!: 'file';

  @ApiProperty({ example: true })
  deleted!: true;
}
