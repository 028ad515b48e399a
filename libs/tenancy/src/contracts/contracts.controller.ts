import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import { PageQueryDto } from '@app/core';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ContractService, ContractView } from './contract.service';
import {
  AsOfQueryDto,
  ContractListQueryDto,
  CreateAmendmentDto,
  CreateContractDto,
  RenewContractDto,
  TerminateContractDto,
  UpdateContractDto,
} from './dto/contract.dto';
import {
  ContractPage,
  ContractResponse,
  ContractVersionList,
  ContractVersionResponse,
} from './dto/contract.response';

const ID = new ParseUUIDPipe({ version: undefined });

function versionResponse(view: ContractView): ContractVersionResponse {
  const full = ContractResponse.of(view);
  return {
    version: view.version.version,
    effectiveFrom: full.effectiveFrom,
    committedSpendMinor: full.committedSpendMinor,
    billingModel: full.billingModel,
    sla: full.sla,
    quotaLines: full.quotaLines,
    reason: view.version.reason,
    createdBy: view.version.createdBy,
    createdAt: view.version.createdAt.toISOString(),
  };
}

/**
 * Annual contracts of a tenant (API.md, Contracts and quotas). Tenant admins and compliance
 * officers read their own; assigned account managers and platform admins write.
 */
@ApiTags('contracts')
@Controller('v1/tenants/:tenantId/contracts')
export class ContractsController {
  constructor(
    private readonly contracts: ContractService,
    private readonly access: CurrentAccess,
  ) {}

  @Post()
  @CheckPolicies('create', 'Contract')
  @ApiCreatedResponse({ type: ContractResponse, description: 'A draft, version 1.' })
  @ApiConflictResponse({ description: '`contract_number_taken`, `tenant_offboarded`' })
  async create(
    @Param('tenantId') tenantId: string,
    @Body() body: CreateContractDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(
      await this.contracts.create(asTenantId(tenantId), body, this.access.principal.actor),
    );
  }

  @Get()
  @CheckPolicies('read', 'Contract')
  @ApiOkResponse({ type: ContractPage, description: 'Oldest first.' })
  async list(
    @Param('tenantId') tenantId: string,
    @Query() query: ContractListQueryDto,
  ): Promise<ContractPage> {
    const page = await this.contracts.list(
      asTenantId(tenantId),
      { asOf: query.asOf, status: query.status },
      query.limit,
      query.after,
    );
    return {
      data: page.data.map((view) => ContractResponse.of(view)),
      nextCursor: page.nextCursor,
    };
  }

  @Get(':id')
  @CheckPolicies('read', 'Contract')
  @ApiOkResponse({ type: ContractResponse, description: 'Terms in force at asOf (default now).' })
  @ApiNotFoundResponse()
  @ApiUnprocessableEntityResponse({ description: '`as_of_outside_term`' })
  async get(
    @Param('tenantId') tenantId: string,
    @Param('id', ID) id: string,
    @Query() query: AsOfQueryDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(await this.contracts.get(asTenantId(tenantId), id, query.asOf));
  }

  @Get(':id/versions')
  @CheckPolicies('read', 'Contract')
  @ApiOkResponse({ type: ContractVersionList, description: 'Oldest first.' })
  async versions(
    @Param('tenantId') tenantId: string,
    @Param('id', ID) id: string,
    @Query() query: PageQueryDto,
  ): Promise<ContractVersionList> {
    const page = await this.contracts.versions(asTenantId(tenantId), id, query.limit, query.after);
    return { data: page.data.map(versionResponse), nextCursor: page.nextCursor };
  }

  @Patch(':id')
  @CheckPolicies('update', 'Contract')
  @ApiOkResponse({ type: ContractResponse })
  @ApiConflictResponse({ description: '`contract_not_editable` unless a draft' })
  async update(
    @Param('tenantId') tenantId: string,
    @Param('id', ID) id: string,
    @Body() body: UpdateContractDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(await this.contracts.update(asTenantId(tenantId), id, body));
  }

  @Post(':id/activate')
  @HttpCode(200)
  @CheckPolicies('activate', 'Contract')
  @ApiOkResponse({ type: ContractResponse })
  @ApiConflictResponse({ description: '`contract_overlap`, `illegal_contract_transition`' })
  @ApiUnprocessableEntityResponse({ description: '`contract_incomplete`' })
  async activate(
    @Param('tenantId') tenantId: string,
    @Param('id', ID) id: string,
  ): Promise<ContractResponse> {
    return ContractResponse.of(await this.contracts.activate(asTenantId(tenantId), id));
  }

  @Post(':id/terminate')
  @HttpCode(200)
  @CheckPolicies('terminate', 'Contract')
  @ApiOkResponse({ type: ContractResponse })
  @ApiConflictResponse({ description: '`illegal_contract_transition`' })
  async terminate(
    @Param('tenantId') tenantId: string,
    @Param('id', ID) id: string,
    @Body() body: TerminateContractDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(
      await this.contracts.terminate(asTenantId(tenantId), id, body.reason),
    );
  }

  @Post(':id/renew')
  @CheckPolicies('renew', 'Contract')
  @ApiCreatedResponse({ type: ContractResponse, description: 'The draft of the next term.' })
  @ApiConflictResponse({ description: '`already_renewed`, `illegal_contract_transition`' })
  async renew(
    @Param('tenantId') tenantId: string,
    @Param('id', ID) id: string,
    @Body() body: RenewContractDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(
      await this.contracts.renew(asTenantId(tenantId), id, body, this.access.principal.actor),
    );
  }

  @Post(':id/amendments')
  @CheckPolicies('amend', 'Contract')
  @ApiCreatedResponse({ type: ContractResponse, description: 'The contract at its new version.' })
  @ApiUnprocessableEntityResponse({ description: '`invalid_amendment`' })
  async amend(
    @Param('tenantId') tenantId: string,
    @Param('id', ID) id: string,
    @Body() body: CreateAmendmentDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(
      await this.contracts.amend(asTenantId(tenantId), id, body, this.access.principal.actor),
    );
  }
}
