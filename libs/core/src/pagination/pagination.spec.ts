import { DomainError } from '../errors/problem';
import { decodeCursor, encodeCursor, toPage } from './pagination';

describe('cursor pagination', () => {
  it('round-trips a cursor', () => {
    expect(decodeCursor(encodeCursor({ k: '2026-01-01T00:00:00Z', id: 'a' }))).toEqual({
      k: '2026-01-01T00:00:00Z',
      id: 'a',
    });
  });

  it('rejects a forged cursor as a validation problem on `after`', () => {
    expect(() => decodeCursor('bm90LWpzb24')).toThrow(DomainError);
    try {
      decodeCursor(Buffer.from('{"k":1}').toString('base64url'));
    } catch (error) {
      expect((error as DomainError).problem.code).toBe('validation_failed');
      expect((error as DomainError).errors).toEqual([
        { path: 'after', message: expect.any(String) },
      ]);
    }
  });

  it('returns a next cursor only when an extra row was fetched', () => {
    const rows = [1, 2, 3].map((n) => ({ id: String(n), at: String(n) }));
    const full = toPage(rows, 2, (r) => ({ k: r.at, id: r.id }));
    expect(full.data).toHaveLength(2);
    expect(decodeCursor(full.nextCursor!)).toEqual({ k: '2', id: '2' });
    expect(toPage(rows, 3, (r) => ({ k: r.at, id: r.id })).nextCursor).toBeNull();
  });
});
