import { CompoundCondition, Condition, FieldCondition } from '@ucast/core';
import type { Action, AppAbility, SubjectType } from './ability';

/** A parameterized SQL boolean expression. Parameters are numbered from `firstParam`. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/** Thrown when a rule uses an operator we do not translate: never drop a clause silently. */
export class UntranslatableConditionError extends Error {}

const COMPARISONS: Record<string, string> = {
  eq: '=',
  ne: '<>',
  lt: '<',
  lte: '<=',
  gt: '>',
  gte: '>=',
};

/**
 * Turns the actor's rules for `action` on `subjectType` into a SQL condition, so list routes
 * return exactly the rows `ability.can(action, row)` allows (property-tested against CASL).
 *
 * CASL decides by the first matching rule in priority order (later rules first). The rules are
 * folded in that order: `can c` → `c OR rest`, `cannot c` → `NOT c AND rest`, an unconditional
 * rule ends the chain. (`rulesToQuery`/`rulesToAST` from `@casl/ability/extra` put every
 * `cannot` in a global AND, which disagrees with `can()` when a `cannot` is declared before a
 * `can`; the property test found that, so we fold the rules ourselves and interpret each rule's
 * own condition AST.)
 *
 * @param column maps a record field (`tenantId`) to a SQL column expression (`k.tenant_id`);
 *   it must only return trusted identifiers.
 * @returns `FALSE` when nothing is allowed, `TRUE` when everything is.
 * @throws UntranslatableConditionError for an operator or field it cannot translate.
 */
export function accessibleSql(
  ability: AppAbility,
  action: Action,
  subjectType: SubjectType,
  column: (field: string) => string | undefined,
  firstParam = 1,
): SqlCondition {
  const params: unknown[] = [];
  const placeholder = (value: unknown) => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  const columnOf = (field: string) => {
    const sql = column(field);
    if (!sql)
      throw new UntranslatableConditionError(`no column for field "${field}" of ${subjectType}`);
    return sql;
  };
  const translate = (node: Condition): string => {
    if (node instanceof CompoundCondition) {
      const parts = node.value.map(translate);
      switch (node.operator) {
        case 'and':
          return parts.length ? `(${parts.join(' AND ')})` : 'TRUE';
        case 'or':
          return parts.length ? `(${parts.join(' OR ')})` : 'FALSE';
        case 'not':
          return `(NOT COALESCE(${parts.length === 1 ? parts[0] : `(${parts.join(' AND ')})`}, FALSE))`;
        default:
          throw new UntranslatableConditionError(
            `operator "${node.operator}" is not translated to SQL`,
          );
      }
    }
    if (!(node instanceof FieldCondition)) {
      throw new UntranslatableConditionError(
        `condition "${node.operator}" is not translated to SQL`,
      );
    }
    const field = node;
    const sqlColumn = columnOf(field.field);
    if (field.operator in COMPARISONS) {
      if (field.value === null) {
        if (field.operator === 'eq') return `(${sqlColumn} IS NULL)`;
        if (field.operator === 'ne') return `(${sqlColumn} IS NOT NULL)`;
        throw new UntranslatableConditionError(`"${field.operator}" against null`);
      }
      // `ne` in CASL also matches rows where the field is null.
      if (field.operator === 'ne')
        return `(${sqlColumn} IS DISTINCT FROM ${placeholder(field.value)})`;
      return `(${sqlColumn} ${COMPARISONS[field.operator]} ${placeholder(field.value)})`;
    }
    if (field.operator === 'in' || field.operator === 'nin') {
      if (!Array.isArray(field.value))
        throw new UntranslatableConditionError(`"${field.operator}" needs an array`);
      if (field.value.some((v) => v === null))
        throw new UntranslatableConditionError(`"${field.operator}" with null`);
      const list = `${sqlColumn} = ANY(${placeholder(field.value)})`;
      return field.operator === 'in' ? `(${list})` : `(NOT COALESCE(${list}, FALSE))`;
    }
    throw new UntranslatableConditionError(`operator "${field.operator}" is not translated to SQL`);
  };
  // Rules in priority order up to the first unconditional one, which decides every row the
  // rules before it did not; the ones after it can never apply.
  const rules = ability.rulesFor(action, subjectType);
  const cut = rules.findIndex((rule) => !rule.conditions);
  const deciding = cut === -1 ? rules : rules.slice(0, cut);
  const conditions = deciding.map((rule) => `COALESCE(${translate(rule.ast!)}, FALSE)`);
  let sql = cut === -1 || rules[cut].inverted ? 'FALSE' : 'TRUE';
  // Fold from the lowest-priority rule up, so the highest-priority rule ends outermost.
  for (let i = deciding.length - 1; i >= 0; i -= 1) {
    sql = deciding[i].inverted
      ? `(NOT ${conditions[i]} AND ${sql})`
      : `(${conditions[i]} OR ${sql})`;
  }
  return { sql, params };
}
