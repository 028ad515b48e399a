/* The helm chart, checked without a cluster: every chart file parses, values.yaml and the
 * production example validate against values.schema.json (ajv), templates are balanced, and
 * each Deployment has probes, resources and the non-root security context. `helm lint` and
 * `helm template | kubeconform` run only where both binaries are on the PATH; otherwise that
 * test is reported as skipped, with the reason, never as passed. */
import { configSchema } from '@app/core';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  CHART,
  isObject,
  Json,
  JsonObject,
  mergeValues,
  parseYaml,
  read,
  readChart,
  resolveRef,
  ROOT,
  templateBalance,
  withoutRequired,
} from './deployment-files';

const TEMPLATES = [
  '_helpers.tpl',
  'NOTES.txt',
  'configmap.yaml',
  'secret.yaml',
  'serviceaccount.yaml',
  'deployment-api.yaml',
  'deployment-worker.yaml',
  'deployment-gateway.yaml',
  'service.yaml',
  'hpa.yaml',
  'pdb.yaml',
  'ingress.yaml',
  'migration-job.yaml',
  'networkpolicy.yaml',
  'servicemonitor.yaml',
];
const DEPLOYMENTS = {
  api: 'deployment-api.yaml',
  worker: 'deployment-worker.yaml',
  gateway: 'deployment-gateway.yaml',
};

const schema = JSON.parse(readChart('values.schema.json')) as JsonObject;
const values = parseYaml(readChart('values.yaml')) as JsonObject;
const example = parseYaml(readChart('values-production.example.yaml')) as JsonObject;

function validator(s: Json) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(s as object);
}
const errorsOf = (validate: ReturnType<typeof validator>, data: unknown) =>
  validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);

describe('helm chart: files', () => {
  it('has Chart.yaml (apiVersion v2) with appVersion = package.json version', () => {
    const chart = parseYaml(readChart('Chart.yaml')) as JsonObject;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'control-plane', type: 'application' });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(chart.appVersion).toBe(JSON.parse(read('package.json')).version);
  });

  it('parses values.yaml, the production example and values.schema.json', () => {
    expect(isObject(values)).toBe(true);
    expect(isObject(example)).toBe(true);
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('has every template, each with balanced {{ }} and blocks, and no other files', () => {
    const present = readdirSync(join(CHART, 'templates')).sort();
    expect(present).toEqual([...TEMPLATES].sort());
    for (const file of TEMPLATES) {
      const balance = templateBalance(readChart('templates', file));
      expect({ file, problems: balance.problems }).toEqual({ file, problems: [] });
      if (file !== 'NOTES.txt') expect(balance.opens).toBeGreaterThan(0);
    }
  });
});

