/**
 * The console's only way to the server: the public HTTP API on the same origin, authenticated
 * by the `cp_session` cookie (HttpOnly, so never read here). Writes need nothing extra: the
 * browser sends `Sec-Fetch-Site: same-origin`, which the API requires of cookie-authenticated
 * writes (its CSRF check).
 */

/** One field error of a problem+json answer (`errors[]`, path like `quotaLines[0].limit`). */
export interface FieldError {
  path: string;
  message: string;
}

/** An RFC 9457 problem the API answered, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
  }
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

type Query = Record<string, string | number | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send<T>(method: string, path: string, body?: unknown, query?: Query): Promise<T> {
  let response: Response;
  try {
    response = await fetch(withQuery(path, query), {
      method,
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'The server could not be reached.');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed = text ? safeJson(text) : undefined;
  if (!response.ok) {
    const problem = (parsed ?? {}) as {
      code?: string;
      detail?: string;
      title?: string;
      errors?: FieldError[];
      // The OpenAI-compatible routes (`/v1/fine_tuning/...`) answer OpenAI's error shape.
      error?: { message?: string; code?: string | null; type?: string; param?: string | null };
    };
    const openAi = problem.error;
    throw new ApiError(
      response.status,
      problem.code ?? openAi?.code ?? openAi?.type ?? `http_${response.status}`,
      problem.detail ?? problem.title ?? openAi?.message ?? response.statusText,
      problem.errors ??
        (openAi?.param && openAi.message ? [{ path: openAi.param, message: openAi.message }] : []),
    );
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const api = {
  get: <T>(path: string, query?: Query) => send<T>('GET', path, undefined, query),
  post: <T>(path: string, body?: unknown) => send<T>('POST', path, body),
  patch: <T>(path: string, body: unknown) => send<T>('PATCH', path, body),
  delete: (path: string) => send<void>('DELETE', path),
};

// ---- shapes the console reads (API.md; only the fields it shows) ----

export interface Me {
  actor: { type: 'user' | 'api_key'; id: string; email?: string };
  tenantId: string | null;
  roles: string[];
  permissions: {
    action: string | string[];
    subject: string | string[];
    conditions?: object;
    fields?: string[];
    inverted?: boolean;
  }[];
}

export interface ComplianceProfile {
  allowedRegions: string[];
  allowedDataZones: string[];
  allowedModelFamilies: string[];
  dataClassification: string;
  requiredCertifications: string[];
  auditRetentionDays: number;
}

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  status: string;
  statusReason: string | null;
  billingTimeZone: string;
  complianceProfile: ComplianceProfile;
  createdAt: string;
}

export interface QuotaLine {
  metric: string;
  limit: number;
  period: string;
  enforcement: string;
  overageUnitPriceMinor?: number | null;
}

/** A service-credit tier of a contract's SLA: below this monthly availability, this credit. */
export interface CreditTier {
  /** Monthly availability, percent (up to 3 decimals). */
  below: number;
  /** Percent of the month's committed fee. */
  creditPercent: number;
}

export interface Contract {
  id: string;
  contractNumber: string;
  status: string;
  version: number;
  termStart: string;
  termEnd: string;
  currency: string | null;
  committedSpendMinor: number | null;
  billingModel: string | null;
  sla: {
    availabilityTarget: number;
    latencyP95Ms?: number;
    ttfbP95Ms?: number;
    creditTiers?: CreditTier[];
  } | null;
  quotaLines: QuotaLine[];
  activatedAt: string | null;
}

export interface QuotaStatus {
  asOf: string;
  contract: { id: string; contractNumber: string; version: number } | null;
  data: {
    metric: string;
    period: string;
    enforcement: string;
    limit: number;
    used: number;
    remaining: number;
    percent: number;
    overage: number;
    periodStart: string;
    periodEnd: string;
  }[];
}

export interface UsageRows {
  from: string;
  to: string;
  timeZone: string;
  data: { metric: string; day?: string; quantity: number; events: number }[];
}

export interface SsoDomain {
  id: string;
  domain: string;
  status: string;
  txtRecordName: string;
  txtRecordValue: string;
  verifiedAt: string | null;
}

export interface SamlConnection {
  id: string;
  name: string;
  status: string;
  idpEntityId: string;
  warnings: string[];
}

export interface AuditEvent {
  id: string;
  tenantId: string | null;
  sequence: number;
  occurredAt: string;
  actor: { type: string; id: string | null; email?: string; keyPrefix?: string; ip?: string };
  action: string;
  resource: { type: string; id: string | null };
  outcome: 'success' | 'denied' | 'failure';
  reason?: string | null;
  requestId?: string | null;
  changes?: { before?: unknown; after?: unknown } | null;
  hash: string;
}

