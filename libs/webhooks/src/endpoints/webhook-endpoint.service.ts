import { TenantDb, TenantId } from '@app/authz';
import {
  Actor,
  actorRef,
  AppConfig,
  InjectConfig,
  keysetPage,
  tenantRowsNewestFirst,
  NotFound,
  Page,
  RequestContext,
  ValidationFailed,
} from '@app/core';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { webhookUrlTargetProblem } from '../delivery/address-policy';
import { WebhookDelivery } from '../delivery/webhook-delivery.entity';
import { SecretBox } from '../secrets/secret-box';
import { newWebhookSecret } from '../signing/webhook-signature';
import { WebhookService } from '../webhook.service';
import { WebhookEndpointDisabled } from '../webhooks-problems';
import { WebhookEndpointStatus, WebhookEventType } from '../webhooks.constants';
import { WebhookDeliveryResponse, WebhookEndpointResponse } from './dto/webhook-endpoint.response';
import { endpointSecretAad } from './endpoint-secret';
import { WebhookEndpoint } from './webhook-endpoint.entity';

export interface NewWebhookEndpoint {
  url: string;
  description?: string | null;
  eventTypes: WebhookEventType[];
}

export interface WebhookEndpointChanges {
  url?: string;
  description?: string | null;
  eventTypes?: WebhookEventType[];
  status?: WebhookEndpointStatus;
}

/**
 * A tenant's webhook endpoints: create (with a new signing secret), list, read, change, delete,
 * rotate the secret, send a test event, and list deliveries. Runs in the request's
 * tenant-scoped transaction. Secrets are sealed at rest (SecretBox) and returned only by
 * {@link create} and {@link rotateSecret}.
 */