describe('helm chart: values.schema.json', () => {
  it('validates values.yaml', () => {
    expect(errorsOf(validator(schema), values)).toEqual([]);
  });

  it('validates the production example merged over values.yaml (as helm merges them)', () => {
    expect(errorsOf(validator(schema), mergeValues(values, example))).toEqual([]);
  });

  it('validates the production example on its own (every key known and well-typed)', () => {
    expect(errorsOf(validator(withoutRequired(schema)), example)).toEqual([]);
  });

  it('refuses typos, credentials in config, and a root or writable security context', () => {
    const validate = validator(schema);
    const bad = (override: Json) => errorsOf(validate, mergeValues(values, override));
    expect(bad({ api: { replicaCont: 3 } })).not.toEqual([]);
    expect(bad({ config: { DATABASE_URL: 'postgres://u:p@h/db' } })).not.toEqual([]);
    expect(bad({ config: { REDIS_URL: 'redis://h' } })).not.toEqual([]);
    expect(bad({ config: { BOOTSTRAP_ADMIN_TOKEN: 'x'.repeat(40) } })).not.toEqual([]);
    expect(bad({ containerSecurityContext: { runAsNonRoot: false } })).not.toEqual([]);
    expect(bad({ containerSecurityContext: { readOnlyRootFilesystem: false } })).not.toEqual([]);
    expect(bad({ containerSecurityContext: { allowPrivilegeEscalation: true } })).not.toEqual([]);
    expect(bad({ containerSecurityContext: { capabilities: { drop: ['NET_RAW'] } } })).not.toEqual(
      [],
    );
    expect(bad({ podSecurityContext: { seccompProfile: { type: 'Unconfined' } } })).not.toEqual([]);
    expect(bad({ config: { WEBHOOK_MAX_ATTEMPTS: '31' } })).not.toEqual([]);
    expect(bad({ api: { podDisruptionBudget: { maxUnavailable: '50%' } } })).toEqual([]);
  });

  it('describes every value in values.yaml (a schema entry with a description)', () => {
    const missing: string[] = [];
    const walk = (value: Json, node: JsonObject, path: string) => {
      const s = resolveRef(schema, node);
      if (!s.description && !node.description) missing.push(`${path} (no description)`);
      if (!isObject(value)) return;
      const properties = isObject(s.properties) ? s.properties : undefined;
      for (const [key, child] of Object.entries(value)) {
        const childSchema = properties?.[key];
        if (isObject(childSchema)) walk(child, childSchema, `${path}.${key}`);
        else if (!isObject(s.additionalProperties)) missing.push(`${path}.${key}`);
      }
    };
    walk(values, schema, 'values');
    expect(missing).toEqual([]);
  });

  it('documents values.yaml line by line (a comment above every key)', () => {
    const lines = readChart('values.yaml').split('\n');
    const undocumented: string[] = [];
    let previous = '';
    lines.forEach((line, index) => {
      const trimmed = line.trim();
      if (!trimmed) return;
      if (/^(- )?[A-Za-z_][\w.-]*:/.test(trimmed) && !previous.startsWith('#'))
        undocumented.push(`${index + 1}: ${trimmed}`);
      previous = trimmed;
    });
    expect(undocumented).toEqual([]);
  });
});

describe('helm chart: template references', () => {
  /** The schema node of a dotted path below `start`, or undefined when the schema has no such key. */
  const schemaAt = (start: JsonObject, path: string[]): JsonObject | undefined => {
    let node: JsonObject | undefined = start;
    for (const key of path) {
      const s: JsonObject = resolveRef(schema, node);
      const next: Json | undefined = isObject(s.properties) ? s.properties[key] : undefined;
      if (!isObject(next)) return undefined;
      node = next;
    }
    return node;
  };
  const component = resolveRef(schema, { $ref: '#/definitions/component' });
  // The variables the templates bind, and where they point.
  const VARIABLES: Record<string, JsonObject | undefined> = {
    '.Values': schema,
    $c: component,
    $m: schemaAt(schema, ['migrations']),
    $np: schemaAt(schema, ['networkPolicy']),
    $k: schemaAt(schema, ['keyFiles', 'inline']),
  };

  it.each(TEMPLATES)('%s reads only values the schema describes', (file) => {
    const text = readChart('templates', file);
    const unknown: string[] = [];
    for (const [variable, start] of Object.entries(VARIABLES)) {
      expect(start).toBeDefined();
      const pattern = new RegExp(
        `${variable.replace(/[.$]/g, '\\$&')}((?:\\.[A-Za-z_][A-Za-z0-9_]*)+)`,
        'g',
      );
      for (const match of text.matchAll(pattern)) {
        const path = match[1].slice(1).split('.');
        if (!schemaAt(start!, path)) unknown.push(`${variable}.${path.join('.')}`);
      }
    }
    expect(unknown).toEqual([]);
  });
});

