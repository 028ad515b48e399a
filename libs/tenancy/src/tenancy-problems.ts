import { defineProblem } from '@app/core';

export const TenantSlugTaken = defineProblem({
  code: 'tenant_slug_taken',
  status: 409,
  title: 'Tenant slug already in use',
  description: 'Another tenant already has this slug; slugs are unique across the platform.',
});

export const NotAnAccountManager = defineProblem({
  code: 'not_an_account_manager',
  status: 422,
  title: 'User is not an account manager',
  description:
    'Only active operator staff holding the `account_manager` role can be assigned to tenants.',
});

export const InvalidComplianceProfile = defineProblem({
  code: 'invalid_compliance_profile',
  status: 422,
  title: 'Compliance profile breaks a catalog rule',
  description:
    'The profile names an unknown region or data zone, a region lacking a required certification, or an audit retention shorter than a required certification demands. `errors` lists each field.',
});

export const IllegalTenantTransition = defineProblem({
  code: 'illegal_tenant_transition',
  status: 409,
  title: 'Tenant status does not allow this',
  description:
    'Tenant statuses move onboarding → active → suspended ⇄ active, and any of them → offboarded (final). The requested change is not one of these from the current status.',
});

/**
 * Declared by authorization, whose request transaction refuses every write to an offboarded
 * tenant; tenancy's services throw it too (jobs, and writes that raced the offboarding).
 */
export { TenantOffboarded } from '@app/authz';

export const RegionExists = defineProblem({
  code: 'region_exists',
  status: 409,
  title: 'Region already in the catalog',
  description: 'A region with this code exists; change it with PATCH /v1/regions/{code}.',
});

export const RegionInUse = defineProblem({
  code: 'region_in_use',
  status: 409,
  title: 'Tenants rely on what this change removes',
  description:
    'The change removes a certification from a region that tenants allow (by code or by data zone) and whose compliance profile requires that certification, so their profiles would silently stop permitting the region. `tenantIds` lists them (up to 20) and `tenantCount` counts them: change their profiles first.',
});

export const ContractNumberTaken = defineProblem({
  code: 'contract_number_taken',
  status: 409,
  title: 'Contract number already in use',
  description: "Contract numbers are unique within a tenant's contracts.",
});

export const ContractOverlap = defineProblem({
  code: 'contract_overlap',
  status: 409,
  title: 'Contract terms overlap',
  description:
    'Another active, expired or terminated contract of this tenant is in force during part of this term. At most one contract is in force at any instant.',
});

export const ContractNotEditable = defineProblem({
  code: 'contract_not_editable',
  status: 409,
  title: 'Contract is not a draft',
  description:
    'Only drafts are edited in place. Change an active contract with an amendment (POST .../amendments), which creates a new version effective from a date.',
});

export const IllegalContractTransition = defineProblem({
  code: 'illegal_contract_transition',
  status: 409,
  title: 'Contract status does not allow this',
  description:
    'Contracts move draft → active → expired | terminated. The requested change is not allowed from the current status.',
});

export const ContractIncomplete = defineProblem({
  code: 'contract_incomplete',
  status: 422,
  title: 'Draft is not complete',
  description:
    'Activation needs a currency, committed spend, billing model, SLA terms with an availability target, at least one quota line, and a term that has not ended. `errors` lists what is missing.',
});

export const InvalidAmendment = defineProblem({
  code: 'invalid_amendment',
  status: 422,
  title: 'Amendment cannot take effect then',
  description:
    'An amendment takes effect within the term, not in the past, and after the latest version already in place.',
});

export const AmendmentConflict = defineProblem({
  code: 'amendment_conflict',
  status: 409,
  title: 'The latest version is not yet in force',
  description:
    "The amendment names no effectiveFrom, so it would take effect now, but the latest version takes effect at or after now (a concurrent amendment, or one scheduled ahead). Retry, or send an effectiveFrom after the latest version's (`latestEffectiveFrom`).",
});

export const AlreadyRenewed = defineProblem({
  code: 'already_renewed',
  status: 409,
  title: 'Contract already has a renewal',
  description: 'A draft or active renewal of this contract exists; edit or activate that one.',
});

export const AsOfOutsideTerm = defineProblem({
  code: 'as_of_outside_term',
  status: 422,
  title: 'No terms in force at that instant',
  description: 'asOf is before the term starts or after the contract stopped being in force.',
});
