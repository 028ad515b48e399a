import { z } from 'zod';

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    error: 'must be one of true, false, 1, 0, yes, no',
  })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be an integer between 1 and 65535')
  .transform(Number)
  .pipe(z.number())
  .refine((n) => n >= 1 && n <= 65535, 'must be an integer between 1 and 65535');
const urlWithProtocols = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
};

/** Parses `1048576`, `512kb`, `1mb`, `1MiB` into bytes. */
const byteSize = z.string().transform((value, ctx) => {
  const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? BYTE_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a positive size such as 1048576, 512kb or 1mb',
    });
    return z.NEVER;
  }
  return Number(match[1]) * unit;
});

/** Milliseconds for timers: positive, and at most 2^31-1 (Node's setTimeout limit, ~24.8 days). */
/** A JSON object of strings, e.g. `{"h100": "NVIDIA-H100-80GB-HBM3"}`. */
const jsonStringMap = z.string().transform((text, ctx) => {
  try {
    const value: unknown = JSON.parse(text);
    if (
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.values(value).every((v) => typeof v === 'string')
    ) {
      return value as Record<string, string>;
    }
  } catch {
    // Reported below.
  }
  ctx.addIssue({ code: 'custom', message: 'must be a JSON object of strings' });
  return z.NEVER;
});

const positiveMs = z
  .string()
  .regex(/^\d{1,10}$/, 'must be a positive integer number of milliseconds')
  .transform(Number)
  .pipe(z.number())
  .refine(
    (n) => n >= 1 && n <= 2_147_483_647,
    'must be a positive integer number of milliseconds up to 2147483647',
  );

