import { Omittable } from '@app/core';
import { PLATFORM_ROLES, PlatformRole } from '@app/authz';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsEmail,
  IsIn,
  IsString,
  Length,
  Matches,
} from 'class-validator';

/** `POST /v1/platform/users`: operator staff (people of the tenant come through SSO). */
export class CreateStaffUserDto {
  @ApiProperty({ example: 'am@operator.example' })
  @IsEmail()
  @Length(3, 320)
  email!: string;

  @ApiPropertyOptional({ example: 'Ada Manager' })
  @Omittable()
  @IsString()
  @Length(1, 200)
  @Matches(/\S/, { message: 'displayName must not be blank' })
  displayName?: string;

  @ApiProperty({ enum: PLATFORM_ROLES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn([...PLATFORM_ROLES], { each: true })
  roles!: PlatformRole[];
}
