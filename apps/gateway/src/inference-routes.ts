import type { InferenceKind } from './inference-request';

/** The inference routes the gateway serves outside Express ({@link InferenceHttp}), by exact path. */
const ROUTES: ReadonlyMap<string, InferenceKind> = new Map([
  ['/v1/chat/completions', 'chat'],
  ['/v1/completions', 'completion'],
  ['/v1/embeddings', 'embedding'],
]);

/**
 * The kind of inference a request asks for when it is one of the gateway's own routes (`POST`
 * to one of their exact paths, any query string), else undefined. Imports nothing, so the
 * telemetry set-up (loaded before everything else) can use it too.
 */
export function inferenceRoute(
  method: string | undefined,
  url: string | undefined,
): { kind: InferenceKind; path: string } | undefined {
  if (method !== 'POST' || !url) return undefined;
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  const kind = ROUTES.get(path);
  return kind ? { kind, path } : undefined;
}
