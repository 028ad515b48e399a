import { ValidationError } from '@nestjs/common';
import { flattenValidationErrors, unsafeInput } from './validation';

describe('flattenValidationErrors', () => {
  it('names nested and array fields with dots and brackets', () => {
    const errors: ValidationError[] = [
      { property: 'name', constraints: { isString: 'name must be a string' }, children: [] },
      {
        property: 'quotaLines',
        children: [
          {
            property: '0',
            children: [
              {
                property: 'limit',
                constraints: { min: 'limit must not be less than 1' },
                children: [],
              },
            ],
          },
        ],
      },
    ];
    expect(flattenValidationErrors(errors)).toEqual([
      { path: 'name', message: 'name must be a string' },
      { path: 'quotaLines[0].limit', message: 'limit must not be less than 1' },
    ]);
  });
});

describe('unsafeInput', () => {
  it('accepts ordinary input', () => {
    expect(unsafeInput({ name: 'a', tags: ['x', { k: 'v' }], metadata: { team: 'ml' } })).toBe(
      undefined,
    );
  });

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'])(
    'refuses a key named like Object.prototype.%s, naming where it is',
    (key) => {
      const body = JSON.parse(`{"metadata": {"team": "ml", "${key}": "x"}}`);
      expect(unsafeInput(body)).toEqual({
        path: `metadata.${key}`,
        message: expect.stringContaining('Object.prototype'),
      });
    },
  );

  it('names NUL characters, lone surrogates and deep nesting', () => {
    expect(unsafeInput({ a: ['ok', 'b\u0000'] })).toMatchObject({ path: 'a[1]' });
    expect(unsafeInput({ s: '\uD800' })).toMatchObject({ path: 's' });
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i += 1) deep = { d: deep };
    expect(unsafeInput(deep)?.message).toMatch(/nests deeper/);
  });
});
