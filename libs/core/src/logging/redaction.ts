/** Field names whose values never reach a log line, at any depth. */
export const SECRET_KEY_PATTERN =
  /pass(word|phrase)?|secret|token|api[-_]?key|authorization|cookie|private[-_]?key|assertion|saml(response|request)|credential/i;

export const REDACTED = '[REDACTED]';

/**
 * Returns a copy of `value` in which every property whose name looks like a secret is replaced
 * by `[REDACTED]`. Cycles and depth beyond 8 are cut rather than followed.
 */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (seen.has(value) || depth > 8) return '[Truncated]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = SECRET_KEY_PATTERN.test(key) ? REDACTED : redactSecrets(item, depth + 1, seen);
  }
  return copy;
}
