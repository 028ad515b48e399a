import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { WebhookDispatchKick } from './delivery/dispatch-kick';
import {
  WebhookDispatchProcessor,
  WebhookDispatchScheduler,
} from './delivery/webhook-dispatch.processor';
import { WebhookDelivery } from './delivery/webhook-delivery.entity';
import { WebhookDispatcher } from './delivery/webhook-dispatcher';
import { WebhookSender } from './delivery/webhook-sender';
import { WebhookEndpoint } from './endpoints/webhook-endpoint.entity';
import { WebhookEndpointService } from './endpoints/webhook-endpoint.service';
import { WebhookEndpointsController } from './endpoints/webhook-endpoints.controller';
import { SecretBox } from './secrets/secret-box';
import { WebhookService } from './webhook.service';
import { WEBHOOKS_QUEUE } from './webhooks.constants';

/**
 * Webhooks' core for every process: {@link WebhookService} (`enqueue`, for the libraries that
 * raise alerts), the secrets key and the `webhooks` queue the commit hook kicks. Global, so other
 * libraries inject WebhookService without importing this module.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forFeature([WebhookEndpoint, WebhookDelivery]),
    BullModule.registerQueue({ name: WEBHOOKS_QUEUE }),
  ],
  providers: [WebhookService, WebhookDispatchKick, SecretBox],
  exports: [WebhookService, SecretBox, BullModule],
})
export class WebhooksCoreModule {}

/** The webhooks API: `/v1/tenants/{tenantId}/webhook-endpoints` and their deliveries. */
@Module({
  imports: [WebhooksCoreModule],
  controllers: [WebhookEndpointsController],
  providers: [WebhookEndpointService],
})
export class WebhooksModule {}

/** Webhooks in the worker: the dispatcher, its repeatable sweep and the queue's processor. */
@Module({
  imports: [WebhooksCoreModule],
  providers: [WebhookSender, WebhookDispatcher, WebhookDispatchProcessor, WebhookDispatchScheduler],
})
export class WebhooksWorkerModule {}
