import { DomainError } from '../errors/problem';
import { ParseResourceIdPipe } from './uuid-param.pipe';

describe('ParseResourceIdPipe', () => {
  const pipe = new ParseResourceIdPipe('contract');

  it('answers a UUID of any version in lowercase', () => {
    expect(pipe.transform('0F3C2A9E-8B1D-4C55-9E7A-1234567890AB')).toBe(
      '0f3c2a9e-8b1d-4c55-9e7a-1234567890ab',
    );
    expect(pipe.transform('00000000-0000-0000-0000-000000000000')).toBe(
      '00000000-0000-0000-0000-000000000000',
    );
  });

  it.each(['not-a-uuid', '', '\u0000', '0f3c2a9e8b1d4c559e7a1234567890ab', `${'a'.repeat(36)}`])(
    'refuses %j as not found (404 not_found), never 400',
    (value) => {
      let error: unknown;
      try {
        pipe.transform(value);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).problem).toMatchObject({ code: 'not_found', status: 404 });
      expect((error as DomainError).message).toBe('No such contract.');
    },
  );
});
