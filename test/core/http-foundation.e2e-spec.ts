import { API_HTTP_OPTIONS, AppModule } from '../../apps/api/src/app.module';
import { Public } from '@app/core';
import { createTestApp, TestApp } from '@app/testing';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { IsInt, IsString, Min, ValidateNested, IsArray } from 'class-validator';
import { Type } from 'class-transformer';

class LineDto {
  @IsInt()
  @Min(1)
  limit!: number;
}

class ProbeDto {
  @IsString()
  name!: string;

  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => LineDto)
  lines!: LineDto[];
}

/** Routes that exist only in this test, to provoke each error path. */
@Public()
@Controller('test-probe')
class ProbeController {
  @Get('boom')
  boom(): never {
    throw new Error('connection string postgres://admin:hunter2@db leaked?');
  }

  @Post('echo')
  echo(@Body() body: ProbeDto): ProbeDto {
    return body;
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('HTTP foundation (api)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(
      (config, options) => ({
        ...AppModule.register(config, options),
        imports: [...AppModule.register(config, options).imports!, ProbeModule],
      }),
      API_HTTP_OPTIONS,
      { env: { BODY_LIMIT: '1kb' }, captureLogs: true },
    );
  });
  afterAll(() => t.close());

  it('answers an unknown route with a 404 problem', async () => {
    const res = await t.http.get('/v1/nothing-here').expect(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      type: '/problems/not-found',
      title: 'Not found',
      status: 404,
      code: 'not_found',
      instance: '/v1/nothing-here',
    });
    expect(typeof res.body.detail).toBe('string');
  });

  it('answers malformed JSON with a 400 malformed_json problem', async () => {
    const res = await t.http
      .post('/test-probe/echo')
      .set('Content-Type', 'application/json')
      .send('{"name": ')
      .expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status: 400,
      code: 'malformed_json',
      type: '/problems/malformed-json',
    });
  });

  it('answers a body over BODY_LIMIT with a 413 problem', async () => {
    const res = await t.http
      .post('/test-probe/echo')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(2048), lines: [] }))
      .expect(413);
    expect(res.body).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('answers invalid fields with a 400 problem listing each field path', async () => {
    const res = await t.http
      .post('/test-probe/echo')
      .send({ name: 5, lines: [{ limit: 1 }, { limit: 0 }], extra: true })
      .expect(400);
    expect(res.body).toMatchObject({ code: 'validation_failed', status: 400 });
    const paths = res.body.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['extra', 'lines[1].limit', 'name']);
  });

  it('passes valid input through', async () => {
    await t.http
      .post('/test-probe/echo')
      .send({ name: 'ok', lines: [{ limit: 3 }] })
      .expect(201, { name: 'ok', lines: [{ limit: 3 }] });
  });

  it('answers an unexpected exception with a bare 500 and logs it with the request id', async () => {
    const res = await t.http
      .get('/test-probe/boom')
      .set('X-Request-Id', 'req-500-test')
      .expect(500);
    expect(res.body).toEqual({
      type: '/problems/internal-error',
      title: 'Internal server error',
      status: 500,
      detail: 'An unexpected error occurred.',
      instance: '/test-probe/boom',
      code: 'internal_error',
      requestId: 'req-500-test',
    });
    expect(JSON.stringify(res.body)).not.toContain('hunter2');
    const logged = t.logs.find(
      (line) => line.requestId === 'req-500-test' && line.msg === 'unhandled exception',
    );
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('stack');
  });

  it('echoes an acceptable X-Request-Id and replaces an unacceptable one', async () => {
    const kept = await t.http.get('/health/live').set('X-Request-Id', 'abc-123_x.y:z').expect(200);
    expect(kept.headers['x-request-id']).toBe('abc-123_x.y:z');
    const replaced = await t.http
      .get('/health/live')
      .set('X-Request-Id', 'bad id <script>')
      .expect(200);
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const made = await t.http.get('/health/live').expect(200);
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the page a problem type points to', async () => {
    const res = await t.http.get('/problems/malformed-json').expect(200);
    expect(res.body).toMatchObject({
      code: 'malformed_json',
      status: 400,
      type: '/problems/malformed-json',
    });
    await t.http.get('/problems/no-such-thing').expect(404);
  });

  it('never logs the Authorization header or cookies', async () => {
    await t.http
      .post('/test-probe/echo')
      .set('Authorization', 'Bearer cp_test_supersecretvalue')
      .set('Cookie', 'cp_session=sessionsecretvalue')
      .send({ name: 'ok', lines: [] })
      .expect(201);
    const all = JSON.stringify(t.logs);
    expect(all).toContain('/test-probe/echo');
    expect(all).not.toContain('supersecretvalue');
    expect(all).not.toContain('sessionsecretvalue');
  });

  it('logs each request with its status, masking secret query values and headers', async () => {
    await t.http
      .get('/problems?token=QSECRET&limit=5')
      .set('X-Request-Id', 'req-access-log')
      .set('X-Auth-Token', 'HEADERSECRET')
      .set('X-Amz-Security-Token', 'AMZSECRET')
      .expect(200);
    const line = t.logs.find(
      (l) => l.requestId === 'req-access-log' && l.msg === 'request completed',
    );
    expect(line).toMatchObject({ res: { statusCode: 200 }, req: { method: 'GET' } });
    const all = JSON.stringify(t.logs);
    expect(all).toContain('limit=5');
    for (const secret of ['QSECRET', 'HEADERSECRET', 'AMZSECRET'])
      expect(all).not.toContain(secret);
  });

  it('logs and counts requests refused before routing', async () => {
    await t.http
      .post('/test-probe/echo?password=hunter2')
      .set('X-Request-Id', 'req-before-routing')
      .set('Content-Type', 'application/json')
      .send('{bad')
      .expect(400);
    const line = t.logs.find((l) => l.requestId === 'req-before-routing');
    expect(line).toMatchObject({
      status: 400,
      code: 'malformed_json',
      msg: 'request refused before routing',
    });
    expect(JSON.stringify(line)).not.toContain('hunter2');
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /http_server_request_duration_seconds_count\{method="POST",route="unmatched",status_code="400"\} [1-9]/,
    );
  });

  it.each([
    ['a body that is not gzip though it says so', { 'Content-Encoding': 'gzip' }, '{}', 400],
    [
      'a charset body-parser cannot read',
      { 'Content-Type': 'application/json; charset=latin1' },
      '{}',
      415,
    ],
    ['an unknown content encoding', { 'Content-Encoding': 'br2' }, '{}', 415],
  ])('answers %s with a 4xx problem, not a 500', async (_name, headers, body, status) => {
    const res = await t.http
      .post('/test-probe/echo')
      .set({ 'Content-Type': 'application/json', ...headers })
      .send(body)
      .expect(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('never echoes the query string of an unknown route', async () => {
    const res = await t.http.get('/nope?token=QSECRET').expect(404);
    expect(res.body.detail).toBe('No route matches GET /nope.');
  });

  it('exposes the HTTP duration histogram by route and status after a request', async () => {
    await t.http.get('/health/live').expect(200);
    const res = await t.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(
      /http_server_request_duration_seconds_count\{method="GET",route="\/health\/live",status_code="200"\} [1-9]/,
    );
    expect(res.text).toMatch(
      /http_server_request_duration_seconds_bucket\{le="0.005",method="GET",route="unmatched",status_code="404"\}/,
    );
  });

  it('serves OpenAPI at /docs-json and the UI at /docs', async () => {
    const json = await t.http.get('/docs-json').expect(200);
    expect(json.body.openapi).toMatch(/^3\./);
    expect(Object.keys(json.body.paths)).toEqual(
      expect.arrayContaining(['/health/live', '/health/ready']),
    );
    const ui = await t.http.get('/docs').expect(200);
    expect(ui.text).toContain('swagger');
  });
});
