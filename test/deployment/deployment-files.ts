/* Helpers of the deployment specs: file access from the repository root, the chart's values,
 * and a small reader of JSON Schema references. No cluster, helm or Docker is needed. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const ROOT = join(__dirname, '..', '..');
export const CHART = join(ROOT, 'helm', 'control-plane');

export const read = (...parts: string[]): string => readFileSync(join(ROOT, ...parts), 'utf8');
export const readChart = (...parts: string[]): string =>
  readFileSync(join(CHART, ...parts), 'utf8');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Parses YAML strictly: a duplicate key or a syntax error throws. */
export const parseYaml = (text: string): Json => parse(text, { uniqueKeys: true, strict: true });

export const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Merges values the way helm does (`helm -f a -f b`): maps merge key by key, anything else
 * (scalars, lists) from the later file replaces the earlier one, and null deletes the key.
 */
export function mergeValues(base: Json, override: Json): Json {
  if (!isObject(base) || !isObject(override)) return override;
  const merged: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete merged[key];
    else merged[key] = key in base ? mergeValues(base[key], value) : value;
  }
  return merged;
}

/** Follows local `$ref`s (`#/definitions/...`) of the chart schema. */
export function resolveRef(root: JsonObject, schema: JsonObject): JsonObject {
  let current = schema;
  while (typeof current.$ref === 'string') {
    const path = current.$ref.replace(/^#\//, '').split('/');
    let target: Json = root;
    for (const segment of path) target = isObject(target) ? target[segment] : null;
    if (!isObject(target)) throw new Error(`unresolved $ref ${current.$ref}`);
    current = target;
  }
  return current;
}

/** A copy of a schema without any `required`, for a values file that helm merges over defaults. */
export function withoutRequired(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(withoutRequired);
  if (!isObject(schema)) return schema;
  const copy: JsonObject = {};
  for (const [key, value] of Object.entries(schema))
    if (key !== 'required') copy[key] = withoutRequired(value);
  return copy;
}

/**
 * Counts Go-template actions in a helm template: `{{`/`}}` pairs and block openers against
 * `{{ end }}`. Comments (`{{/* ... *\/}}`) count as actions but open no block.
 */
export function templateBalance(text: string): {
  opens: number;
  closes: number;
  blocks: number;
  ends: number;
  problems: string[];
} {
  const problems: string[] = [];
  const opens = text.split('{{').length - 1;
  const closes = text.split('}}').length - 1;
  let blocks = 0;
  let ends = 0;
  let depth = 0;
  const actions = text.match(/\{\{-?\s*([\s\S]*?)\s*-?\}\}/g) ?? [];
  for (const action of actions) {
    const body = action.replace(/^\{\{-?\s*/, '').replace(/\s*-?\}\}$/, '');
    if (body.startsWith('/*')) continue;
    const keyword = /^(if|range|with|define|block|end)\b/.exec(body)?.[1];
    if (!keyword) continue;
    if (keyword === 'end') {
      ends += 1;
      depth -= 1;
      if (depth < 0) problems.push(`an {{ end }} closes nothing: ${action}`);
    } else {
      blocks += 1;
      depth += 1;
    }
  }
  if (opens !== closes) problems.push(`${opens} "{{" but ${closes} "}}"`);
  if (blocks !== ends) problems.push(`${blocks} blocks opened but ${ends} {{ end }}`);
  return { opens, closes, blocks, ends, problems };
}
