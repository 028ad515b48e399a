import { CheckPolicies } from '@app/authz';
import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import {
  CreateRegionDto,
  RegionPage,
  RegionQueryDto,
  REGION_CODE,
  RegionResponse,
  UpdateRegionDto,
} from './dto/region.dto';
import { ParseRegionCodePipe } from './region-code.pipe';
import { RegionService } from './region.service';

const CODE = new ParseRegionCodePipe();
const CODE_PARAM = ApiParam({
  name: 'code',
  example: 'eu-west-1',
  schema: { type: 'string', pattern: REGION_CODE.source },
});

@ApiTags('regions')
@Controller('v1/regions')
export class RegionsController {
  constructor(private readonly regions: RegionService) {}

  @Post()
  @CheckPolicies('create', 'Region', { scope: 'platform' })
  @ApiCreatedResponse({ type: RegionResponse })
  @ApiConflictResponse({ description: '`region_exists`' })
  async create(@Body() body: CreateRegionDto): Promise<RegionResponse> {
    return RegionResponse.of(await this.regions.create(body));
  }

  @Get()
  @CheckPolicies('read', 'Region', { scope: 'platform' })
  @ApiOkResponse({
    type: RegionPage,
    description: 'The catalog by code; filter by zone or certification.',
  })
  async list(@Query() query: RegionQueryDto): Promise<RegionPage> {
    const page = await this.regions.list(query, query.limit, query.after);
    return { data: page.data.map(RegionResponse.of), nextCursor: page.nextCursor };
  }

  @Get(':code')
  @CheckPolicies('read', 'Region', { scope: 'platform' })
  @CODE_PARAM
  @ApiOkResponse({ type: RegionResponse })
  @ApiNotFoundResponse({ description: 'No such region (anything not shaped like a code too).' })
  async get(@Param('code', CODE) code: string): Promise<RegionResponse> {
    return RegionResponse.of(await this.regions.get(code));
  }

  @Patch(':code')
  @CheckPolicies('update', 'Region', { scope: 'platform' })
  @CODE_PARAM
  @ApiOkResponse({ type: RegionResponse })
  @ApiNotFoundResponse({ description: 'No such region (anything not shaped like a code too).' })
  @ApiConflictResponse({
    description:
      '`region_in_use`: removing a certification that tenants allowing the region require (`tenantIds`, `tenantCount`)',
  })
  async update(
    @Param('code', CODE) code: string,
    @Body() body: UpdateRegionDto,
  ): Promise<RegionResponse> {
    return RegionResponse.of(await this.regions.update(code, body));
  }
}
