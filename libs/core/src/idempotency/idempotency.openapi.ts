import type { OpenAPIObject } from '@nestjs/swagger';
import { IDEMPOTENCY_KEY_HEADER } from './stored-response';

const DESCRIPTION =
  'Makes the request safe to retry (Stripe semantics; IETF draft-ietf-httpapi-idempotency-key-header): ' +
  'the same key with the same request replays the first response (status and body, 4xx included) with ' +
  '`Idempotent-Replayed: true`; with a different request it answers 409 `idempotency_key_reused`. ' +
  'Keys are per caller and kept at least 24 hours. 1-255 printable ASCII characters, e.g. a UUID.';

/**
 * Documents the optional `Idempotency-Key` header on every authenticated POST operation (those
 * with a `security` requirement), and its 409, in a generated OpenAPI document.
 */
export function documentIdempotencyKey(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    const post = item.post;
    if (!post?.security?.length) continue;
    post.parameters = [
      ...(post.parameters ?? []),
      {
        name: IDEMPOTENCY_KEY_HEADER,
        in: 'header',
        required: false,
        description: DESCRIPTION,
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]+$' },
      },
    ];
    const conflict = post.responses['409'];
    const reused = '`idempotency_key_reused` (the Idempotency-Key was used for another request)';
    post.responses['409'] =
      conflict && 'description' in conflict
        ? { ...conflict, description: `${conflict.description}; ${reused}` }
        : { description: `problem+json: ${reused}` };
  }
}
