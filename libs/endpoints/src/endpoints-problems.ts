import { defineProblem } from '@app/core';

/** Declared by authorization (credentials of a suspended tenant); endpoints refuse with it too. */
export { TenantSuspended } from '@app/authz';

export const CatalogModelExists = defineProblem({
  code: 'catalog_model_exists',
  status: 409,
  title: 'Model already in the catalog',
  description: 'A model with this id exists; change it with PATCH /v1/catalog/models/{id}.',
});

export const CatalogModelInUse = defineProblem({
  code: 'catalog_model_in_use',
  status: 409,
  title: 'Endpoints run this model',
  description:
    'The change would withdraw the model from a region (or delete it) while endpoints that are not deleted use it there. `endpointCount` counts them: delete or move them first.',
});

export const RegionNotAllowed = defineProblem({
  code: 'region_not_allowed',
  status: 403,
  title: "Region outside the tenant's compliance profile",
  description:
    "The tenant's compliance profile allows neither this region nor its data zone (`allowedRegions`, `allowedDataZones`).",
});

export const RegionMissingCertification = defineProblem({
  code: 'region_missing_certification',
  status: 403,
  title: 'Region lacks a certification the tenant requires',
  description:
    "The region does not hold every certification in the tenant's `requiredCertifications`; `missingCertifications` lists those it lacks.",
});

export const ModelFamilyNotAllowed = defineProblem({
  code: 'model_family_not_allowed',
  status: 403,
  title: "Model family outside the tenant's compliance profile",
  description: "The model's family is not in the tenant's `allowedModelFamilies`.",
});

export const ModelNotOfferedInRegion = defineProblem({
  code: 'model_not_offered_in_region',
  status: 422,
  title: 'Model not offered in this region',
  description:
    'The catalog does not offer the model in the region; `regions` lists where it is offered (see GET /v1/catalog/models).',
});

export const EndpointQuotaExceeded = defineProblem({
  code: 'endpoint_quota_exceeded',
  status: 409,
  title: 'Dedicated endpoint quota reached',
  description:
    "The contract's hard `dedicated_endpoints` line holds no room for another endpoint; `limit` and `used` say how many. Delete an endpoint or amend the contract.",
});

export const NoContractInForce = defineProblem({
  code: 'no_contract_in_force',
  status: 409,
  title: 'No contract in force',
  description:
    'Dedicated endpoints are provided under an active contract; the tenant has none in force now.',
});

export const RegionCapacityExhausted = defineProblem({
  code: 'region_capacity_exhausted',
  status: 409,
  title: 'Not enough GPUs in the region',
  description:
    "The region's capacity of this GPU type cannot hold the endpoint at its `maxReplicas` × the model's GPUs per replica; `capacity`, `allocated` and `requested` are GPU counts.",
});

export const IllegalEndpointTransition = defineProblem({
  code: 'illegal_endpoint_transition',
  status: 409,
  title: 'Endpoint status does not allow this',
  description:
    'The endpoint lifecycle (one transition table) does not allow the request in the current status; `endpointStatus` and `allowed` say what it is and what it accepts.',
});

export const EndpointNameTaken = defineProblem({
  code: 'endpoint_name_taken',
  status: 409,
  title: 'Endpoint name already in use',
  description:
    "Endpoint names are unique among a tenant's endpoints that are not deleted; `errors` names the `name` field.",
});