/** A whole number from `min` to `max` (a count of things: jobs, slots, attempts). */
const boundedInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, `must be an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number())
    .refine((n) => n >= min && n <= max, `must be an integer from ${min} to ${max}`);

/** Milliseconds, 0 allowed (a pause that may be off). */
const msOrZero = z
  .string()
  .regex(/^\d{1,10}$/, 'must be an integer number of milliseconds ≥ 0')
  .transform(Number)
  .pipe(z.number())
  .refine((n) => n <= 2_147_483_647, 'must be at most 2147483647 ms');

/**
 * Hours an `Idempotency-Key` and its stored response are kept: at least 24 (Stripe keeps keys
 * 24 hours; clients retry within that window), at most a year.
 */
const idempotencyTtlHours = z
  .string()
  .regex(/^\d{1,4}$/, 'must be an integer number of hours from 24 to 8760')
  .transform(Number)
  .pipe(z.number())
  .refine((n) => n >= 24 && n <= 8760, 'must be an integer number of hours from 24 to 8760');

/**
 * The fewest days `SLA_MINUTES_RETENTION_DAYS` may keep SLA minutes. The monthly freeze reads a
 * month's minutes when it freezes the previous month or, catching up, the one before it: their
 * first minute is at most 92 days old (31 + 31 + 30, and an hour of daylight saving time). With
 * at least 93 days, age alone never reaches a month the job may still freeze; the retention
 * also keeps every minute of a month that is not frozen and of an open or recent incident.
 */
const SLA_MINUTES_MIN_RETENTION_DAYS = 93;
const slaRetentionMessage = `must be an integer number of days from ${SLA_MINUTES_MIN_RETENTION_DAYS} to 36500 (the monthly SLA freeze may still read minutes up to 92 days old)`;

/**
 * Every environment variable the processes read, with its default. The README's
 * "Configuration" table documents each of them; keep the two in step.
 */
export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: port.default(3000),
    WORKER_PORT: port.default(3002),
    /** The data-plane gateway's port (OpenAI-compatible inference). */
    GATEWAY_PORT: port.default(3001),
    DATABASE_URL: urlWithProtocols(['postgres:', 'postgresql:']).default(
      'postgres://postgres@127.0.0.1:5432/controlplane',
    ),
    /**
     * Optional login for the apps' own pool: a role that is neither owner nor superuser and is a
     * member of cp_app. Unset: the pool logs in with DATABASE_URL and switches to cp_app.
     */
    DATABASE_APP_URL: urlWithProtocols(['postgres:', 'postgresql:']).optional(),
    DATABASE_POOL_SIZE: z.coerce
      .number({ error: 'must be an integer between 1 and 200' })
      .int('must be an integer between 1 and 200')
      .min(1, 'must be an integer between 1 and 200')
      .max(200, 'must be an integer between 1 and 200')
      .default(10),
    MIGRATIONS_RUN: booleanString.default(true),
    REDIS_URL: urlWithProtocols(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 characters of letters, digits, _ . : -')
      .default('cp'),
    REDIS_ALLOW_EVICTION: booleanString.default(false),
    /**
     * Redis Sentinel addresses, `host:port` comma-separated. When set, every connection asks
     * them for the current primary of REDIS_SENTINEL_NAME and follows failovers (ioredis'
     * Sentinel support); REDIS_URL then gives only the scheme (`rediss:` for TLS), the
     * credentials (also sent to the Sentinels) and the database, not the host.
     */
    REDIS_SENTINELS: z
      .string()
      .regex(
        /^[A-Za-z0-9.-]+:\d{1,5}(\s*,\s*[A-Za-z0-9.-]+:\d{1,5})*$/,
        'must be comma-separated host:port pairs',
      )
      .transform((value) =>
        value.split(',').map((address) => {
          const [host, port] = address.trim().split(':');
          return { host, port: Number(port) };
        }),
      )
      .refine(
        (sentinels) => sentinels.every(({ port }) => port >= 1 && port <= 65535),
        'each port must be 1-65535',
      )
      .optional(),
    /** The Sentinel master group name (`sentinel monitor <name> ...`). */
    REDIS_SENTINEL_NAME: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of letters, digits, _ . -')
      .default('mymaster'),
    BODY_LIMIT: byteSize.default(1024 * 1024),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    SHUTDOWN_TIMEOUT_MS: positiveMs.default(25_000),
    HEARTBEAT_INTERVAL_MS: positiveMs.default(30_000),
    API_KEY_ENVIRONMENT: z
      .string()
      .regex(/^[a-z]{2,8}$/, 'must be 2-8 lowercase letters, e.g. live or test')
      .default('live'),
    BOOTSTRAP_ADMIN_TOKEN: z
      .string()
      .min(32, 'must be at least 32 characters')
      .max(256, 'must be at most 256 characters')
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .refine(
        (token) => !token.startsWith('cps_'),
        'must not start with cps_ (that prefix marks session tokens)',
      )
      .optional(),
    SESSION_IDLE_TIMEOUT_MS: positiveMs.default(30 * 60 * 1000),
    SESSION_ABSOLUTE_TIMEOUT_MS: positiveMs.default(12 * 60 * 60 * 1000),
    SESSION_COOKIE_SECURE: booleanString.default(true),
    IDEMPOTENCY_KEY_TTL_HOURS: idempotencyTtlHours.default(24),
    /** How long a quota reservation lives unless committed or released, ms. */
    QUOTA_RESERVATION_TTL_MS: positiveMs
      .refine((n) => n <= 86_400_000, 'must be at most 86400000 (a day)')
      .default(5 * 60 * 1000),
    /** The longest a replica uses a tenant's cached quota plan before re-reading it, ms. */
    QUOTA_PLAN_MAX_AGE_MS: positiveMs.default(60_000),
    /** How often the worker checks quota lines against the alert thresholds, ms. */
    QUOTA_ALERT_INTERVAL_MS: positiveMs.default(60_000),
    /** Where the local storage backend keeps files (audit reports); created if missing. */
    DATA_DIR: z.string().min(1, 'must not be empty').default('.local/data'),
    /**
     * PEM (PKCS #8) Ed25519 private key that signs audit report manifests and retention
     * checkpoints. Unset: `<DATA_DIR>/audit-signing-key.pem`, generated on first use.
     */
    AUDIT_SIGNING_KEY_FILE: z.string().min(1, 'must not be empty').optional(),
    /**
     * PEM bundle of earlier audit signing keys' public halves (after a rotation), so manifests and
     * checkpoints they signed still verify. Trust comes from these files, never from the database.
     */
    AUDIT_PREVIOUS_PUBLIC_KEYS_FILE: z.string().min(1, 'must not be empty').optional(),
    AUDIT_RETENTION_INTERVAL_MS: positiveMs.default(60 * 60 * 1000),
    CONTRACT_EXPIRY_INTERVAL_MS: positiveMs.default(60 * 1000),
    /**
     * AES-256 key (base64 of 32 bytes) that encrypts stored secrets such as webhook signing
     * secrets. Unset: `<DATA_DIR>/secrets.key`, generated (mode 0600) on first use.
     */
    SECRETS_KEY_FILE: z.string().min(1, 'must not be empty').optional(),
    /** Let webhook endpoints use plain `http://` URLs (local development and tests only). */
    WEBHOOK_ALLOW_HTTP: booleanString.default(false),
    /**
     * Let webhook endpoints resolve to loopback, private, link-local and other non-public
     * addresses (checked when an endpoint is saved and again at every delivery).
     */
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: booleanString.default(false),
    /** How often the worker looks for due webhook deliveries (new ones are also sent at once). */
    WEBHOOK_DISPATCH_INTERVAL_MS: positiveMs.default(2000),
    /** Timeout of one webhook delivery attempt (connect, request and response). */
    WEBHOOK_TIMEOUT_MS: positiveMs.default(10_000),
    /** Attempts per webhook delivery, the first included, before it is marked `failed`. */
    WEBHOOK_MAX_ATTEMPTS: z
      .string()
      .regex(/^\d{1,2}$/, 'must be an integer from 1 to 30')
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n >= 1 && n <= 30, 'must be an integer from 1 to 30')
      .default(8),
    /**
     * The first retry delay of a failed webhook delivery; later ones grow from it (×1, ×3, ×12,
     * ×60, ×360, ×720, then ×1440 each: 10 s, 30 s, 2 min, 10 min, 1 h, 2 h, 4 h by default),
     * each with ±20 % jitter.
     */
    WEBHOOK_RETRY_BASE_MS: positiveMs.default(10_000),
    /** Where dedicated endpoints run: `local` (model-server processes) or `kubernetes`. */
    ENDPOINT_PROVIDER: z.enum(['local', 'kubernetes']).default('local'),
    /** How often the worker reconciles every endpoint (changes are also reconciled at once). */
    ENDPOINT_RECONCILE_INTERVAL_MS: positiveMs.default(15_000),
    /** How long an endpoint may provision or update before it is marked `failed`, ms. */
    ENDPOINT_PROVISION_TIMEOUT_MS: positiveMs.default(5 * 60 * 1000),
    /** Replicas the `local` provider runs at most on this machine, across tenants. */
    LOCAL_PROVIDER_MAX_REPLICAS: z
      .string()
      .regex(/^\d{1,3}$/, 'must be an integer from 1 to 256')
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n >= 1 && n <= 256, 'must be an integer from 1 to 256')
      .default(16),
    /**
     * `local` provider: pause after each generated token, ms (0 to 10000), to emulate a GPU's
     * decode time; 0 generates as fast as the CPU can.
     */
    LOCAL_MODEL_TOKEN_LATENCY_MS: z
      .string()
      .regex(/^\d{1,5}$/, 'must be an integer number of milliseconds from 0 to 10000')
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n <= 10_000, 'must be an integer number of milliseconds from 0 to 10000')
      .default(0),
    /**
     * The gateway's public origin as tenants reach it (scheme, host, port); dedicated endpoints
     * show `<GATEWAY_PUBLIC_URL>/v1` as their `url`.
     */
    GATEWAY_PUBLIC_URL: urlWithProtocols(['http:', 'https:'])
      .refine((value) => new URL(value).pathname === '/' && !new URL(value).search, {
        message: 'must be an origin such as https://inference.example.com (no path or query)',
      })
      .transform((value) => new URL(value).origin)
      .default('http://localhost:3001'),
    /**
     * How long the gateway trusts a looked-up API key, ms (at most 5000): a revoked key stops
     * working on every gateway replica within this time.
     */
    GATEWAY_KEY_CACHE_TTL_MS: positiveMs
      .refine((n) => n <= 5000, 'must be at most 5000 (revocation must bite within 5 s)')
      .default(5000),
    /** How long the gateway reuses a tenant's endpoint routes (running replicas), ms. */
    GATEWAY_ROUTE_CACHE_TTL_MS: positiveMs.default(1000),
    /** Largest inference request body; larger ones answer 413. */
    GATEWAY_MAX_BODY_BYTES: byteSize.default(1024 * 1024),
    /** Upstream (model replica) connect timeout, ms. */
    GATEWAY_CONNECT_TIMEOUT_MS: positiveMs.default(2000),
    /** Upstream time from the connection to the response's first byte, ms. */
    GATEWAY_FIRST_BYTE_TIMEOUT_MS: positiveMs.default(60_000),
    /** Upstream silence allowed between bytes of a response (streams included), ms. */
    GATEWAY_IDLE_TIMEOUT_MS: positiveMs.default(30_000),
    /** Completion tokens reserved when a request names no `max_tokens`. */
    GATEWAY_DEFAULT_MAX_TOKENS: z
      .string()
      .regex(/^\d{1,7}$/, 'must be an integer from 1 to 1000000')
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n >= 1 && n <= 1_000_000, 'must be an integer from 1 to 1000000')
      .default(1024),
    /** Usage commits and latency samples the gateway buffers before it drops (and counts) them. */
    GATEWAY_RECORD_BUFFER: z
      .string()
      .regex(/^\d{1,7}$/, 'must be an integer from 1 to 1000000')
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n >= 1 && n <= 1_000_000, 'must be an integer from 1 to 1000000')
      .default(10_000),
    /**
     * Quota holds the gateway reserves ahead per tenant, metric and size (0 turns pooling off):
     * a busy tenant's request then takes one in memory instead of a Redis round trip.
     */
    GATEWAY_QUOTA_POOL_SIZE: boundedInt(0, 256).default(8),
    /**
     * How long a pooled hold may wait for a request, ms (at most 10000): also how much earlier
     * than its request a pooled usage event may be timed, and how long a refused refill pauses.
     */
    GATEWAY_QUOTA_POOL_MAX_AGE_MS: positiveMs
      .refine((n) => n <= 10_000, 'must be at most 10000 (usage events are timed by their hold)')
      .default(1000),
    /** Largest file `POST /v1/files` accepts (fine-tuning data); larger ones answer 413. */
    FILES_MAX_BYTES: byteSize.default(50 * 1024 * 1024),
    /** Most examples (non-blank lines) a fine-tuning file may hold. */
    FILES_MAX_LINES: z
      .string()
      .regex(/^\d{1,7}$/, 'must be an integer from 1 to 1000000')
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n >= 1 && n <= 1_000_000, 'must be an integer from 1 to 1000000')
      .default(100_000),
    /** How often the worker probes every running dedicated endpoint (health + one token), ms. */
    SLA_PROBE_INTERVAL_MS: positiveMs.default(30_000),
    /** How long one SLA probe may take (health and completion together) before it fails, ms. */
    SLA_PROBE_TIMEOUT_MS: positiveMs.default(10_000),
    /**
     * How often the worker rolls samples and probes up per minute and evaluates incidents and
     * burn-rate alerts, ms.
     */
    SLA_EVALUATION_INTERVAL_MS: positiveMs.default(15_000),
    /**
     * The length of an SLA minute, ms: 60000 in production. It must divide 60000 so that months
     * start on a minute edge; tests shorten it so an outage of "minutes" takes seconds.
     */
    SLA_MINUTE_MS: positiveMs
      .refine((n) => 60_000 % n === 0, 'must divide 60000 (e.g. 60000, 1000)')
      .default(60_000),
    /** How long after a minute ends its samples are taken as complete (incidents wait that long), ms. */
    SLA_SETTLE_DELAY_MS: positiveMs.default(10_000),
    /** A minute is bad when more than this percent of its requests failed (5xx, timeouts). */
    SLA_ERROR_RATE_THRESHOLD_PERCENT: z
      .string()
      .regex(/^\d{1,3}(\.\d{1,2})?$/, 'must be a percentage from 0 to 100')
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n >= 0 && n <= 100, 'must be a percentage from 0 to 100')
      .default(5),
    /** Consecutive good minutes that close an incident. */
    SLA_INCIDENT_CLOSE_GOOD_MINUTES: boundedInt(1, 1440).default(5),
    /**
     * Days an SLA minute (`sla_minutes`) is kept, counted from the minute; only minutes of frozen
     * months, outside open or recent incidents, are ever deleted (README, "SLA").
     */
    SLA_MINUTES_RETENTION_DAYS: z
      .string()
      .regex(/^\d{1,5}$/, slaRetentionMessage)
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n >= SLA_MINUTES_MIN_RETENTION_DAYS && n <= 36_500, slaRetentionMessage)
      .default(400),
    /** Fine-tuning jobs training at once in the whole deployment (admission slots). */
    FINE_TUNING_MAX_RUNNING: boundedInt(1, 10_000).default(2),
    /** Fine-tuning jobs one worker process trains at once. */
    FINE_TUNING_WORKER_CONCURRENCY: boundedInt(1, 64).default(2),
    /**
     * How long a worker holds a training job without renewing its lock: a worker killed
     * mid-job has its job resumed by another after about this long.
     */
    FINE_TUNING_LOCK_MS: positiveMs.default(30_000),
    /** Attempts of a training job that fails with a transient error (backoff 1 s, doubling). */
    FINE_TUNING_MAX_ATTEMPTS: boundedInt(1, 100).default(5),
    /** How often the worker admits waiting jobs and repairs lost queue entries. */
    FINE_TUNING_SWEEP_INTERVAL_MS: positiveMs.default(5_000),
    /** How long the `training_tokens` hold of an admitted job lasts unless settled. */
    FINE_TUNING_RESERVATION_TTL_MS: positiveMs.default(24 * 3_600_000),
    /**
     * `local` executor: pause after each training step, standing in for an accelerator's step
     * time (the n-gram model trains in microseconds); 0 for none.
     */
    FINE_TUNING_STEP_DELAY_MS: msOrZero.default(20),
    /** `kubernetes` provider: the namespace of endpoint resources (`{region}` is substituted). */
    KUBERNETES_NAMESPACE: z.string().min(1, 'must not be empty').default('ai-endpoints'),
    /** `kubernetes` provider: create missing namespaces (needs cluster-level RBAC). */
    KUBERNETES_CREATE_NAMESPACES: booleanString.default(false),
    /** `kubernetes` provider: the vLLM image of every replica. */
    KUBERNETES_VLLM_IMAGE: z
      .string()
      .min(1, 'must not be empty')
      .default('vllm/vllm-openai:v0.6.3'),
    /** `kubernetes` provider: PersistentVolumeClaim holding base-model weights. */
    KUBERNETES_MODELS_PVC: z.string().min(1, 'must not be empty').default('model-weights'),
    /**
     * `kubernetes` provider: JSON object from catalog model id to where vLLM loads its weights
     * (a path on the weights volume or a Hugging Face id); unset ids load `/models/<id>`.
     */
    KUBERNETES_MODEL_SOURCES: jsonStringMap.default({}),
    /** `kubernetes` provider: JSON object from catalog GPU type to the node label's GPU product. */
    KUBERNETES_GPU_PRODUCTS: jsonStringMap.default({}),
    /**
     * Directory of the web console's built files (`vite build` of apps/console), served at
     * `/console`. Unset: `dist/apps/console` next to the running api.
     */
    CONSOLE_DIR: z.string().min(1, 'must not be empty').optional(),
    /**
     * The api's public origin as browsers and identity providers reach it (scheme, host, port, no
     * path): SAML entity IDs, ACS URLs and discovery login URLs are built from it.
     */
    PUBLIC_URL: urlWithProtocols(['http:', 'https:'])
      .refine((value) => new URL(value).pathname === '/' && !new URL(value).search, {
        message: 'must be an origin such as https://cp.example.com (no path or query)',
      })
      .transform((value) => new URL(value).origin)
      .default('http://localhost:3000'),
    /**
     * PEM private key (RSA, PKCS #8 or PKCS #1) and certificate our SAML service provider signs
     * AuthnRequests and decrypts assertions with; both or neither. Unset:
     * `<DATA_DIR>/saml-sp-key.pem` and `<DATA_DIR>/saml-sp-cert.pem`, generated on first use.
     */
    SAML_SP_KEY_FILE: z.string().min(1, 'must not be empty').optional(),
    SAML_SP_CERT_FILE: z.string().min(1, 'must not be empty').optional(),
    /** Clock skew allowed on SAML NotBefore/NotOnOrAfter, ms (0 to 10 minutes). */
    SAML_CLOCK_SKEW_MS: z
      .string()
      .regex(/^\d{1,6}$/, 'must be an integer number of milliseconds from 0 to 600000')
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n <= 600_000, 'must be an integer number of milliseconds from 0 to 600000')
      .default(60_000),
    /** How long an AuthnRequest's ID is remembered for its InResponseTo (Redis), ms. */
    SAML_REQUEST_TTL_MS: positiveMs.default(10 * 60 * 1000),
    /** Largest base64 SAMLResponse accepted at an ACS; larger ones are refused and audited. */
    SAML_MAX_RESPONSE_BYTES: byteSize.default(256 * 1024),
    /** Days before a SAML certificate's expiry from which it is flagged `expiresSoon`. */
    SAML_CERT_EXPIRY_WARNING_DAYS: z
      .string()
      .regex(/^\d{1,3}$/, 'must be an integer number of days from 1 to 365')
      .transform(Number)
      .pipe(z.number())
      .refine((n) => n >= 1 && n <= 365, 'must be an integer number of days from 1 to 365')
      .default(30),
    /**
     * DNS servers (`ip` or `ip:port`, comma-separated) that domain verification asks for TXT
     * records. Unset: the system's resolvers.
     */
    DNS_RESOLVERS: z
      .string()
      .regex(
        /^[0-9a-fA-F.:[\]]+(\s*,\s*[0-9a-fA-F.:[\]]+)*$/,
        'must be comma-separated IP addresses, each optionally with :port',
      )
      .transform((value) => value.split(',').map((server) => server.trim()))
      .optional(),
    TRUST_PROXY: z
      .string()
      .regex(
        /^[a-z0-9.:/, ]+$/i,
        'must be a comma-separated list of addresses, CIDRs or loopback/linklocal/uniquelocal',
      )
      .default('loopback'),
    OTEL_SERVICE_NAME: z.string().min(1, 'must not be empty').optional(),
    OTEL_EXPORTER_OTLP_ENDPOINT: urlWithProtocols(['http:', 'https:']).optional(),
  })
  .superRefine((config, ctx) => {
    if (
      config.DATABASE_APP_URL &&
      databaseOf(config.DATABASE_APP_URL) !== databaseOf(config.DATABASE_URL)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_APP_URL'],
        message: 'must name the same database as DATABASE_URL',
      });
    }
    if (Boolean(config.SAML_SP_KEY_FILE) !== Boolean(config.SAML_SP_CERT_FILE)) {
      ctx.addIssue({
        code: 'custom',
        path: [config.SAML_SP_KEY_FILE ? 'SAML_SP_CERT_FILE' : 'SAML_SP_KEY_FILE'],
        message: 'SAML_SP_KEY_FILE and SAML_SP_CERT_FILE go together: set both or neither',
      });
    }
  });

function databaseOf(url: string): string {
  return new URL(url).pathname.replace(/^\//, '');
}

/** The validated configuration; numbers and booleans are already parsed. */
export type AppConfig = z.infer<typeof configSchema>;

/** Thrown when the environment does not satisfy {@link configSchema}. */
export class ConfigError extends Error {
  constructor(
    /** One entry per offending variable, e.g. `PORT: must be an integer between 1 and 65535 (got "abc")`. */
    readonly problems: string[],
  ) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment. Empty strings count as unset, so `PORT=` falls back to the default.
 *
 * @throws ConfigError naming each bad variable, what is wrong and the value given
 *   (secrets such as `DATABASE_URL` credentials are never echoed).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const input: Record<string, string> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value;
  }
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = String(issue.path[0]);
    return `${key}: ${issue.message}${SECRET_VARIABLES.has(key) ? '' : ` (got ${JSON.stringify(input[key])})`}`;
  });
  throw new ConfigError(problems);
}

/** Variables whose value may carry credentials and so are never printed. */
const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'DATABASE_APP_URL',
  'REDIS_URL',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'BOOTSTRAP_ADMIN_TOKEN',
]);

/**
 * {@link loadConfig} for process entry points: on error prints one line to stderr and exits 1.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): AppConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
