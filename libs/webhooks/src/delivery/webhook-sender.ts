import { AppConfig, InjectConfig } from '@app/core';
import { Injectable } from '@nestjs/common';
import { lookup as dnsLookup, LookupAddress, LookupOptions } from 'node:dns';
import { request as httpRequest, IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, LookupFunction } from 'node:net';
import { isPublicAddress, UrlPolicy, webhookUrlTargetProblem } from './address-policy';
import { signWebhook } from '../signing/webhook-signature';

/** Longest `last_error` kept (the column allows 1000). */
export const MAX_ERROR_LENGTH = 500;
/** Response bytes read for the error note of a non-2xx answer; the rest is discarded. */
const RESPONSE_SNIPPET_BYTES = 200;

export interface OutgoingWebhook {
  /** The delivery id (`webhook-id`). */
  id: string;
  url: string;
  /** `whsec_...`, decrypted. */
  secret: string;
  /** The exact JSON body. */
  body: string;
}

/** What one attempt gave: a 2xx, another status, or no HTTP answer (`statusCode` null). */
export interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  /** Why it failed, short and without the URL (which may carry the receiver's credentials). */
  error: string | null;
}

/** Thrown by the guarded lookup when a name resolves to an address the policy refuses. */
class RefusedAddressError extends Error {
  readonly code = 'EWEBHOOKADDRESS';
}

/**
 * Sends one signed delivery attempt: `POST` with the JSON body and the Standard Webhooks
 * headers, over node:http(s). Redirects are not followed (a 3xx is a failed attempt: a redirect
 * could lead anywhere, the internal network included). The whole attempt (connect, request,
 * response head) is bounded by WEBHOOK_TIMEOUT_MS.
 *
 * The URL is checked against the policy again here, not only when it was saved: the scheme, an
 * IP literal, and for a name every address it resolves to *at connect time*, inside the
 * connection's own lookup, so the address checked is the address connected to (a DNS answer
 * that changes between check and use, "DNS rebinding", cannot reach an internal host).
 */
@Injectable()
export class WebhookSender {
  private readonly policy: UrlPolicy;
  private readonly timeoutMs: number;

  constructor(
    @InjectConfig()
    config: Pick<
      AppConfig,
      'WEBHOOK_ALLOW_HTTP' | 'WEBHOOK_ALLOW_PRIVATE_NETWORKS' | 'WEBHOOK_TIMEOUT_MS'
    >,
  ) {
    this.policy = {
      allowHttp: config.WEBHOOK_ALLOW_HTTP,
      allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    };
    this.timeoutMs = config.WEBHOOK_TIMEOUT_MS;
  }

  /** One attempt, signed at the current time. Never throws: failures are results. */
  async send(webhook: OutgoingWebhook, at = new Date()): Promise<AttemptResult> {
    let url: URL;
    try {
      url = new URL(webhook.url);
    } catch {
      return failure(null, 'the endpoint URL is not valid');
    }
    // Scheme and IP literals; names are checked by the lookup below, at connect time.
    const problem = isIP(url.hostname.replace(/^\[(.*)\]$/, '$1'))
      ? await webhookUrlTargetProblem(url, this.policy)
      : await webhookUrlTargetProblem(url, { ...this.policy, allowPrivateNetworks: true });
    if (problem) return failure(null, `not sent: ${problem}`);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'control-plane-webhooks/1',
      ...signWebhook(webhook.secret, webhook.id, at, webhook.body),
    };
    try {
      const response = await this.post(url, headers, webhook.body);
      if (response.statusCode >= 200 && response.statusCode < 300) {
        return { ok: true, statusCode: response.statusCode, error: null };
      }
      const snippet = response.snippet.replace(/\s+/g, ' ').trim();
      return failure(
        response.statusCode,
        `HTTP ${response.statusCode}${snippet ? `: ${snippet}` : ''}`,
      );
    } catch (error) {
      return failure(null, describe(error, this.timeoutMs));
    }
  }

  private post(
    url: URL,
    headers: Record<string, string>,
    body: string,
  ): Promise<{ statusCode: number; snippet: string }> {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          // A fresh connection per attempt: a pooled socket would skip the lookup's check.
          agent: false,
          lookup: this.policy.allowPrivateNetworks ? undefined : guardedLookup,
          signal: AbortSignal.timeout(this.timeoutMs),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let length = 0;
          const finish = () => {
            res.destroy();
            resolve({
              statusCode: res.statusCode ?? 0,
              snippet: Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_SNIPPET_BYTES),
            });
          };
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            length += chunk.length;
            if (length >= RESPONSE_SNIPPET_BYTES) finish();
          });
          res.on('end', finish);
          res.on('error', finish);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/**
 * `lookup` for the connection: resolves as usual, then refuses the connection unless every
 * address is public. Answers in the form asked for (`all` or one address).
 */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...(options as LookupOptions), all: true }, (error, addresses) => {
    const reply = callback as (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void;
    if (error) return reply(error, '');
    const list = addresses as LookupAddress[];
    if (list.length === 0 || !list.every((a) => isPublicAddress(a.address))) {
      return reply(
        new RefusedAddressError(
          `not sent: ${hostname} resolves to a loopback, private, link-local or other non-public address`,
        ),
        '',
      );
    }
    if ((options as LookupOptions).all) return reply(null, list);
    return reply(null, list[0].address, list[0].family);
  });
};

function failure(statusCode: number | null, error: string): AttemptResult {
  return { ok: false, statusCode, error: error.slice(0, MAX_ERROR_LENGTH) };
}

/** A short reason for a failed connection; Node's messages name the address, never the URL path. */
function describe(error: unknown, timeoutMs: number): string {
  const err = error as NodeJS.ErrnoException & { cause?: unknown };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || err?.code === 'ABORT_ERR') {
    return `timed out after ${timeoutMs} ms`;
  }
  if (error instanceof RefusedAddressError) return error.message;
  const aggregate = error as AggregateError;
  if (Array.isArray(aggregate?.errors) && aggregate.errors.length) {
    // Happy Eyeballs tried several addresses; the first refusal is as good as any.
    return describe(aggregate.errors[0], timeoutMs);
  }
  return err?.code
    ? `${err.code}: ${err.message}`
    : `network error: ${String(err?.message ?? error)}`;
}
