import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-API-key rate limits (identity, `ApiKey.rateLimits`): `{requestsPerMinute?,
 * tokensPerMinute?}`, whole numbers in 1 … 1,000,000 and 1 … 1,000,000,000; null (the default)
 * means unlimited. Enforced by metering's reservations, which the gateway passes them to. The
 * CHECK keeps the shape exact (an object of only those keys, integer values in range), so a
 * write that skipped the DTO cannot hand the gateway a limit it cannot read.
 */
export class ApiKeyRateLimits1764634800000 implements MigrationInterface {
  name = 'ApiKeyRateLimits1764634800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE api_keys ADD COLUMN rate_limits jsonb,
        ADD CONSTRAINT api_keys_rate_limits_shape CHECK (
          rate_limits IS NULL OR (
            jsonb_typeof(rate_limits) = 'object'
            AND rate_limits - 'requestsPerMinute' - 'tokensPerMinute' = '{}'::jsonb
            AND (NOT (rate_limits ? 'requestsPerMinute') OR (
              -- CASE, not AND: PostgreSQL may evaluate AND's operands in any order, and the
              -- cast must only see digits.
              CASE WHEN jsonb_typeof(rate_limits -> 'requestsPerMinute') = 'number'
                    AND (rate_limits ->> 'requestsPerMinute') ~ '^[0-9]{1,7}$'
                THEN (rate_limits ->> 'requestsPerMinute')::bigint BETWEEN 1 AND 1000000
                ELSE false END))
            AND (NOT (rate_limits ? 'tokensPerMinute') OR (
              CASE WHEN jsonb_typeof(rate_limits -> 'tokensPerMinute') = 'number'
                    AND (rate_limits ->> 'tokensPerMinute') ~ '^[0-9]{1,10}$'
                THEN (rate_limits ->> 'tokensPerMinute')::bigint BETWEEN 1 AND 1000000000
                ELSE false END))))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE api_keys DROP CONSTRAINT api_keys_rate_limits_shape,
        DROP COLUMN rate_limits`);
  }
}
