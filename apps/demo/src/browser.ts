import http, { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

/** One answer as the browser saw it. */
export interface Page {
  /** The URL that answered (after redirects). */
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTML form read from a page: where it goes and its fields (hidden ones included). */
export interface HtmlForm {
  action: string;
  method: 'GET' | 'POST';
  fields: Record<string, string>;
}

/**
 * The smallest browser the SAML flows need: it follows redirects (302/303 become GET, as
 * browsers do), keeps cookies per host and port, reads HTML forms and submits them
 * (`application/x-www-form-urlencoded`). No JavaScript: an auto-submitting form is submitted
 * with {@link submit}, which is what the page's script would do. HTTPS servers are trusted when
 * their certificate is one of `trustedCertificates` (PEM), e.g. the demo IdP's self-signed one.
 */
export class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  constructor(private readonly trustedCertificates: string[] = []) {}

  /** The value of cookie `name` that `url`'s host set, if any. */
  cookie(url: string, name: string): string | undefined {
    return this.jar.get(new URL(url).host)?.get(name);
  }

  /** GET `url`, following redirects (at most 10). */
  open(url: string): Promise<Page> {
    return this.navigate('GET', url);
  }

  /**
   * Submits `form` (found on `page`) with `changes` over its fields and follows redirects.
   * @throws when the form's action is not http(s)
   */
  submit(page: Page, form: HtmlForm, changes: Record<string, string> = {}): Promise<Page> {
    const action = new URL(form.action || page.url, page.url);
    const fields = new URLSearchParams({ ...form.fields, ...changes });
    if (form.method === 'GET') {
      action.search = fields.toString();
      return this.navigate('GET', action.href);
    }
    return this.navigate('POST', action.href, fields.toString());
  }

  private async navigate(method: 'GET' | 'POST', url: string, form?: string): Promise<Page> {
    let current = { method, url, form };
    for (let hop = 0; hop <= 10; hop++) {
      const page = await this.request(current.method, current.url, current.form);
      const location = page.headers.location;
      if (![301, 302, 303, 307, 308].includes(page.status) || !location) return page;
      const next = new URL(location, current.url).href;
      // RFC 9110 §15.4: 301-303 turn a POST into a GET in browsers; 307/308 keep it.
      current = [307, 308].includes(page.status)
        ? { ...current, url: next }
        : { method: 'GET', url: next, form: undefined };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  private request(method: string, url: string, form?: string): Promise<Page> {
    const target = new URL(url);
    const cookies = [...(this.jar.get(target.host) ?? new Map<string, string>()).entries()]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
    const headers: Record<string, string> = {
      'User-Agent': 'control-plane-demo-browser/1.0',
      Accept: 'text/html,application/json;q=0.9,*/*;q=0.8',
      ...(cookies ? { Cookie: cookies } : {}),
      ...(form !== undefined
        ? {
            'Content-Type': 'application/x-www-form-urlencoded',
            'Content-Length': String(Buffer.byteLength(form)),
          }
        : {}),
    };
    return new Promise((resolve, reject) => {
      const done = (res: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          this.keepCookies(target.host, res.headers['set-cookie'] ?? []);
          resolve({
            url,
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      };
      const req =
        target.protocol === 'https:'
          ? https.request(target, { method, headers, ca: this.trustedCertificates }, done)
          : http.request(target, { method, headers }, done);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
      req.on('error', reject);
      req.end(form);
    });
  }

  /** Keeps `name=value` of each Set-Cookie (attributes are not needed here); Max-Age=0 deletes. */
  private keepCookies(host: string, setCookies: string[]): void {
    const cookies = this.jar.get(host) ?? new Map<string, string>();
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(';');
      const name = pair.slice(0, pair.indexOf('=')).trim();
      const value = pair.slice(pair.indexOf('=') + 1).trim();
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '')
        cookies.delete(name);
      else cookies.set(name, value);
    }
    this.jar.set(host, cookies);
  }
}

/** The forms of an HTML page, in order (enough HTML parsing for the pages the demo meets). */
export function formsOf(html: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attribute = (tag: string, name: string) =>
      new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag)?.[1];
    const fields: Record<string, string> = {};
    for (const input of match[2].matchAll(/<input\b([^>]*)>/gi)) {
      const name = attribute(input[1], 'name');
      if (name) fields[decodeHtml(name)] = decodeHtml(attribute(input[1], 'value') ?? '');
    }
    forms.push({
      action: decodeHtml(attribute(match[1], 'action') ?? ''),
      method: (attribute(match[1], 'method') ?? 'GET').toUpperCase() === 'POST' ? 'POST' : 'GET',
      fields,
    });
  }
  return forms;
}

function decodeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|apos);/g, (_, entity: string) => {
    const map: Record<string, string> = {
      amp: '&',
      lt: '<',
      gt: '>',
      quot: '"',
      '#39': "'",
      apos: "'",
    };
    return map[entity];
  });
}
