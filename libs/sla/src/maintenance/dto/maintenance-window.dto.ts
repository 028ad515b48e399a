import { IsInstant } from '@app/core';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

/** `POST /v1/tenants/{tenantId}/maintenance-windows`. */
export class CreateMaintenanceWindowDto {
  @ApiProperty({
    format: 'date-time',
    example: '2027-03-01T02:00:00Z',
    description: 'In the future: maintenance is declared in advance.',
  })
  @IsInstant()
  startsAt!: Date;

  @ApiProperty({
    format: 'date-time',
    example: '2027-03-01T04:00:00Z',
    description: 'Exclusive; after startsAt, at most 7 days later.',
  })
  @IsInstant()
  endsAt!: Date;

  @ApiProperty({ example: 'GPU driver upgrade', description: '1-500 characters.' })
  @IsString()
  @Length(1, 500)
  reason!: string;
}

export class MaintenanceWindowResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) startsAt!: string;
  @ApiProperty({ format: 'date-time' }) endsAt!: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String }) createdBy!: string | null;
}

export class MaintenanceWindowPage {
  @ApiProperty({ type: [MaintenanceWindowResponse] }) data!: MaintenanceWindowResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
