import { asTenantId, CheckPolicies, CurrentAccess, TenantId } from '@app/authz';
import { ValidationFailed } from '@app/core';
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { CreateFineTuningJobDto, FineTuningListQueryDto } from './dto/fine-tuning-job.dto';
import {
  FineTuningCheckpointObject,
  FineTuningJobEventObject,
  FineTuningJobObject,
  FineTuningList,
} from './dto/fine-tuning-job.response';
import type { OpenAiPage } from '../openai-page';
import { FineTuningJobService } from './fine-tuning-job.service';

const ApiJobIdParam = () =>
  ApiParam({ name: 'jobId', schema: { type: 'string', pattern: '^ftjob-[0-9a-f]{24}$' } });
const NOT_FOUND = 'No such job in this tenant (another tenant’s too).';

function listOf<T, O>(page: OpenAiPage<T>, of: (item: T) => O): FineTuningList<O> {
  return { object: 'list', data: page.data.map(of), has_more: page.hasMore };
}

/**
 * Reads shared by the tenant's own routes and the staff routes: one job, its events and its
 * checkpoints (OpenAI shapes).
 */
abstract class FineTuningJobReads {
  constructor(protected readonly jobs: FineTuningJobService) {}

  protected async one(tenantId: string, jobId: string): Promise<FineTuningJobObject> {
    return FineTuningJobObject.of(await this.jobs.get(asTenantId(tenantId), jobId));
  }

  protected async page(tenantId: string, query: FineTuningListQueryDto) {
    return listOf(await this.jobs.list(asTenantId(tenantId), query), FineTuningJobObject.of);
  }

  protected async eventPage(tenantId: string, jobId: string, query: FineTuningListQueryDto) {
    return listOf(
      await this.jobs.events(asTenantId(tenantId), jobId, query),
      FineTuningJobEventObject.of,
    );
  }

  protected async checkpointPage(tenantId: string, jobId: string, query: FineTuningListQueryDto) {
    const { job, page } = await this.jobs.checkpoints(asTenantId(tenantId), jobId, query);
    const name = await this.jobs.modelNameOf(job);
    return listOf(page, (checkpoint) => FineTuningCheckpointObject.of(checkpoint, name));
  }
}

/**
 * OpenAI-compatible fine-tuning jobs (`/v1/fine_tuning/jobs`, OpenAI API reference
 * "Fine-tuning"): the caller's own tenant (from its key or session), so the official `openai`
 * client works with `baseURL` pointed here.
 */
@ApiTags('fine-tuning')
@Controller('v1/fine_tuning/jobs')
export class FineTuningJobsController extends FineTuningJobReads {
  constructor(
    jobs: FineTuningJobService,
    private readonly access: CurrentAccess,
  ) {
    super(jobs);
  }

  private get tenantId(): TenantId {
    return asTenantId(this.access.principal.homeTenantId);
  }

  @Post()
  @HttpCode(200)
  @CheckPolicies('create', 'FineTuningJob', { scope: 'member' })
  @ApiOkResponse({
    type: FineTuningJobObject,
    description: '`validating_files`; the worker takes it from there.',
  })
  @ApiBadRequestResponse({
    description:
      '`validation_failed` (fields; unknown model or file; hyperparameters out of range), `model_not_fine_tunable`',
  })
  @ApiForbiddenResponse({ description: '`model_family_not_allowed`, `tenant_suspended`' })
  @ApiTooManyRequestsResponse({
    description:
      '`training_quota_exceeded` (`estimatedTokens`, `line`, `remaining`, `retryAt`; Retry-After)',
  })
  @ApiConflictResponse({ description: '`no_contract_in_force`, `tenant_offboarded`' })
  async create(@Body() body: CreateFineTuningJobDto): Promise<FineTuningJobObject> {
    if (body.hyperparameters && body.method?.supervised?.hyperparameters) {
      throw new ValidationFailed('Hyperparameters given twice.', {
        errors: [
          {
            path: 'hyperparameters',
            message: 'send either hyperparameters or method.supervised.hyperparameters, not both',
          },
        ],
      });
    }
    const asked = body.method?.supervised?.hyperparameters ?? body.hyperparameters ?? {};
    const principal = this.access.principal;
    return FineTuningJobObject.of(
      await this.jobs.create(
        this.tenantId,
        {
          model: body.model,
          trainingFile: body.training_file,
          validationFile: body.validation_file,
          hyperparameters: {
            nEpochs: asked.n_epochs,
            batchSize: asked.batch_size,
            learningRateMultiplier: asked.learning_rate_multiplier,
          },
          suffix: body.suffix,
          seed: body.seed,
          metadata: body.metadata,
        },
        principal.actor,
      ),
    );
  }

