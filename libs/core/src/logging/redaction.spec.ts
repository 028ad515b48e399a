import pino from 'pino';
import { Writable } from 'node:stream';
import { pinoOptions } from './logging.module';
import { REDACTED, redactSecrets } from './redaction';

describe('redactSecrets', () => {
  it('replaces secret-looking fields at any depth and leaves the rest', () => {
    const input = {
      name: 'ci',
      password: 'p',
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
      nested: {
        apiKey: REDACTED,
        list: [{ clientSecret: REDACTED, ok: 1 }],
        SAMLResponse: REDACTED,
      },
      headers: { Authorization: REDACTED, cookie: REDACTED },
    });
    expect(input.password).toBe('p');
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    expect(redactSecrets(a)).toEqual({ x: 1, self: '[Truncated]' });
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
      { req: { headers: { authorization: 'Bearer cp_live_secret' } }, token: 'tok_secret' },
      'hello',
    );
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]);
    expect(line).toMatchObject({ msg: 'hello', service: 'unit', level: 30 });
    expect(lines[0]).not.toContain('cp_live_secret');
    expect(lines[0]).not.toContain('tok_secret');
  });
});
