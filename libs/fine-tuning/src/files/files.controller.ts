import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import {
  ApiBadRequestResponse,
  ApiConsumes,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { BearerCredentialsRequired } from '../fine-tuning-problems';
import { DeletedFile, FileList, FileObject, FileQueryDto } from './dto/training-file.dto';
import type { OpenAiPage } from '../openai-page';
import type { TrainingFile } from './training-file.entity';
import { TrainingFileService } from './training-file.service';

/** What multer's memory storage gives for the `file` part. */
interface UploadedBytes {
  originalname: string;
  buffer: Buffer;
}

const ApiFileIdParam = () =>
  ApiParam({ name: 'fileId', schema: { type: 'string', pattern: '^file-[0-9a-f]{24}$' } });

const NOT_FOUND = 'No such file in this tenant (another tenant’s too).';

function listOf(page: OpenAiPage<TrainingFile>): FileList {
  const data = page.data.map(FileObject.of);
  return {
    object: 'list',
    data,
    has_more: page.hasMore,
    first_id: data[0]?.id ?? null,
    last_id: data[data.length - 1]?.id ?? null,
  };
}

/**
 * OpenAI-compatible files (`/v1/files`, OpenAI API reference "Files"): the caller's own tenant
 * (from its key or session), so the official `openai` client works with `baseURL` pointed here.
 */
@ApiTags('files')
@Controller('v1/files')
export class FilesController {
  constructor(
    private readonly files: TrainingFileService,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @HttpCode(200)
  @CheckPolicies('create', 'TrainingFile', { scope: 'member' })
  @UseInterceptors(FileInterceptor('file'))
  @ApiConsumes('multipart/form-data')
  @ApiOkResponse({ type: FileObject })
  @ApiBadRequestResponse({
    description:
      '`validation_failed`: purpose, or the content, each problem naming its line (`file:<line>`)',
  })
  @ApiPayloadTooLargeResponse({ description: 'Over FILES_MAX_BYTES.' })
  async upload(
    @Req() request: Request,
    @UploadedFile() file: UploadedBytes | undefined,
    @Body() body: Record<string, unknown>,
  ): Promise<FileObject> {
    if (!request.headers.authorization) {
      throw new BearerCredentialsRequired('Send the credential as "Authorization: Bearer …".');
    }
    const principal = this.access.principal;
    return FileObject.of(
      await this.files.upload(
        asTenantId(this.access.principal.homeTenantId),
        {
          filename: file?.originalname ?? '',
          bytes: file?.buffer ?? Buffer.alloc(0),
          purpose: body?.purpose,
        },
        principal.actor,
      ),
    );
  }

  @Get()
  @CheckPolicies('read', 'TrainingFile', { scope: 'member' })
  @ApiOkResponse({ type: FileList, description: 'Newest first.' })
  async list(@Query() query: FileQueryDto): Promise<FileList> {
    return listOf(await this.files.list(asTenantId(this.access.principal.homeTenantId), query));
  }

  @Get(':fileId')
  @CheckPolicies('read', 'TrainingFile', { scope: 'member' })
  @ApiFileIdParam()
  @ApiOkResponse({ type: FileObject })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async get(@Param('fileId') fileId: string): Promise<FileObject> {
    return FileObject.of(
      await this.files.get(asTenantId(this.access.principal.homeTenantId), fileId),
    );
  }

  @Get(':fileId/content')
  @CheckPolicies('read', 'TrainingFile', { scope: 'member' })
  @ApiFileIdParam()
  @ApiOkResponse({ description: 'The file as uploaded (JSON Lines).' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async content(@Param('fileId') fileId: string, @Res() res: Response): Promise<void> {
    const { file, stream } = await this.files.content(
      asTenantId(this.access.principal.homeTenantId),
      fileId,
    );
    res.setHeader('content-type', 'application/jsonl');
    res.setHeader('content-length', String(file.bytes));
    res.setHeader('content-disposition', `attachment; filename="${file.id}.jsonl"`);
    stream.pipe(res);
  }

  @Delete(':fileId')
  @CheckPolicies('delete', 'TrainingFile', { scope: 'member' })
  @ApiFileIdParam()
  @ApiOkResponse({ type: DeletedFile })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async remove(@Param('fileId') fileId: string): Promise<DeletedFile> {
    await this.files.remove(asTenantId(this.access.principal.homeTenantId), fileId);
    return { id: fileId, object: 'file', deleted: true };
  }
}

/** Staff read a tenant's files (`/v1/tenants/{tenantId}/files`). */
@ApiTags('files')
@ApiParam({ name: 'tenantId', format: 'uuid', description: 'A customer tenant.' })
@ApiNotFoundResponse({ description: 'No such tenant or file, or one the caller may not see.' })
@Controller('v1/tenants/:tenantId/files')
export class TenantFilesController {
  constructor(private readonly files: TrainingFileService) {}

  @Get()
  @CheckPolicies('read', 'TrainingFile')
  @ApiOkResponse({ type: FileList, description: 'Newest first.' })
  async list(@Param('tenantId') tenantId: string, @Query() query: FileQueryDto): Promise<FileList> {
    return listOf(await this.files.list(asTenantId(tenantId), query));
  }

  @Get(':fileId')
  @CheckPolicies('read', 'TrainingFile')
  @ApiFileIdParam()
  @ApiOkResponse({ type: FileObject })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async get(
    @Param('tenantId') tenantId: string,
    @Param('fileId') fileId: string,
  ): Promise<FileObject> {
    return FileObject.of(await this.files.get(asTenantId(tenantId), fileId));
  }
}