  @Get()
  @CheckPolicies('read', 'FineTuningJob', { scope: 'member' })
  @ApiOkResponse({ type: FineTuningList, description: 'Newest first.' })
  list(@Query() query: FineTuningListQueryDto) {
    return this.page(this.tenantId, query);
  }

  @Get(':jobId')
  @CheckPolicies('read', 'FineTuningJob', { scope: 'member' })
  @ApiJobIdParam()
  @ApiOkResponse({ type: FineTuningJobObject })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  get(@Param('jobId') jobId: string) {
    return this.one(this.tenantId, jobId);
  }

  @Post(':jobId/cancel')
  @HttpCode(200)
  @CheckPolicies('cancel', 'FineTuningJob', { scope: 'member' })
  @ApiJobIdParam()
  @ApiOkResponse({
    type: FineTuningJobObject,
    description:
      '`cancelled` at once when the job had not started; a running job shows `cancel_requested` and ends `cancelled` within seconds.',
  })
  @ApiConflictResponse({
    description: '`illegal_job_transition` (`jobStatus`): the job has finished',
  })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  async cancel(@Param('jobId') jobId: string): Promise<FineTuningJobObject> {
    const principal = this.access.principal;
    return FineTuningJobObject.of(await this.jobs.cancel(this.tenantId, jobId, principal.actor));
  }

  @Get(':jobId/events')
  @CheckPolicies('read', 'FineTuningJob', { scope: 'member' })
  @ApiJobIdParam()
  @ApiOkResponse({ type: FineTuningList, description: 'Newest first.' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  events(@Param('jobId') jobId: string, @Query() query: FineTuningListQueryDto) {
    return this.eventPage(this.tenantId, jobId, query);
  }

  @Get(':jobId/checkpoints')
  @CheckPolicies('read', 'FineTuningJob', { scope: 'member' })
  @ApiJobIdParam()
  @ApiOkResponse({ type: FineTuningList, description: 'Newest first: one per epoch.' })
  @ApiNotFoundResponse({ description: NOT_FOUND })
  checkpoints(@Param('jobId') jobId: string, @Query() query: FineTuningListQueryDto) {
    return this.checkpointPage(this.tenantId, jobId, query);
  }
}

/** Staff read a tenant's fine-tuning jobs (`/v1/tenants/{tenantId}/fine_tuning/jobs`). */
@ApiTags('fine-tuning')
@ApiParam({ name: 'tenantId', format: 'uuid', description: 'A customer tenant.' })
@ApiNotFoundResponse({ description: 'No such tenant or job, or one the caller may not see.' })
@Controller('v1/tenants/:tenantId/fine_tuning/jobs')
export class TenantFineTuningJobsController extends FineTuningJobReads {
  constructor(jobs: FineTuningJobService) {
    super(jobs);
  }

  @Get()
  @CheckPolicies('read', 'FineTuningJob')
  @ApiOkResponse({ type: FineTuningList, description: 'Newest first.' })
  list(@Param('tenantId') tenantId: string, @Query() query: FineTuningListQueryDto) {
    return this.page(tenantId, query);
  }

  @Get(':jobId')
  @CheckPolicies('read', 'FineTuningJob')
  @ApiJobIdParam()
  @ApiOkResponse({ type: FineTuningJobObject })
  get(@Param('tenantId') tenantId: string, @Param('jobId') jobId: string) {
    return this.one(tenantId, jobId);
  }

  @Get(':jobId/events')
  @CheckPolicies('read', 'FineTuningJob')
  @ApiJobIdParam()
  @ApiOkResponse({ type: FineTuningList, description: 'Newest first.' })
  events(
    @Param('tenantId') tenantId: string,
    @Param('jobId') jobId: string,
    @Query() query: FineTuningListQueryDto,
  ) {
    return this.eventPage(tenantId, jobId, query);
  }

  @Get(':jobId/checkpoints')
  @CheckPolicies('read', 'FineTuningJob')
  @ApiJobIdParam()
  @ApiOkResponse({ type: FineTuningList, description: 'Newest first: one per epoch.' })
  checkpoints(
    @Param('tenantId') tenantId: string,
    @Param('jobId') jobId: string,
    @Query() query: FineTuningListQueryDto,
  ) {
    return this.checkpointPage(tenantId, jobId, query);
  }
}
