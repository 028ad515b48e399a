import { ValidationError } from '@nestjs/common';
import { flattenValidationErrors } from './validation';

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
