import { StreamableFile } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { Conflict } from '../errors/common-problems';
import { ProblemDetailsFilter, renderProblem } from '../errors/problem-details.filter';
import { StoredResponse } from '../idempotency/stored-response';
import { JSON_CONTENT_TYPE, renderResult, writeResponse } from './rendered-response';

function fakeResponse() {
  const res = {
    statusCode: 200,
    headers: {} as Record<string, string>,
    sent: undefined as Buffer | string | undefined,
    headersSent: false,
    status(code: number) {
      res.statusCode = code;
      return res;
    },
    setHeader(name: string, value: string) {
      res.headers[name] = value;
    },
    send(body?: Buffer | string) {
      res.sent = body;
    },
    end: jest.fn(),
  };
  return res;
}

const request = {
  method: 'POST',
  originalUrl: '/v1/tenants?x=1',
  path: '/v1/tenants',
  id: 'req-1',
  log: {},
} as unknown as Request;

function hostFor(res: ReturnType<typeof fakeResponse>): ArgumentsHost {
  return {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => res }),
  } as unknown as ArgumentsHost;
}

describe('renderResult', () => {
  it('renders objects as res.json() would', () => {
    const rendered = renderResult({ id: 'a', at: new Date(0) }, 201, {
      'Cache-Control': 'no-store',
    });
    expect(rendered).toEqual({
      status: 201,
      headers: { 'Cache-Control': 'no-store', 'Content-Type': JSON_CONTENT_TYPE },
      body: Buffer.from('{"id":"a","at":"1970-01-01T00:00:00.000Z"}'),
    });
  });

  it('renders nothing for undefined, with no Content-Type', () => {
    expect(renderResult(undefined, 204)).toEqual({
      status: 204,
      headers: {},
      body: Buffer.alloc(0),
    });
  });

  it('renders strings as text', () => {
    expect(renderResult('ok', 200).headers['Content-Type']).toBe('text/html; charset=utf-8');
  });

  it('refuses a stream, which cannot be stored', () => {
    expect(() => renderResult(new StreamableFile(Readable.from([])), 200)).toThrow();
  });
});

describe('ProblemDetailsFilter', () => {
  it('writes exactly what renderProblem renders (one source for both paths)', () => {
    const res = fakeResponse();
    const error = new Conflict('taken', { headers: { 'Retry-After': '1' } });
    new ProblemDetailsFilter().catch(error, hostFor(res));
    const rendered = renderProblem(error, request).response;
    expect(res.statusCode).toBe(409);
    expect(res.headers).toEqual(rendered.headers);
    expect(res.headers['Content-Type']).toBe('application/problem+json; charset=utf-8');
    expect(res.sent).toEqual(rendered.body);
    expect(JSON.parse(rendered.body.toString())).toMatchObject({
      code: 'conflict',
      instance: '/v1/tenants',
      requestId: 'req-1',
    });
  });

  it('writes a StoredResponse verbatim, marking replays', () => {
    const stored = {
      status: 200,
      headers: { 'Content-Type': JSON_CONTENT_TYPE },
      body: Buffer.from('{}'),
    };
    const first = fakeResponse();
    new ProblemDetailsFilter().catch(new StoredResponse(stored, false), hostFor(first));
    expect(first.statusCode).toBe(200);
    expect(first.headers).toEqual(stored.headers);
    expect(first.sent).toBe(stored.body);
    const replay = fakeResponse();
    new ProblemDetailsFilter().catch(new StoredResponse(stored, true), hostFor(replay));
    expect(replay.headers['Idempotent-Replayed']).toBe('true');
    expect(replay.sent).toBe(stored.body);
  });

  it('sends an empty stored body without inventing a Content-Type', () => {
    const res = fakeResponse();
    writeResponse(res as unknown as Response, { status: 204, headers: {}, body: Buffer.alloc(0) });
    expect(res.statusCode).toBe(204);
    expect(res.sent).toBeUndefined();
    expect(res.headers).toEqual({});
  });
});
