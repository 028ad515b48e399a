import { DomainError } from '../errors/problem';
import { decodeCursor, encodeCursor, toPage } from './pagination';

const ID = '6f1c2a52-8a4e-4a43-9c38-5a0f1d3f1e10';
const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('cursor pagination', () => {
  it('round-trips a cursor', () => {
    const position = { k: '2026-01-01T00:00:00.123456+00:00', id: ID };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(decodeCursor(encodeCursor({ k: '42', id: ID }), 'integer')).toEqual({ k: '42', id: ID });
  });

  it.each([
    ['not base64 JSON', 'bm90LWpzb24'],
    ['a number as key', forged({ k: 1, id: ID })],
    ['a key that is not a timestamp', forged({ k: 'notadate', id: ID })],
    ['a bare date', forged({ k: '2020-01-01', id: ID })],
    ['an id that is not a UUID', forged({ k: '2020-01-01T00:00:00Z', id: 'x' })],
  ])('rejects a cursor with %s as a validation problem on `after`', (_name, cursor) => {
    try {
      decodeCursor(cursor);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).problem.code).toBe('validation_failed');
      expect((error as DomainError).errors).toEqual([
        { path: 'after', message: expect.any(String) },
      ]);
    }
  });

  it('rejects a timestamp key where an integer one is expected', () => {
    expect(() => decodeCursor(forged({ k: '2020-01-01T00:00:00Z', id: ID }), 'integer')).toThrow(
      DomainError,
    );
  });

  it('returns a next cursor only when an extra row was fetched', () => {
    const rows = [1, 2, 3].map((n) => ({
      id: ID.replace(/0$/, String(n)),
      at: `2026-01-0${n}T00:00:00Z`,
    }));
    const full = toPage(rows, 2, (r) => ({ k: r.at, id: r.id }));
    expect(full.data).toHaveLength(2);
    expect(decodeCursor(full.nextCursor!)).toEqual({ k: rows[1].at, id: rows[1].id });
    expect(toPage(rows, 3, (r) => ({ k: r.at, id: r.id })).nextCursor).toBeNull();
  });
});
