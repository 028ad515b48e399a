import { CheckPolicies } from '@app/authz';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray } from 'class-validator';
import { MAX_USAGE_BATCH, UsageIngestionService } from './usage-ingestion.service';

/** `POST /v1/usage/events` (API.md, Contracts and quotas). Events are checked one by one. */
export class IngestUsageDto {
  /** Each event is checked for unstorable text on its own (UsageIngestionService), not the batch. */
  static readonly checksItemsItself = true;

  @ApiProperty({
    type: 'array',
    items: { type: 'object' },
    maxItems: MAX_USAGE_BATCH,
    description:
      '`{id, tenantId, metric, quantity, occurredAt, endpointId?, apiKeyId?, fineTuningJobId?, attributes?}` each; a bad event is rejected with its index while the others land.',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_USAGE_BATCH)
  events!: unknown[];
}

class RejectedEventResponse {
  @ApiProperty() index!: number;
  @ApiProperty({ example: 'invalid_event' }) code!: string;
  @ApiProperty() message!: string;
}

class IngestionResponse {
  @ApiProperty({ description: 'Events recorded now.' }) accepted!: number;
  @ApiProperty({ description: 'Events already recorded (same id): counted once.' })
  duplicates!: number;
  @ApiProperty({ type: [RejectedEventResponse] }) rejected!: RejectedEventResponse[];
}

@ApiTags('usage')
@Controller('v1/usage/events')
export class UsageEventsController {
  constructor(private readonly ingestion: UsageIngestionService) {}

  @Post()
  @HttpCode(200)
  @CheckPolicies('create', 'UsageEvent', { scope: 'platform' })
  @ApiOkResponse({ type: IngestionResponse })
  ingest(@Body() body: IngestUsageDto): Promise<IngestionResponse> {
    return this.ingestion.record(body.events);
  }
}
