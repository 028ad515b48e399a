import { DomainError } from '../errors/problem';
import { EmptyBodyPipe } from './empty-body.pipe';

describe('EmptyBodyPipe', () => {
  const pipe = new EmptyBodyPipe();

  it('lets no body, null and {} through', () => {
    expect(pipe.transform(undefined)).toEqual({});
    expect(pipe.transform(null)).toEqual({});
    expect(pipe.transform({})).toEqual({});
  });

  it.each([
    [{ force: true }, ['force']],
    [{ a: 1, b: null }, ['a', 'b']],
    [[], ['(body)']],
    [[1], ['(body)']],
    ['x', ['(body)']],
    [42, ['(body)']],
  ])('refuses %j with 400 validation_failed naming %j', (body, paths) => {
    let error: unknown;
    try {
      pipe.transform(body);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).problem.code).toBe('validation_failed');
    expect((error as DomainError).errors?.map((e) => e.path)).toEqual(paths);
  });
});
