import { asTenantId, CheckPolicies, CurrentAccess } from '@app/authz';
import { EmptyBody, PageQueryDto, RequestContext, ResourceId } from '@app/core';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ApiIdParam, ApiTenantIdParam, NOT_FOUND_TENANT, OFFBOARDED } from '../openapi';
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

/** `:id`: a contract's UUID; anything else is simply not found (404). */
const ContractId = () => ResourceId('id', 'contract');
const ApiContractIdParam = () => ApiIdParam('id', 'The contract.');
const NOT_FOUND_CONTRACT = `No such contract in this tenant (malformed ids too). ${NOT_FOUND_TENANT}`;

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
@ApiTenantIdParam()
@Controller('v1/tenants/:tenantId/contracts')
export class ContractsController {
  constructor(
    private readonly contracts: ContractService,
    private readonly access: CurrentAccess,
    private readonly context: RequestContext,
  ) {}

  @Post()
  @CheckPolicies('create', 'Contract')
  @ApiCreatedResponse({ type: ContractResponse, description: 'A draft, version 1.' })
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
  @ApiConflictResponse({ description: `\`contract_number_taken\`; ${OFFBOARDED}` })
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
  @ApiNotFoundResponse({ description: NOT_FOUND_TENANT })
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
  @ApiContractIdParam()
  @ApiOkResponse({ type: ContractResponse, description: 'Terms in force at asOf (default now).' })
  @ApiNotFoundResponse({ description: NOT_FOUND_CONTRACT })
  @ApiUnprocessableEntityResponse({ description: '`as_of_outside_term`' })
  async get(
    @Param('tenantId') tenantId: string,
    @ContractId() id: string,
    @Query() query: AsOfQueryDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(await this.contracts.get(asTenantId(tenantId), id, query.asOf));
  }

  @Get(':id/versions')
  @CheckPolicies('read', 'Contract')
  @ApiContractIdParam()
  @ApiOkResponse({ type: ContractVersionList, description: 'Oldest first.' })
  @ApiNotFoundResponse({ description: NOT_FOUND_CONTRACT })
  async versions(
    @Param('tenantId') tenantId: string,
    @ContractId() id: string,
    @Query() query: PageQueryDto,
  ): Promise<ContractVersionList> {
    const page = await this.contracts.versions(asTenantId(tenantId), id, query.limit, query.after);
    return { data: page.data.map(versionResponse), nextCursor: page.nextCursor };
  }

  @Patch(':id')
  @CheckPolicies('update', 'Contract')
  @ApiContractIdParam()
  @ApiOkResponse({ type: ContractResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND_CONTRACT })
  @ApiConflictResponse({
    description: `\`contract_not_editable\` unless a draft; \`contract_number_taken\`; ${OFFBOARDED}`,
  })
  async update(
    @Param('tenantId') tenantId: string,
    @ContractId() id: string,
    @Body() body: UpdateContractDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(await this.contracts.update(asTenantId(tenantId), id, body));
  }

  @Delete(':id')
  @HttpCode(204)
  @CheckPolicies('delete', 'Contract')
  @ApiContractIdParam()
  @ApiNoContentResponse({ description: 'The draft is gone (its version and quota lines too).' })
  @ApiNotFoundResponse({ description: NOT_FOUND_CONTRACT })
  @ApiConflictResponse({ description: `\`contract_not_editable\` unless a draft; ${OFFBOARDED}` })
  async discard(@Param('tenantId') tenantId: string, @ContractId() id: string): Promise<void> {
    const draft = await this.contracts.discard(asTenantId(tenantId), id);
    this.context.recordBefore(ContractResponse.of(draft));
  }

  @Post(':id/activate')
  @HttpCode(200)
  @CheckPolicies('activate', 'Contract')
  @ApiContractIdParam()
  @ApiOkResponse({ type: ContractResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND_CONTRACT })
  @ApiConflictResponse({
    description: `\`contract_overlap\`, \`illegal_contract_transition\`; ${OFFBOARDED}`,
  })
  @ApiUnprocessableEntityResponse({ description: '`contract_incomplete`' })
  async activate(
    @Param('tenantId') tenantId: string,
    @ContractId() id: string,
    @EmptyBody() _body: Record<string, never>,
  ): Promise<ContractResponse> {
    return ContractResponse.of(await this.contracts.activate(asTenantId(tenantId), id));
  }

  @Post(':id/terminate')
  @HttpCode(200)
  @CheckPolicies('terminate', 'Contract')
  @ApiContractIdParam()
  @ApiOkResponse({ type: ContractResponse })
  @ApiNotFoundResponse({ description: NOT_FOUND_CONTRACT })
  @ApiConflictResponse({ description: `\`illegal_contract_transition\`; ${OFFBOARDED}` })
  async terminate(
    @Param('tenantId') tenantId: string,
    @ContractId() id: string,
    @Body() body: TerminateContractDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(
      await this.contracts.terminate(asTenantId(tenantId), id, body.reason),
    );
  }

  @Post(':id/renew')
  @CheckPolicies('renew', 'Contract')
  @ApiContractIdParam()
  @ApiCreatedResponse({ type: ContractResponse, description: 'The draft of the next term.' })
  @ApiNotFoundResponse({ description: NOT_FOUND_CONTRACT })
  @ApiConflictResponse({
    description: `\`already_renewed\`, \`illegal_contract_transition\`, \`contract_number_taken\` (a contractNumber sent); ${OFFBOARDED}`,
  })
  async renew(
    @Param('tenantId') tenantId: string,
    @ContractId() id: string,
    @Body() body: RenewContractDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(
      await this.contracts.renew(asTenantId(tenantId), id, body, this.access.principal.actor),
    );
  }

  @Post(':id/amendments')
  @CheckPolicies('amend', 'Contract')
  @ApiContractIdParam()
  @ApiCreatedResponse({ type: ContractResponse, description: 'The contract at its new version.' })
  @ApiNotFoundResponse({ description: NOT_FOUND_CONTRACT })
  @ApiConflictResponse({
    description: `\`illegal_contract_transition\` unless active; \`amendment_conflict\` (no effectiveFrom sent and the latest version takes effect at or after now: retry or send one); ${OFFBOARDED}`,
  })
  @ApiUnprocessableEntityResponse({ description: '`invalid_amendment`' })
  async amend(
    @Param('tenantId') tenantId: string,
    @ContractId() id: string,
    @Body() body: CreateAmendmentDto,
  ): Promise<ContractResponse> {
    return ContractResponse.of(
      await this.contracts.amend(asTenantId(tenantId), id, body, this.access.principal.actor),
    );
  }
}
