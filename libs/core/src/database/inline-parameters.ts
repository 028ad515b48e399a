/**
 * Replaces `$1`…`$n` in `sql` with literals, for statements PostgreSQL takes only without
 * parameters: several statements in one simple-protocol message, and COPY. Text goes through
 * `escapeLiteral` (node-postgres' `Client#escapeLiteral`, which quotes per the server's
 * `standard_conforming_strings`); null is NULL, numbers and bigints are written as numbers,
 * Dates as ISO 8601 text, Buffers as bytea hex.
 *
 * The SQL must not contain `$n` outside placeholders (no dollar-quoted bodies).
 */
export function inlineParameters(
  sql: string,
  params: readonly unknown[],
  escapeLiteral: (text: string) => string,
): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const value = params[Number(n) - 1];
    if (value === null || value === undefined) return 'NULL';
    if (Buffer.isBuffer(value)) return `'\\x${value.toString('hex')}'::bytea`;
    if (typeof value === 'number' || typeof value === 'bigint') return String(value);
    return escapeLiteral(value instanceof Date ? value.toISOString() : String(value));
  });
}
