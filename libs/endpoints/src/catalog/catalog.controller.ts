import { asTenantId, CheckPolicies, CurrentAccess, PLATFORM_TENANT_ID } from '@app/authz';
import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { CatalogService, CatalogViewer } from './catalog.service';
import {
  CatalogModelPage,
  CatalogModelResponse,
  CatalogQueryDto,
  CreateCatalogModelDto,
  UpdateCatalogModelDto,
} from './dto/catalog-model.dto';

const MODEL_PARAM = ApiParam({ name: 'id', example: 'llama-3-8b-local' });

/**
 * The model catalog (`/v1/catalog/models`): base models for every tenant, fine-tuned models for
 * their own tenant only; platform admins add and change base models.
 */
@ApiTags('catalog')
@Controller('v1/catalog/models')
export class CatalogController {
  constructor(
    private readonly catalog: CatalogService,
    private readonly access: CurrentAccess,
  ) {}

  @Get()
  @CheckPolicies('read', 'CatalogModel', { scope: 'platform' })
  @ApiOkResponse({
    type: CatalogModelPage,
    description: 'By id; filter by modality, family, region.',
  })
  async list(@Query() query: CatalogQueryDto): Promise<CatalogModelPage> {
    const page = await this.catalog.list(this.viewer(), query, query.limit, query.after);
    return { data: page.data.map(CatalogModelResponse.of), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @CheckPolicies('read', 'CatalogModel', { scope: 'platform' })
  @MODEL_PARAM
  @ApiOkResponse({ type: CatalogModelResponse })
  @ApiNotFoundResponse({ description: 'No such model, or another tenant’s fine-tuned model.' })
  async get(@Param('id') id: string): Promise<CatalogModelResponse> {
    return CatalogModelResponse.of(await this.catalog.get(this.viewer(), id));
  }

  @Post()
  @CheckPolicies('create', 'CatalogModel', { scope: 'platform' })
  @ApiCreatedResponse({ type: CatalogModelResponse })
  @ApiBadRequestResponse({
    description: '`validation_failed`: a field, an unknown region or one without that GPU type',
  })
  @ApiConflictResponse({ description: '`catalog_model_exists`' })
  async create(@Body() body: CreateCatalogModelDto): Promise<CatalogModelResponse> {
    return CatalogModelResponse.of(await this.catalog.create(body));
  }

  @Patch(':id')
  @CheckPolicies('update', 'CatalogModel', { scope: 'platform' })
  @MODEL_PARAM
  @ApiOkResponse({ type: CatalogModelResponse })
  @ApiNotFoundResponse({ description: 'No such base model.' })
  @ApiConflictResponse({
    description: '`catalog_model_in_use`: removing a region where endpoints run the model',
  })
  async update(
    @Param('id') id: string,
    @Body() body: UpdateCatalogModelDto,
  ): Promise<CatalogModelResponse> {
    return CatalogModelResponse.of(await this.catalog.update(id, body));
  }

  private viewer(): CatalogViewer {
    const { homeTenantId } = this.access.principal;
    return homeTenantId === PLATFORM_TENANT_ID
      ? { kind: 'platform' }
      : { kind: 'tenant', tenantId: asTenantId(homeTenantId) };
  }
}
