import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as signed. */
  body: string;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** A scripted answer: a status, optionally with headers (a redirect's Location). */
export type Answer = number | { status: number; headers?: Record<string, string> };

/**
 * A real webhook receiver on 127.0.0.1 (node:http): records every request and answers each path
 * from a script of statuses (then 200).
 */
export interface Receiver {
  /** `http://127.0.0.1:<port><path>` */
  url(path: string): string;
  /** `http://localhost:<port><path>`: a name, resolved when connecting. */
  urlByName(path: string): string;
  /** Requests to `path` so far, in arrival order. */
  requestsTo(path: string): ReceivedRequest[];
  /** Answers the next requests to `path` with these statuses, in order; 200 after them. */
  script(path: string, answers: Answer[]): void;
  /** Answers every request to `path` with `status`. */
  always(path: string, status: number): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const scripts = new Map<string, Answer[]>();
  const fixed = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      requests.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const answer: Answer = fixed.get(path) ?? scripts.get(path)?.shift() ?? 200;
      const { status, headers } = typeof answer === 'number' ? { status: answer } : answer;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(status >= 400 ? `failure ${status} from the receiver` : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    urlByName: (path) => `http://localhost:${port}${path}`,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    script: (path, answers) => scripts.set(path, [...answers]),
    always: (path, status) => fixed.set(path, status),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