export interface AuditReport {
  id: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  from: string;
  to: string;
  format: 'jsonl' | 'csv';
  rowCount: number | null;
  sha256: string | null;
  error: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface ReportManifest {
  reportId: string;
  rowCount: number;
  sha256: string;
  keyId: string;
  signature: string;
  firstSequence: number | null;
  lastSequence: number | null;
}

export type Verification =
  { ok: true; checked: number } | { ok: false; firstBadSequence: number; reason: string };

export interface TenantUser {
  id: string;
  email: string;
  displayName: string | null;
  status: 'active' | 'disabled';
  roles: string[];
  lastSignInAt: string | null;
  createdAt: string;
}

export interface Endpoint {
  id: string;
  name: string;
  model: string;
  region: string;
  status: string;
  statusReason: string | null;
  desired: {
    state: string;
    replicas: number;
    minReplicas: number;
    maxReplicas: number;
    autoscaling: { targetConcurrentRequests: number; scaleDownDelayMs?: number } | null;
    generation: number;
  };
  observed: {
    replicas: number;
    readyReplicas: number;
    generation: number | null;
    replicaDetails: {
      id: string;
      ready: boolean;
      generation: number;
      startedAt: string;
      detail?: string;
    }[];
  };
  url: string | null;
  provider: string;
  gpuType: string;
  gpusPerReplica: number;
  gpuHoursRecorded: number;
  createdAt: string;
}

export interface EndpointEvent {
  id: string;
  type: string;
  fromStatus: string | null;
  toStatus: string | null;
  message: string;
  actor: string | null;
  createdAt: string;
}

export interface CatalogModel {
  id: string;
  family: string;
  modality: string;
  regions: string[];
  /** The owning tenant of a fine-tuned model; null for base models. */
  tenantId: string | null;
}

/** `GET /v1/regions` (what placement is checked against). */
export interface Region {
  code: string;
  name: string;
  dataZone: string;
  certifications: string[];
}

/** OpenAI's list shape (`/v1/fine_tuning/...`): `after` is the last item's id. */
export interface OpenAiList<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

/** OpenAI "The fine-tuning job object" (times in Unix seconds). */
export interface FineTuningJob {
  id: string;
  created_at: number;
  finished_at: number | null;
  model: string;
  fine_tuned_model: string | null;
  status: 'validating_files' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  hyperparameters: { n_epochs: number; batch_size: number; learning_rate_multiplier: number };
  training_file: string;
  validation_file: string | null;
  trained_tokens: number | null;
  estimated_tokens: number;
  error: { code: string; message: string } | null;
  seed: number;
  suffix: string | null;
  cancel_requested: boolean;
}

export interface FineTuningEvent {
  id: string;
  created_at: number;
  level: string;
  message: string;
  type: 'message' | 'metrics';
  data: {
    step?: number;
    total_steps?: number;
    epoch?: number;
    train_loss?: number;
    valid_loss?: number;
    status?: string;
  } | null;
}

export interface FineTuningCheckpoint {
  id: string;
  created_at: number;
  fine_tuned_model_checkpoint: string;
  step_number: number;
  metrics: { step: number; train_loss: number; valid_loss?: number };
}

export interface SlaIncident {
  id: string;
  status: 'open' | 'closed';
  startedAt: string;
  endedAt: string | null;
  cause: string;
  causes: string[];
  endpointIds: string[];
  badMinutes: number;
}

/** `GET /v1/tenants/{tenantId}/sla?month=` (only what the console shows). */
export interface SlaReport {
  month: string;
  timeZone: string;
  from: string;
  to: string;
  measuredTo: string;
  final: boolean;
  availabilityTarget: number | null;
  availability: number | null;
  minutes: number;
  excludedMinutes: number;
  badMinutes: number;
  goodMinutes: number;
  requests: number;
  errors: number;
  latency: {
    ttfbP95Ms: number | null;
    totalP95Ms: number | null;
    targets: { ttfbP95Ms: number | null; totalP95Ms: number | null };
    /** Whether each p95 met its target (null: no target or no requests). */
    met: { ttfbP95: boolean | null; totalP95: boolean | null };
  };
  incidents: SlaIncident[];
  excludedWindows: { id: string; startsAt: string; endsAt: string; reason: string }[];
  endpoints: {
    endpointId: string;
    name: string;
    availability: number | null;
    badMinutes: number;
  }[];
  creditTiers: CreditTier[];
  creditPercent: number;
  monthlyFeeMinor: number;
  creditMinor: number;
  currency: string | null;
}

/** A failed write as forms show it: the problem's detail and code, and its field errors by path. */
export function problemOf(error: unknown): { message: string; fields: Record<string, string> } {
  if (error instanceof ApiError)
    return {
      message: `${error.detail} (${error.code})`,
      fields: Object.fromEntries(error.errors.map((e) => [e.path, e.message])),
    };
  return { message: String(error), fields: {} };
}
