import pino from 'pino';
import { Writable } from 'node:stream';
import { pinoOptions } from './logging.module';
import { isSecretKey, REDACTED, redactSecrets, redactUrl } from './redaction';

describe('isSecretKey', () => {
  it.each([
    'password',
    'clientSecret',
    'client_secret',
    'x-amz-security-token',
    'X-Auth-Token',
    'proxy-authorization',
    'Authorization',
    'cookie',
    'set-cookie',
    'privateKey',
    'SAMLResponse',
    'apiKey',
    'x-api-key',
    'key',
    'secretHash',
    'credentials',
  ])('treats %s as secret', (name) => expect(isSecretKey(name)).toBe(true));

  it.each([
    'maxTokens',
    'inputTokens',
    'outputTokens',
    'tokenizer',
    'apiKeyId',
    'bypassCache',
    'passengerCount',
    'keyPrefix',
    'name',
  ])('leaves %s readable', (name) => expect(isSecretKey(name)).toBe(false));
});

describe('redactSecrets', () => {
  it('replaces secret fields at any depth and leaves the rest', () => {
    const input = {
      name: 'ci',
      password: 'p',
      usage: { inputTokens: 12, maxTokens: 100 },
      nested: {
        apiKey: 'cp_live_x',
        list: [{ clientSecret: 's', ok: 1 }],
        SAMLResponse: 'PHNhbWw+',
      },
      headers: { Authorization: 'Bearer t', cookie: 'sid=1' },
    };
    expect(redactSecrets(input)).toEqual({
      name: 'ci',
      password: REDACTED,
      usage: { inputTokens: 12, maxTokens: 100 },
      nested: {
        apiKey: REDACTED,
        list: [{ clientSecret: REDACTED, ok: 1 }],
        SAMLResponse: REDACTED,
      },
      headers: { Authorization: REDACTED, cookie: REDACTED },
    });
    expect(input.password).toBe('p');
  });

  it('redacts the properties of errors and keeps their message and stack', () => {
    const error = Object.assign(new Error('boom'), { config: { password: 'hunter2' } });
    const out = redactSecrets({ err: error }) as { err: Record<string, unknown> };
    expect(out.err).toMatchObject({
      type: 'Error',
      message: 'boom',
      config: { password: REDACTED },
    });
    expect(String(out.err.stack)).toContain('boom');
    expect(JSON.stringify(out)).not.toContain('hunter2');
  });

  it("drops a failed query's bound parameters, which may be hashes or tokens", () => {
    const error = Object.assign(new Error('query failed'), {
      query: 'SELECT * FROM auth_api_key($1)',
      parameters: ['\\xdeadbeef'],
    });
    const out = redactSecrets({ err: error }) as { err: Record<string, unknown> };
    expect(out.err).toMatchObject({
      query: 'SELECT * FROM auth_api_key($1)',
      parameters: REDACTED,
    });
  });

  it('leaves class instances such as dates to their serializers', () => {
    const date = new Date(0);
    expect(redactSecrets({ at: date })).toEqual({ at: date });
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    expect(redactSecrets(a)).toEqual({ x: 1, self: '[Truncated]' });
  });
});

describe('redactUrl', () => {
  it('masks secret query parameters only', () => {
    expect(redactUrl('/problems?token=QSECRET&password=hunter2&limit=5')).toBe(
      `/problems?token=${encodeURIComponent(REDACTED)}&password=${encodeURIComponent(REDACTED)}&limit=5`,
    );
    expect(redactUrl('/health/live')).toBe('/health/live');
    for (const url of [
      '/x?token[0]=LEAK',
      '/x?password[x]=LEAK',
      '/x?refresh_tokens=LEAK',
      '/x?apiKeys=LEAK',
      '/x?signature=LEAK',
    ]) {
      expect(redactUrl(url)).not.toContain('LEAK');
    }
    expect(redactUrl('/x?limit=7&after=abc')).toBe('/x?limit=7&after=abc');
  });
});

describe('pinoOptions', () => {
  it('writes JSON lines without secrets', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino(pinoOptions({ LOG_LEVEL: 'info' }, 'unit'), sink);
    logger.info(
      { token: 'tok_secret', err: Object.assign(new Error('x'), { password: 'pw_secret' }) },
      'hello',
    );
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ msg: 'hello', service: 'unit', level: 30 });
    expect(lines[0]).not.toContain('tok_secret');
    expect(lines[0]).not.toContain('pw_secret');
  });
});
