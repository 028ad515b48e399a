/** An HTTP answer of the control-plane API: status, headers and the parsed JSON body (or text). */
export interface ApiAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** An answer whose status was not the one the step expected: the step's story stops here. */
export class UnexpectedAnswer extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly answer: ApiAnswer<unknown>,
  ) {
    super(`${method} ${path} answered ${answer.status}: ${answer.text.slice(0, 500)}`);
  }
}

/**
 * The control-plane API as one caller (an API key or a session token) sees it over HTTP:
 * `call` sends JSON with `Authorization: Bearer <token>` and checks the status.
 */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  /** The same API as another caller. */
  as(token: string): ApiClient {
    return new ApiClient(this.baseUrl, token);
  }

  /**
   * Sends `body` (JSON) and answers when the status is one of `expect` (default any 2xx).
   * @throws UnexpectedAnswer otherwise
   */
  async call<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: unknown,
    expect?: number[],
  ): Promise<ApiAnswer<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text (downloads)
    }
    const answer: ApiAnswer<T> = {
      status: res.status,
      headers: res.headers,
      body: parsed as T,
      text,
    };
    const ok = expect ? expect.includes(res.status) : res.status >= 200 && res.status < 300;
    if (!ok) throw new UnexpectedAnswer(method, path, answer);
    return answer;
  }

  get<T = Record<string, unknown>>(path: string, expect?: number[]) {
    return this.call<T>('GET', path, undefined, expect);
  }

  post<T = Record<string, unknown>>(path: string, body: unknown = {}, expect?: number[]) {
    return this.call<T>('POST', path, body, expect);
  }

  delete(path: string, expect?: number[]) {
    return this.call('DELETE', path, undefined, expect);
  }
}

/**
 * Polls `probe` every `intervalMs` until it answers something other than undefined.
 * @throws when `timeoutMs` passes first, naming `what`
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
