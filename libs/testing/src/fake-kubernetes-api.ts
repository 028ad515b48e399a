import { KubeConfig } from '@kubernetes/client-node';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { parse } from 'yaml';

/** One request the fake received. */
export interface RecordedRequest {
  /** When it arrived (`performance.now()`, ms). */
  at: number;
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: unknown;
}

export type Json = Record<string, unknown>;
export type Pod = Json & { metadata: Json & { name: string; labels: Record<string, string> } };

const ROUTE =
  /^\/(?:api\/v1|apis\/apps\/v1)(?:\/namespaces\/([^/]+))?(?:\/(deployments|services|pods)(?:\/([^/]+))?)?$/;

/**
 * A test double of the Kubernetes API server (an external system; there is no cluster here): a
 * local `http` server implementing just the calls the `kubernetes` endpoint provider makes
 * (server-side apply PATCH of apps/v1 Deployments, v1 Services and Namespaces; GET of a
 * Deployment with a status the test sets; GET of a Service; a pod list filtered by
 * `labelSelector`; DELETE), recording every request, with injectable failures and a hanging
 * mode. It checks what goes over the wire through the real `@kubernetes/client-node` client; it
 * cannot check what a real API server, scheduler or kubelet would do with the objects.
 */
export class FakeKubernetesApi {
  readonly requests: RecordedRequest[] = [];
  /** Stored objects by `<resource>/<namespace>/<name>` (`namespaces/<name>` for namespaces). */
  readonly objects = new Map<string, Json>();
  pods: Pod[] = [];
  deploymentStatus: Json = {};
  /** Statuses to answer the next requests with, before any routing. */
  readonly failures: number[] = [];
  /** Never answer (to exercise the client timeout). */
  hang = false;
  private server!: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url!, 'http://fake');
    // A real API server parses an apply body as YAML; JSON is a subset.
    const body = raw ? (parse(raw) as unknown) : undefined;
    this.requests.push({
      at: performance.now(),
      method: req.method!,
      path: url.pathname,
      query: url.searchParams,
      contentType: req.headers['content-type'],
      body,
    });
    if (this.hang) return;
    const failure = this.failures.shift();
    if (failure) return send(res, failure, status(failure, 'Injected'));

    const match = ROUTE.exec(url.pathname);
    if (!match) return send(res, 404, status(404, 'NotFound'));
    const [, namespace, resource, name] = match;
    // `/api/v1/namespaces/<name>` is the namespace itself.
    const key = resource ? `${resource}/${namespace}/${name}` : `namespaces/${namespace}`;

    if (req.method === 'PATCH') {
      if (req.headers['content-type'] !== 'application/apply-patch+yaml')
        return send(res, 415, status(415, 'UnsupportedMediaType'));
      const previous = this.objects.get(key);
      const applied = body as Json & { metadata: Json; spec?: unknown };
      const changed = !previous || JSON.stringify(previous.spec) !== JSON.stringify(applied.spec);
      const generation = ((previous?.metadata as Json | undefined)?.generation as number) ?? 0;
      const stored = {
        ...applied,
        metadata: { ...applied.metadata, generation: changed ? generation + 1 : generation },
      };
      this.objects.set(key, stored);
      return send(res, previous ? 200 : 201, stored);
    }
    if (req.method === 'GET' && resource === 'pods' && !name) {
      const selector = Object.fromEntries(
        (url.searchParams.get('labelSelector') ?? '')
          .split(',')
          .filter(Boolean)
          .map((term) => term.split('=') as [string, string]),
      );
      const items = this.pods.filter((pod) =>
        Object.entries(selector).every(([k, v]) => pod.metadata.labels[k] === v),
      );
      return send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
    }
    const object = this.objects.get(key);
    if (!object) return send(res, 404, status(404, 'NotFound'));
    if (req.method === 'GET')
      return send(
        res,
        200,
        resource === 'deployments' ? { ...object, status: this.deploymentStatus } : object,
      );
    if (req.method === 'DELETE') {
      this.objects.delete(key);
      return send(res, 200, status(200, 'Success'));
    }
    return send(res, 405, status(405, 'MethodNotAllowed'));
  }
}

function status(code: number, reason: string): Json {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    status: code < 400 ? 'Success' : 'Failure',
    reason,
    message: `${reason} (fake)`,
    code,
  };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A client configuration for the fake at `server` (what a kubeconfig file would give). */
export function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'control-plane', token: 't' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'control-plane' }],
    currentContext: 'fake',
  });
  return kc;
}
