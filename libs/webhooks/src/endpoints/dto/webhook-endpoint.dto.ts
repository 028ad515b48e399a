import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayNotEmpty,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { MAX_WEBHOOK_URL_LENGTH, webhookUrlShapeProblem } from '../../delivery/address-policy';
import {
  WEBHOOK_ENDPOINT_STATUSES,
  WEBHOOK_EVENT_TYPES,
  WebhookEndpointStatus,
  WebhookEventType,
} from '../../webhooks.constants';

/**
 * An absolute `http(s)` URL without credentials, at most 2048 characters. Whether `http` and
 * non-public addresses are allowed depends on the configuration and is checked by the service.
 */
function IsWebhookUrl(): PropertyDecorator {
  return ValidateBy({
    name: 'isWebhookUrl',
    validator: {
      validate: (value: unknown) => webhookUrlShapeProblem(value) === undefined,
      defaultMessage: (args) => webhookUrlShapeProblem(args?.value) ?? 'url is not valid',
    },
  });
}

const URL_DOC = {
  example: 'https://hooks.example.com/control-plane',
  maxLength: MAX_WEBHOOK_URL_LENGTH,
  description:
    'Absolute https URL (http only where the operator allows it), without credentials. Its host must not be or resolve to a loopback, private or link-local address (checked again at every delivery).',
};

/** `POST /v1/tenants/{tenantId}/webhook-endpoints`. */
export class CreateWebhookEndpointDto {
  @ApiProperty(URL_DOC)
  @IsWebhookUrl()
  url!: string;

  @ApiPropertyOptional({ type: String, maxLength: 500, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, isArray: true, example: ['quota.threshold_reached'] })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn([...WEBHOOK_EVENT_TYPES], { each: true })
  eventTypes!: WebhookEventType[];
}

/** `PATCH .../webhook-endpoints/{id}`: any of the fields; `description: null` clears it. */
export class UpdateWebhookEndpointDto {
  @ApiPropertyOptional(URL_DOC)
  @ValidateIf((_dto, value) => value !== undefined)
  @IsWebhookUrl()
  url?: string;

  @ApiPropertyOptional({ type: String, maxLength: 500, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({ enum: WEBHOOK_EVENT_TYPES, isArray: true })
  @ValidateIf((_dto, value) => value !== undefined)
  @IsArray()
  @ArrayNotEmpty()
  @ArrayUnique()
  @IsIn([...WEBHOOK_EVENT_TYPES], { each: true })
  eventTypes?: WebhookEventType[];

  @ApiPropertyOptional({
    enum: WEBHOOK_ENDPOINT_STATUSES,
    description: 'A disabled endpoint receives nothing; its due deliveries are marked failed.',
  })
  @ValidateIf((_dto, value) => value !== undefined)
  @IsIn([...WEBHOOK_ENDPOINT_STATUSES])
  status?: WebhookEndpointStatus;
}
