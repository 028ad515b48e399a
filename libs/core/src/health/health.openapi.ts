/** OpenAPI schema of the 503 answer of `/health/ready` (problem+json, RFC 9457). */
export const NOT_READY_SCHEMA = {
  type: 'object',
  properties: {
    type: { type: 'string', example: '/problems/not-ready' },
    title: { type: 'string', example: 'Service not ready' },
    status: { type: 'integer', example: 503 },
    detail: { type: 'string', example: 'Not ready: redis failed its check.' },
    instance: { type: 'string', example: '/health/ready' },
    code: { type: 'string', example: 'not_ready' },
    requestId: { type: 'string' },
    checks: {
      type: 'object',
      description: 'Each check (postgres, redis, migrations) with status up or down and a message.',
      example: {
        postgres: { status: 'up' },
        redis: { status: 'down', message: 'Connection is closed.' },
        migrations: { status: 'up' },
      },
    },
  },
};
