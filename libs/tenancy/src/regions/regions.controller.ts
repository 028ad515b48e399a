import { CheckPolicies } from '@app/authz';
import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import {
  CreateRegionDto,
  RegionPage,
  RegionQueryDto,
  RegionResponse,
  UpdateRegionDto,
} from './dto/region.dto';
import { RegionService } from './region.service';

@ApiTags('regions')
@Controller('v1/regions')
export class RegionsController {
  constructor(private readonly regions: RegionService) {}

  @Post()
  @CheckPolicies('create', 'Region', { scope: 'platform' })
  @ApiCreatedResponse({ type: RegionResponse })
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
  @ApiOkResponse({ type: RegionResponse })
  @ApiNotFoundResponse()
  async get(@Param('code') code: string): Promise<RegionResponse> {
    return RegionResponse.of(await this.regions.get(code));
  }

  @Patch(':code')
  @CheckPolicies('update', 'Region', { scope: 'platform' })
  @ApiOkResponse({ type: RegionResponse })
  @ApiNotFoundResponse()
  async update(
    @Param('code') code: string,
    @Body() body: UpdateRegionDto,
  ): Promise<RegionResponse> {
    return RegionResponse.of(await this.regions.update(code, body));
  }
}
