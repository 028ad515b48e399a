/**
 * Words that make a field secret when a field's name (camelCase, snake_case, kebab-case) ends
 * with them: `password`, `clientSecret`, `x-amz-security-token`, `proxy-authorization`,
 * `privateKey`, `SAMLResponse`. Counts and ids are not secrets: `maxTokens`, `tokenizer`,
 * `apiKeyId`, `passengerCount` stay readable.
 */
const SECRET_ENDINGS = [
  'password',
  'passphrase',
  'passwd',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'privatekey',
  'assertion',
  'samlresponse',
  'samlrequest',
  'credential',
  'credentials',
  'secrethash',
  'tokenhash',
];

/**
 * Field names that are secret on their own: `key` is the API key secret in create responses;
 * `parameters` are the bound values of a failed query (TypeORM's QueryFailedError), which may be
 * key hashes, tokens or personal data.
 */
const SECRET_NAMES = new Set(['key', 'pass', 'pwd', 'parameters']);

export const REDACTED = '[REDACTED]';

/** Whether a field of this name may hold a secret (see SECRET_ENDINGS). */
export function isSecretKey(name: string): boolean {
  const normalized = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  return (
    SECRET_NAMES.has(normalized) || SECRET_ENDINGS.some((ending) => normalized.endsWith(ending))
  );
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Returns a copy of `value` in which every property whose name looks like a secret is replaced
 * by `[REDACTED]`. Plain objects and arrays are walked; errors become plain objects (type,
 * message, stack and their own properties, redacted); other class instances (requests,
 * responses, dates, buffers) are left to their serializers. Cycles and depth beyond 8 are cut.
 */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 8) return '[Truncated]';
  if (value instanceof Error) {
    seen.add(value);
    const { name, message, stack } = value;
    const own = redactSecrets({ ...value }, depth + 1, seen) as Record<string, unknown>;
    const cause =
      value.cause === undefined ? {} : { cause: redactSecrets(value.cause, depth + 1, seen) };
    return { type: name, name, message, stack, ...own, ...cause };
  }
  if (!Array.isArray(value) && !isPlainObject(value)) return value;
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = isSecretKey(key) ? REDACTED : redactSecrets(item, depth + 1, seen);
  }
  return copy;
}

/**
 * Query parameter names are judged more strictly than fields: Express reads `token[0]` as
 * `token`, and plurals (`tokens`, `apiKeys`) or signatures in a URL are secrets, not counts.
 */
function isSecretQueryKey(key: string): boolean {
  const base = key.replace(/\[.*$/, '');
  return isSecretKey(base) || isSecretKey(base.replace(/s$/i, '')) || /signature|sig$/i.test(base);
}

/** A URL path with the values of secret-looking query parameters replaced. */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url || !url.includes('?')) return url;
  const [path, query] = url.split('?', 2);
  const params = new URLSearchParams(query);
  for (const key of [...params.keys()]) if (isSecretQueryKey(key)) params.set(key, REDACTED);
  return `${path}?${params.toString()}`;
}
