import { defineProblem } from '@app/core';

export const WebhookEndpointDisabled = defineProblem({
  code: 'webhook_endpoint_disabled',
  status: 409,
  title: 'Webhook endpoint disabled',
  description:
    'A disabled endpoint receives nothing, test deliveries included; enable it first (`PATCH` with `"status": "enabled"`). Nothing was changed.',
});
