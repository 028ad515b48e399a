import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { redisSentinelOptions } from '../redis/redis-connection.factory';
import { ConfigError, loadConfig } from './config.schema';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives local defaults that just work when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/controlplane',
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      MIGRATIONS_RUN: true,
      BODY_LIMIT: 1024 * 1024,
      REDIS_ALLOW_EVICTION: false,
      IDEMPOTENCY_KEY_TTL_HOURS: 24,
      SLA_MINUTES_RETENTION_DAYS: 400,
    });
  });

  it('parses sizes, booleans and numbers', () => {
    const config = loadConfig({
      BODY_LIMIT: '512kb',
      MIGRATIONS_RUN: 'false',
      PORT: '8080',
      REDIS_ALLOW_EVICTION: 'yes',
      IDEMPOTENCY_KEY_TTL_HOURS: '48',
      SLA_MINUTES_RETENTION_DAYS: '93',
    });
    expect(config).toMatchObject({
      BODY_LIMIT: 512 * 1024,
      MIGRATIONS_RUN: false,
      PORT: 8080,
      REDIS_ALLOW_EVICTION: true,
      IDEMPOTENCY_KEY_TTL_HOURS: 48,
      SLA_MINUTES_RETENTION_DAYS: 93,
    });
  });

  it('reads Redis Sentinel addresses, and refuses malformed ones naming the variable', () => {
    const config = loadConfig({
      REDIS_URL: 'rediss://:s3cret@redis.example.com/2',
      REDIS_SENTINELS: 'sentinel-0.example.com:26379, 10.0.0.7:26380',
      REDIS_SENTINEL_NAME: 'cp-redis',
    });
    expect(config.REDIS_SENTINELS).toEqual([
      { host: 'sentinel-0.example.com', port: 26379 },
      { host: '10.0.0.7', port: 26380 },
    ]);
    // The Sentinels get REDIS_URL's password and, for rediss:, TLS like the primary.
    expect(redisSentinelOptions(config)).toEqual({
      sentinels: config.REDIS_SENTINELS,
      name: 'cp-redis',
      sentinelPassword: 's3cret',
      enableTLSForSentinelMode: true,
      sentinelTLS: {},
    });
    expect(loadConfig({}).REDIS_SENTINELS).toBeUndefined();
    expect(redisSentinelOptions(loadConfig({}))).toEqual({});
    expect(problemsOf({ REDIS_SENTINELS: 'sentinel-0:26379,sentinel-1' })).toEqual([
      'REDIS_SENTINELS: must be comma-separated host:port pairs (got "sentinel-0:26379,sentinel-1")',
    ]);
    expect(problemsOf({ REDIS_SENTINELS: 'sentinel-0:70000' })).toEqual([
      'REDIS_SENTINELS: each port must be 1-65535 (got "sentinel-0:70000")',
    ]);
    expect(problemsOf({ REDIS_SENTINEL_NAME: 'my master' })).toEqual([
      'REDIS_SENTINEL_NAME: must be 1-64 characters of letters, digits, _ . - (got "my master")',
    ]);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ PORT: '  ' }).PORT).toBe(3000);
  });

  it.each([
    ['PORT', 'abc', 'PORT: must be an integer between 1 and 65535 (got "abc")'],
    ['PORT', '70000', 'PORT: must be an integer between 1 and 65535 (got "70000")'],
    ['PORT', '3.5', 'PORT: must be an integer between 1 and 65535 (got "3.5")'],
    ['PORT', '0x1005', 'PORT: must be an integer between 1 and 65535 (got "0x1005")'],
    ['PORT', '4.1e3', 'PORT: must be an integer between 1 and 65535 (got "4.1e3")'],
    [
      'SHUTDOWN_TIMEOUT_MS',
      '3000000000',
      'SHUTDOWN_TIMEOUT_MS: must be a positive integer number of milliseconds up to 2147483647',
    ],
    ['TRUST_PROXY', 'everyone; DROP', 'TRUST_PROXY: must be a comma-separated list'],
    ['API_KEY_ENVIRONMENT', 'Live!', 'API_KEY_ENVIRONMENT: must be 2-8 lowercase letters'],
    ['BOOTSTRAP_ADMIN_TOKEN', 'short', 'BOOTSTRAP_ADMIN_TOKEN: must be at least 32 characters'],
    ['SESSION_COOKIE_SECURE', 'sometimes', 'SESSION_COOKIE_SECURE: must be one of'],
    ['WORKER_PORT', '0', 'WORKER_PORT: must be an integer between 1 and 65535 (got "0")'],
    [
      'QUOTA_RESERVATION_TTL_MS',
      '86400001',
      'QUOTA_RESERVATION_TTL_MS: must be at most 86400000 (a day) (got "86400001")',
    ],
    ['QUOTA_ALERT_INTERVAL_MS', '0', 'QUOTA_ALERT_INTERVAL_MS: must be a positive integer'],
    [
      'GATEWAY_QUOTA_POOL_SIZE',
      '257',
      'GATEWAY_QUOTA_POOL_SIZE: must be an integer from 0 to 256 (got "257")',
    ],
    [
      'GATEWAY_QUOTA_POOL_MAX_AGE_MS',
      '10001',
      'GATEWAY_QUOTA_POOL_MAX_AGE_MS: must be at most 10000 (usage events are timed by their hold)',
    ],
    [
      'DATABASE_URL',
      'mysql://root@localhost/x',
      'DATABASE_URL: must be a URL starting with postgres:// or postgresql://',
    ],
    [
      'DATABASE_URL',
      'not a url',
      'DATABASE_URL: must be a URL starting with postgres:// or postgresql://',
    ],
    [
      'DATABASE_POOL_SIZE',
      '0',
      'DATABASE_POOL_SIZE: must be an integer between 1 and 200 (got "0")',
    ],
    [
      'REDIS_URL',
      'http://localhost:6379',
      'REDIS_URL: must be a URL starting with redis:// or rediss://',
    ],
    [
      'REDIS_KEY_PREFIX',
      'has space',
      'REDIS_KEY_PREFIX: must be 1-64 characters of letters, digits, _ . : - (got "has space")',
    ],
    [
      'REDIS_ALLOW_EVICTION',
      'maybe',
      'REDIS_ALLOW_EVICTION: must be one of true, false, 1, 0, yes, no (got "maybe")',
    ],
    [
      'MIGRATIONS_RUN',
      'sometimes',
      'MIGRATIONS_RUN: must be one of true, false, 1, 0, yes, no (got "sometimes")',
    ],
    [
      'BODY_LIMIT',
      'lots',
      'BODY_LIMIT: must be a positive size such as 1048576, 512kb or 1mb (got "lots")',
    ],
    [
      'BODY_LIMIT',
      '10gb',
      'BODY_LIMIT: must be a positive size such as 1048576, 512kb or 1mb (got "10gb")',
    ],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL'],
    ['NODE_ENV', 'staging', 'NODE_ENV'],
    [
      'SHUTDOWN_TIMEOUT_MS',
      '-5',
      'SHUTDOWN_TIMEOUT_MS: must be a positive integer number of milliseconds (got "-5")',
    ],
    [
      'HEARTBEAT_INTERVAL_MS',
      'soon',
      'HEARTBEAT_INTERVAL_MS: must be a positive integer number of milliseconds (got "soon")',
    ],
    [
      'IDEMPOTENCY_KEY_TTL_HOURS',
      '12',
      'IDEMPOTENCY_KEY_TTL_HOURS: must be an integer number of hours from 24 to 8760 (got "12")',
    ],
    [
      'IDEMPOTENCY_KEY_TTL_HOURS',
      '1.5',
      'IDEMPOTENCY_KEY_TTL_HOURS: must be an integer number of hours from 24 to 8760 (got "1.5")',
    ],
    // Below 93 days the retention could reach a month the monthly job may still freeze.
    [
      'SLA_MINUTES_RETENTION_DAYS',
      '92',
      'SLA_MINUTES_RETENTION_DAYS: must be an integer number of days from 93 to 36500 (the monthly SLA freeze may still read minutes up to 92 days old) (got "92")',
    ],
    [
      'SLA_MINUTES_RETENTION_DAYS',
      '0',
      'SLA_MINUTES_RETENTION_DAYS: must be an integer number of days from 93 to 36500',
    ],
    [
      'SLA_MINUTES_RETENTION_DAYS',
      '1.5e2',
      'SLA_MINUTES_RETENTION_DAYS: must be an integer number of days from 93 to 36500',
    ],
    [
      'SLA_MINUTES_RETENTION_DAYS',
      '36501',
      'SLA_MINUTES_RETENTION_DAYS: must be an integer number of days from 93 to 36500',
    ],
    [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'collector:4318',
      'OTEL_EXPORTER_OTLP_ENDPOINT: must be a URL starting with http:// or https://',
    ],
  ])('rejects %s=%j naming the variable and the problem', (name, value, expected) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0].startsWith(expected)).toBe(true);
  });

  it('requires DATABASE_APP_URL to name the same database as DATABASE_URL', () => {
    expect(problemsOf({ DATABASE_APP_URL: 'postgres://app@127.0.0.1:5432/other' })).toEqual([
      'DATABASE_APP_URL: must name the same database as DATABASE_URL',
    ]);
    expect(
      loadConfig({ DATABASE_APP_URL: 'postgres://app:pw@127.0.0.1:5432/controlplane' })
        .DATABASE_APP_URL,
    ).toContain('app');
  });

  it('never echoes a URL or token that may hold credentials', () => {
    expect(problemsOf({ DATABASE_URL: 'mysql://admin:hunter2@db/x' })[0]).not.toContain('hunter2');
    expect(problemsOf({ BOOTSTRAP_ADMIN_TOKEN: 'hunter2' })[0]).not.toContain('hunter2');
  });

  it('reports every bad variable at once in one line', () => {
    const error = (() => {
      try {
        loadConfig({ PORT: 'x', LOG_LEVEL: 'y' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(error?.problems).toHaveLength(2);
    expect(error?.message).not.toContain('\n');
  });

  it.each([
    ['api', { PORT: 'abc' }, 'PORT: must be an integer between 1 and 65535 (got "abc")'],
    [
      'worker',
      { SLA_MINUTES_RETENTION_DAYS: '30' },
      'SLA_MINUTES_RETENTION_DAYS: must be an integer number of days from 93 to 36500 (the monthly SLA freeze may still read minutes up to 92 days old) (got "30")',
    ],
  ])('stops the %s process with one line on stderr and exit code 1', (app, env, problem) => {
    const root = join(__dirname, '..', '..', '..', '..');
    const result = spawnSync(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        `apps/${app}/src/main.ts`,
      ],
      {
        cwd: root,
        env: { ...process.env, ...env, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([`Invalid configuration: ${problem}`]);
  });
});