describe('helm chart: configuration', () => {
  const templates = TEMPLATES.map((file) => readChart('templates', file)).join('\n');
  const configMap = readChart('templates', 'configmap.yaml');
  const secret = readChart('templates', 'secret.yaml');
  const CREDENTIALS = ['DATABASE_URL', 'DATABASE_APP_URL', 'REDIS_URL', 'BOOTSTRAP_ADMIN_TOKEN'];

  it('sets every variable of config.schema.ts: in config, by the chart, or from the Secret', () => {
    const configured = Object.keys(values.config as JsonObject);
    const unset = Object.keys(configSchema.shape).filter(
      (name) =>
        !configured.includes(name) &&
        !new RegExp(`\\b${name}\\b`).test(templates.replace(/^\s*#.*$/gm, '')),
    );
    expect(unset).toEqual([]);
    const unknown = configured.filter((name) => !(name in configSchema.shape));
    expect(unknown).toEqual([]);
  });

  it('keeps credentials out of the ConfigMap; they come from the Secret or existingSecret', () => {
    for (const name of CREDENTIALS) {
      expect(configMap).not.toContain(name);
      expect(secret).toContain(`${name}:`);
      expect(Object.keys(values.config as JsonObject)).not.toContain(name);
    }
    expect(configMap).not.toMatch(/\.Values\.(credentials|keyFiles\.inline)/);
    expect(readChart('templates', '_helpers.tpl')).toMatch(/credentials\.existingSecret/);
  });

  it('mounts the key files from a Secret and points the apps at them', () => {
    for (const [variable, file] of [
      ['SECRETS_KEY_FILE', 'secrets.key'],
      ['AUDIT_SIGNING_KEY_FILE', 'audit-signing-key.pem'],
      ['AUDIT_PREVIOUS_PUBLIC_KEYS_FILE', 'audit-previous-public-keys.pem'],
      ['SAML_SP_KEY_FILE', 'saml-sp-key.pem'],
      ['SAML_SP_CERT_FILE', 'saml-sp-cert.pem'],
    ]) {
      expect(configMap).toContain(`${variable}: /etc/control-plane/keys/${file}`);
      expect(readChart('templates', '_helpers.tpl')).toContain(`- key: ${file}`);
      expect(secret).toContain(`${file}:`);
    }
  });

  it('runs migrations in a pre-install,pre-upgrade Job; the apps then start with MIGRATIONS_RUN=false', () => {
    const job = readChart('templates', 'migration-job.yaml');
    expect(job).toContain('kind: Job');
    expect(job).toContain('helm.sh/hook: pre-install,pre-upgrade');
    expect(job).toContain('"node", "dist/libs/core/src/database/migrate.cli.js", "run"');
    expect(configMap).toContain(
      'MIGRATIONS_RUN: {{ ternary "false" "true" .Values.migrations.enabled | quote }}',
    );
    expect(values.migrations).toMatchObject({ enabled: true });
  });

  it('deploys the gateway (apps/gateway) on GATEWAY_PORT', () => {
    expect(existsSync(join(ROOT, 'apps/gateway/src/main.ts'))).toBe(true);
    expect((values.gateway as JsonObject).enabled).toBe(true);
    expect((example.gateway as JsonObject).enabled).toBe(true);
    const template = readChart('templates', 'deployment-gateway.yaml');
    expect(template).toMatch(/^\{\{- if \.Values\.gateway\.enabled \}\}/);
    expect(template).toContain('dist/apps/gateway/src/main.js');
    expect(template).toMatch(/- name: GATEWAY_PORT\n\s+value: \{\{ \$c\.containerPort/);
  });
});

describe('helm chart: Deployments', () => {
  it.each(Object.entries(DEPLOYMENTS))(
    '%s declares probes, resources and the non-root security context',
    (component, file) => {
      const text = readChart('templates', file);
      expect(text).toContain('kind: Deployment');
      expect(text).toContain(`$c := .Values.${component}`);
      // Node flags may come before the entry point (the gateway's young-generation size).
      expect(text).toMatch(
        new RegExp(`command: \\["node", (?:"--[^"]+", )*"dist/apps/${component}/src/main\\.js"\\]`),
      );
      expect(text).toMatch(
        /livenessProbe:\s+\{\{- include "control-plane.httpProbe" \(dict "path" "\/health\/live"/,
      );
      expect(text).toMatch(
        /readinessProbe:\s+\{\{- include "control-plane.httpProbe" \(dict "path" "\/health\/ready"/,
      );
      expect(text).toMatch(/resources:\s+\{\{- toYaml \$c\.resources/);
      expect(text).toMatch(/^ {6}securityContext:\s+\{\{- toYaml \.Values\.podSecurityContext/m);
      expect(text).toMatch(
        /^ {10}securityContext:\s+\{\{- toYaml \.Values\.containerSecurityContext/m,
      );
      expect(text).toContain('include "control-plane.volumeMounts"');
      // Every component has an HPA, a PDB and a Service through the ranges over components.
      for (const shared of ['hpa.yaml', 'pdb.yaml', 'service.yaml'])
        expect(readChart('templates', shared)).toContain('list "api" "worker" "gateway"');
      // The values behind them.
      const c = values[component] as JsonObject;
      expect(c.resources).toMatchObject({
        requests: { cpu: expect.anything(), memory: expect.anything() },
      });
      expect(c.probes).toEqual(
        expect.objectContaining({ liveness: expect.any(Object), readiness: expect.any(Object) }),
      );
    },
  );

  it('has a locked-down security context: non-root, read-only root, no escalation, no capabilities, RuntimeDefault seccomp', () => {
    expect(values.podSecurityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(values.containerSecurityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const helpers = readChart('templates', '_helpers.tpl');
    // Writable places under the read-only root: DATA_DIR and /tmp, both emptyDir by default.
    expect(helpers).toMatch(/- name: data[\s\S]*emptyDir/);
    expect(helpers).toMatch(/- name: tmp\n[\s\S]*emptyDir/);
    expect(helpers).toContain('mountPath: /tmp');
    expect(helpers).toContain('mountPath: {{ .Values.dataDir.path }}');
  });
});

/** Both binaries on the PATH? */
function onPath(binary: string): boolean {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir && existsSync(join(dir, binary)));
}
const TOOLS = ['helm', 'kubeconform'];
const missingTools = TOOLS.filter((binary) => !onPath(binary));
const withTools = missingTools.length ? it.skip : it;
if (missingTools.length)
  process.stderr.write(
    `[deployment] SKIPPED helm lint and helm template | kubeconform: ${missingTools.join(' and ')} not on the PATH\n`,
  );

describe(`helm lint and kubeconform${missingTools.length ? ` (skipped: ${missingTools.join(', ')} not on the PATH)` : ''}`, () => {
  // The chart refuses to render without credentials and key files, so lint supplies stand-ins.
  const required = [
    'credentials.existingSecret=cp-credentials',
    'keyFiles.existingSecret=cp-key-files',
  ].flatMap((value) => ['--set', value]);
  const run = (command: string, args: string[], input?: string) => {
    const result = spawnSync(command, args, { encoding: 'utf8', input, maxBuffer: 64 << 20 });
    return {
      code: result.status,
      output: `${result.stdout}${result.stderr}`,
      stdout: result.stdout,
    };
  };
  // kubeconform downloads schemas unless KUBECONFORM_SCHEMA_LOCATION points at a local copy.
  const schemaLocation = process.env.KUBECONFORM_SCHEMA_LOCATION
    ? ['-schema-location', process.env.KUBECONFORM_SCHEMA_LOCATION]
    : [];

  withTools.each([
    ['values.yaml', []],
    ['values-production.example.yaml', ['-f', join(CHART, 'values-production.example.yaml')]],
    [
      'values.yaml with the gateway, networkPolicy and serviceMonitor on',
      [
        '--set',
        'gateway.enabled=true',
        '--set',
        'networkPolicy.enabled=true',
        '--set',
        'serviceMonitor.enabled=true',
        '--set',
        'api.ingress.enabled=true',
      ],
    ],
  ] as [string, string[]][])(
    '%s: helm lint --strict, helm template | kubeconform -strict',
    (_name, extra) => {
      const lint = run('helm', ['lint', '--strict', CHART, ...required, ...extra]);
      expect({ code: lint.code, output: lint.output }).toMatchObject({ code: 0 });
      const rendered = run('helm', ['template', 'cp', CHART, ...required, ...extra]);
      expect({ code: rendered.code, output: rendered.output }).toMatchObject({ code: 0 });
      const dir = mkdtempSync(join(tmpdir(), 'cp-chart-'));
      try {
        writeFileSync(join(dir, 'rendered.yaml'), rendered.stdout);
        const conform = run('kubeconform', [
          '-strict',
          '-summary',
          '-ignore-missing-schemas', // ServiceMonitor is a CRD
          ...schemaLocation,
          join(dir, 'rendered.yaml'),
        ]);
        expect({ code: conform.code, output: conform.output }).toMatchObject({ code: 0 });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
