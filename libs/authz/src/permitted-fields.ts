import { permittedFieldsOf } from '@casl/ability/extra';
import type { Action, AppAbility, SubjectType } from './ability';
import { subjectOf } from './ability';

/**
 * Field-level rules: returns `record` with only the fields the ability lets the caller see
 * for `action` (e.g. nobody reads `secretHash`; account managers see a file's metadata only).
 * Rules without `fields` allow every field of `allFields`.
 */
export function permittedView<T extends object>(
  ability: AppAbility,
  action: Action,
  subjectType: SubjectType,
  record: T,
  allFields: readonly (keyof T & string)[],
): Partial<T> {
  const fields = permittedFieldsOf(ability, action, subjectOf(subjectType, record), {
    fieldsFrom: (rule) => rule.fields ?? [...allFields],
  });
  const view: Partial<T> = {};
  for (const field of fields) {
    if (field in record) view[field as keyof T] = record[field as keyof T];
  }
  return view;
}