@Injectable()
export class WebhookEndpointService {
  constructor(
    private readonly db: TenantDb,
    private readonly secrets: SecretBox,
    private readonly webhooks: WebhookService,
    private readonly context: RequestContext,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * @returns the endpoint (enabled) and its secret, `whsec_` + base64 of 32 random bytes
   * @throws ValidationFailed (400, path `url`) for http where only https is allowed, or a host
   *   that is, or resolves to, a non-public address (unless allowed), or that does not resolve
   */
  async create(
    tenantId: TenantId,
    input: NewWebhookEndpoint,
    by: Actor,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    await this.assertUrlAllowed(input.url);
    const id = randomUUID();
    const secret = newWebhookSecret();
    const repository = this.db.manager.getRepository(WebhookEndpoint);
    const endpoint = repository.create({
      id,
      tenantId,
      url: input.url,
      description: input.description ?? null,
      eventTypes: input.eventTypes,
      status: 'enabled',
      secretCiphertext: await this.secrets.seal(secret, endpointSecretAad(tenantId, id)),
      secretRotatedAt: null,
      createdBy: actorRef(by),
      updatedBy: actorRef(by),
    });
    await repository.insert(endpoint);
    return { endpoint: await this.get(tenantId, id), secret };
  }

  /** Newest first, `limit` per page. @throws ValidationFailed for a forged cursor. */
  async list(tenantId: TenantId, limit: number, after?: string): Promise<Page<WebhookEndpoint>> {
    return tenantRowsNewestFirst(this.db.manager, WebhookEndpoint, tenantId, limit, after);
  }

  /** @throws NotFound when there is no such endpoint in this tenant (another tenant's included). */
  async get(tenantId: TenantId, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.db.manager
      .getRepository(WebhookEndpoint)
      .findOneBy({ tenantId, id });
    if (!endpoint) throw new NotFound('No such webhook endpoint.');
    return endpoint;
  }

  /**
   * Changes any of url, description, event types and status. Deliveries already queued go to
   * the new URL; they are not sent while the endpoint is disabled (see the dispatcher).
   *
   * @throws NotFound; ValidationFailed (400) for an empty change or a URL the policy refuses
   */
  async update(
    tenantId: TenantId,
    id: string,
    changes: WebhookEndpointChanges,
    by: Actor,
  ): Promise<WebhookEndpoint> {
    const given = (['url', 'description', 'eventTypes', 'status'] as const).filter(
      (field) => changes[field] !== undefined,
    );
    if (given.length === 0) {
      throw new ValidationFailed('Nothing to change.', {
        errors: [
          { path: '(body)', message: 'send at least one of url, description, eventTypes, status' },
        ],
      });
    }
    const endpoint = await this.lock(tenantId, id);
    if (changes.url !== undefined && changes.url !== endpoint.url) {
      await this.assertUrlAllowed(changes.url);
    }
    await this.db.manager.getRepository(WebhookEndpoint).update(
      { tenantId, id },
      {
        ...(changes.url !== undefined ? { url: changes.url } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.eventTypes !== undefined ? { eventTypes: changes.eventTypes } : {}),
        ...(changes.status !== undefined ? { status: changes.status } : {}),
        updatedAt: () => 'now()',
        updatedBy: actorRef(by),
      },
    );
    return this.get(tenantId, id);
  }

  /** Deletes the endpoint and its deliveries (none is sent any more). @throws NotFound */
  async remove(tenantId: TenantId, id: string): Promise<void> {
    await this.lock(tenantId, id);
    await this.db.manager.getRepository(WebhookEndpoint).delete({ tenantId, id });
  }

  /**
   * A new signing secret; the old one signs nothing from now on (retries of queued deliveries
   * included). @throws NotFound
   */
  async rotateSecret(
    tenantId: TenantId,
    id: string,
    by: Actor,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    await this.lock(tenantId, id);
    const secret = newWebhookSecret();
    await this.db.manager.getRepository(WebhookEndpoint).update(
      { tenantId, id },
      {
        secretCiphertext: await this.secrets.seal(secret, endpointSecretAad(tenantId, id)),
        secretRotatedAt: () => 'now()',
        updatedAt: () => 'now()',
        updatedBy: actorRef(by),
      },
    );
    return { endpoint: await this.get(tenantId, id), secret };
  }

  /**
   * Queues a `webhook.test` event for this endpoint (whatever its event types), sent at once
   * after the commit. @throws NotFound; WebhookEndpointDisabled (409)
   */
  async sendTest(tenantId: TenantId, id: string): Promise<WebhookDelivery> {
    const endpoint = await this.get(tenantId, id);
    if (endpoint.status !== 'enabled') {
      throw new WebhookEndpointDisabled('The endpoint is disabled; enable it to test it.');
    }
    const deliveryId = await this.webhooks.enqueueForEndpoint(tenantId, id, 'webhook.test', {
      endpointId: id,
      message: 'A test event from the control plane.',
    });
    return this.db.manager
      .getRepository(WebhookDelivery)
      .findOneByOrFail({ tenantId, id: deliveryId });
  }

  /** The endpoint's deliveries, newest first. @throws NotFound; ValidationFailed (cursor) */
  async deliveries(
    tenantId: TenantId,
    endpointId: string,
    limit: number,
    after?: string,
  ): Promise<Page<WebhookDelivery>> {
    await this.get(tenantId, endpointId);
    const query = this.db.manager
      .getRepository(WebhookDelivery)
      .createQueryBuilder('d')
      .where('d.tenant_id = :tenantId AND d.endpoint_id = :endpointId', { tenantId, endpointId });
    return keysetPage(query, { alias: 'd', idOf: (d) => d.id, order: 'DESC', limit, after });
  }

  /** The response view (never the secret). */
  view(endpoint: WebhookEndpoint): WebhookEndpointResponse {
    return {
      id: endpoint.id,
      url: endpoint.url,
      description: endpoint.description,
      eventTypes: endpoint.eventTypes,
      status: endpoint.status,
      secretRotatedAt: endpoint.secretRotatedAt?.toISOString() ?? null,
      createdAt: endpoint.createdAt.toISOString(),
      updatedAt: endpoint.updatedAt.toISOString(),
    };
  }

  deliveryView(delivery: WebhookDelivery): WebhookDeliveryResponse {
    return {
      id: delivery.id,
      endpointId: delivery.endpointId,
      eventType: delivery.eventType,
      status: delivery.status,
      attempts: delivery.attempts,
      nextAttemptAt:
        delivery.status === 'pending' ? (delivery.nextAttemptAt?.toISOString() ?? null) : null,
      lastStatusCode: delivery.lastStatusCode,
      lastError: delivery.lastError,
      createdAt: delivery.createdAt.toISOString(),
      deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
    };
  }

  private async lock(tenantId: TenantId, id: string): Promise<WebhookEndpoint> {
    const endpoint = await this.db.manager
      .getRepository(WebhookEndpoint)
      .createQueryBuilder('e')
      .setLock('pessimistic_write')
      .where('e.tenant_id = :tenantId AND e.id = :id', { tenantId, id })
      .getOne();
    if (!endpoint) throw new NotFound('No such webhook endpoint.');
    // What the audit log records as `changes.before` (the secret is never loaded).
    this.context.recordBefore(this.view(endpoint));
    return endpoint;
  }

  private async assertUrlAllowed(url: string): Promise<void> {
    const problem = await webhookUrlTargetProblem(new URL(url), {
      allowHttp: this.config.WEBHOOK_ALLOW_HTTP,
      allowPrivateNetworks: this.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    });
    if (problem) {
      throw new ValidationFailed('1 field is invalid.', {
        errors: [{ path: 'url', message: problem }],
      });
    }
  }
}
