/**
 * What the data-plane gateway adds to an inference request (issue 9): the same chat completion
 * sent straight to a model-server replica and through the gateway with a tenant key, in
 * alternating rounds of one run (direct, bare proxy, gateway, direct, …) so that drift in the
 * machine's load hits every side alike. The bare proxy (a `node:http` forwarder, nothing else)
 * is the floor any Node.js proxy pays on this machine: the part of the gateway's figures above it
 * is the gateway's own.
 *
 * Set-up: the api and the worker run in this process (as in the e2e tests); the worker's local
 * provider starts a real `apps/model-server` replica of a tenant's dedicated `llama-3-8b-local`
 * endpoint. The gateway runs in a process of its own, started from `apps/gateway/src/main.ts`
 * (OpenTelemetry, pino, the production boot and V8 flags), compiled file by file without ts-node
 * (scripts/transpile-register.cjs: ts-node's REPL would load node:domain, a per-callback cost the
 * deployed gateway never pays), because a gateway sharing an event loop with the load generator
 * would be charged for autocannon's work; the replica is in its own process too.
 *
 * Three loads:
 * - latency: 1 connection, answers the replica computes in microseconds (non-streamed
 *   `max_tokens: 1`, streamed `max_tokens: 4`), so a request's time is the stack's own and not
 *   queueing behind others; the targets are p50 ≤ 1.5 ms and p99 ≤ 5 ms added (gateway − direct);
 * - throughput: the same answers on BENCH_CONNECTIONS (16) connections, saturating. The CPU-bound
 *   worst case: the replica answers in ~0.1 ms of CPU, less than the gateway's own work per
 *   request, and all sides share the machine's cores, so gateway/direct here measures the
 *   gateway's CPU per request against the replica's. Reported against 0.8, not judged;
 * - decode: the replica emulating decode time (LOCAL_MODEL_TOKEN_LATENCY_MS, BENCH_DECODE_TOKEN_MS
 *   = 10 ms per token, about what one stream of an 8B model gets on a GPU) for 16-token answers,
 *   non-streamed and streamed, on BENCH_DECODE_CONNECTIONS (64) connections: a load like the
 *   gateway's real one, where a replica spends most of a request decoding. Target gateway/direct
 *   req/s ≥ 0.8 (added latencies shown too). The worker is restarted between the loads so that
 *   its local provider starts the replica with the other decode time.
 * Latencies are autocannon's per-response times in fractional ms (its own percentiles are whole
 * ms), pooled over the rounds; req/s is a round's responses over the time to its last one. CPU per request of the gateway and replica processes comes from
 * /proc (Linux), as do the time their event-loop threads waited for a free core (run-queue wait)
 * and the share of the machine busy during a round (other jobs included: a busy machine
 * stretches every process's tail). Any non-2xx answer (e.g. a 429 from quota), socket
 * error or round in which a side answered nothing (a stall) fails the bench (exit 1) after the
 * figures are printed.
 *
 * Knobs: BENCH_ROUNDS (5), BENCH_SECONDS (3), BENCH_CONNECTIONS (16), BENCH_DECODE_CONNECTIONS
 * (64), BENCH_DECODE_TOKEN_MS (10), BENCH_LOAD (`latency`, `throughput` or `decode` only),
 * BENCH_VARIANT (a part of a variant's name, e.g. `non-streamed`).
 * `BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/gateway-prof"` profiles the gateway
 * (the profile is written when it exits at the end).
 */
import '../apps/api/src/instrument';
import {
  bearer,
  createTenantKey,
  createTestApp,
  deployableTenant,
  expectEventually,
  platformAdminKey,
  TestApp,
} from '@app/testing';
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, AddressInfo } from 'node:net';
import { Client } from 'pg';
import { API_HTTP_OPTIONS, AppModule } from '../apps/api/src/app.module';
import { WORKER_HTTP_OPTIONS, WorkerModule } from '../apps/worker/src/worker.module';

const MODEL = 'llama-3-8b-local';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const DECODE_CONNECTIONS = Number(process.env.BENCH_DECODE_CONNECTIONS ?? 64);
const DECODE_TOKEN_MS = Number(process.env.BENCH_DECODE_TOKEN_MS ?? 10);
const TARGETS = { addedP50Ms: 1.5, addedP99Ms: 5, throughputRatio: 0.8 };

interface Variant {
  name: string;
  body: Record<string, unknown>;
}

/** Answers the replica computes in microseconds: what the gateway adds is all there is to see. */
const TINY_VARIANTS: Variant[] = [
  {
    name: 'chat, non-streamed, max_tokens 1',
    body: { model: MODEL, messages: [{ role: 'user', content: 'Say a word.' }], max_tokens: 1 },
  },
  {
    name: 'chat, streamed, max_tokens 4',
    body: {
      model: MODEL,
      messages: [{ role: 'user', content: 'Say a word.' }],
      max_tokens: 4,
      stream: true,
    },
  },
];

/** Sixteen tokens of a longer answer (the seed makes the small model speak past them). */
const DECODE_BODY = {
  model: MODEL,
  messages: [{ role: 'user', content: 'A long speech, please.' }],
  max_tokens: 16,
  seed: 5,
};
const DECODE_VARIANTS: Variant[] = [
  { name: 'chat, non-streamed, 16 tokens', body: DECODE_BODY },
  { name: 'chat, streamed, 16 tokens', body: { ...DECODE_BODY, stream: true } },
];

/**
 * One load: how many connections, how fast the replica decodes, and which target it is judged
 * on (`worst-case` loads report the throughput ratio against the target without being judged).
 */
interface Load {
  name: 'latency' | 'throughput' | 'decode';
  connections: number;
  tokenLatencyMs: number;
  judge: 'latency' | 'throughput' | 'worst-case';
  variants: Variant[];
}

const LOADS: Load[] = [
  { name: 'latency', connections: 1, tokenLatencyMs: 0, judge: 'latency', variants: TINY_VARIANTS },
  {
    name: 'throughput',
    connections: CONNECTIONS,
    tokenLatencyMs: 0,
    judge: 'worst-case',
    variants: TINY_VARIANTS,
  },
  {
    name: 'decode',
    connections: DECODE_CONNECTIONS,
    tokenLatencyMs: DECODE_TOKEN_MS,
    judge: 'throughput',
    variants: DECODE_VARIANTS,
  },
];

/** Where the requests go, and the process that answers them there. */
interface Side {
  name: string;
  url: string;
  /** The process whose CPU time this side adds (the replica's is counted for every side). */
  pid: number;
}

/** One side's figures for one round. */
interface Round {
  latenciesMs: number[];
  requestsPerSecond: number;
  completed: number;
  non2xx: number;
  errors: number;
  /** CPU µs per request of the side's own process, the replica process and this (client) one. */
  cpuUsPerRequest: { own: number; replica: number; client: number };
  /**
   * µs per request that the main thread (the event loop) of the side's own process and of the
   * replica spent runnable but waiting for a core (Linux schedstat): time the machine, not the
   * code, added to requests.
   */
  waitUsPerRequest: { own: number; replica: number };
  /** Share of the machine's CPUs busy during the round (everything, other jobs included). */
  machineBusy: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (n: number) => n.toFixed(2);

/** utime + stime of a process in µs (Linux /proc; clock ticks of 10 ms). */
function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * Time the main thread of a process spent waiting on a run queue (runnable, no core free), µs
 * (Linux /proc/<pid>/schedstat, second field, ns).
 */
function runQueueWaitUs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1000;
}

/** Busy and total jiffies of the whole machine. */
function machineCpu(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - cpu[3] - cpu[4], total };
}

/** One autocannon run of `body` against a side with `connections`, timed and CPU-accounted. */
async function round(
  side: Side,
  replicaPid: number,
  body: string,
  headers: Record<string, string>,
  connections: number,
  seconds: number,
): Promise<Round> {
  const latenciesMs: number[] = [];
  const before = {
    own: processCpuUs(side.pid),
    replica: processCpuUs(replicaPid),
    ownWait: runQueueWaitUs(side.pid),
    replicaWait: runQueueWaitUs(replicaPid),
    client: process.cpuUsage(),
    machine: machineCpu(),
  };
  let responses = 0;
  let lastResponseAt = 0;
  const startedAt = performance.now();
  const instance = autocannon({
    url: side.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    duration: seconds,
    // Without a callback autocannon returns its run tracker, an EventEmitter that is thenable.
  }) as unknown as Promise<autocannon.Result> & EventEmitter;
  // autocannon's own percentiles are whole milliseconds: keep each response's time instead.
  instance.on('response', (_client: unknown, status: number, _bytes: number, timeMs: number) => {
    responses += 1;
    lastResponseAt = performance.now();
    if (status >= 200 && status < 300) latenciesMs.push(timeMs);
  });
  const result = await instance;
  const machine = machineCpu();
  const client = process.cpuUsage(before.client);
  const count = Math.max(1, result.requests.total);
  return {
    latenciesMs,
    // Over the time up to the last response, not the round's length: when every connection
    // waits ~180 ms (the decode load), answers come in waves, and a 3 s round ends with 16 or 17
    // whole waves: responses / 3 s would jump 6 % on a 1 % change of latency.
    requestsPerSecond: responses / (Math.max(1, lastResponseAt - startedAt) / 1000),
    completed: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuUsPerRequest: {
      own: side.pid === replicaPid ? 0 : (processCpuUs(side.pid) - before.own) / count,
      replica: (processCpuUs(replicaPid) - before.replica) / count,
      client: (client.user + client.system) / count,
    },
    waitUsPerRequest: {
      own: side.pid === replicaPid ? 0 : (runQueueWaitUs(side.pid) - before.ownWait) / count,
      replica: (runQueueWaitUs(replicaPid) - before.replicaWait) / count,
    },
    machineBusy:
      (machine.busy - before.machine.busy) / Math.max(1, machine.total - before.machine.total),
  };
}

/** Rounds alternating over the sides (direct first each time), after a warm-up of each. */
async function compareSides(
  variant: Variant,
  connections: number,
  sides: Side[],
  replicaPid: number,
  headers: Record<string, string>,
): Promise<Round[][]> {
  const body = JSON.stringify(variant.body);
  for (const side of sides) await round(side, replicaPid, body, headers, connections, 2);
  const runs = sides.map(() => [] as Round[]);
  for (let i = 0; i < ROUNDS; i += 1) {
    for (const [s, side] of sides.entries()) {
      runs[s].push(await round(side, replicaPid, body, headers, connections, SECONDS));
    }
  }
  return runs;
}

interface Verdicts {
  failures: string[];
  misses: string[];
  /** Figures of the CPU-bound worst case, reported beside the judged ones. */
  worstCase: string[];
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

/**
 * Prints each side's figures and judges the gateway (last side) against direct (first side);
 * the sides between are shown for reference (added latency over direct, not judged).
 */
function report(
  title: string,
  sides: Side[],
  runs: Round[][],
  judge: Load['judge'],
  verdicts: Verdicts,
): void {
  const pooled = runs.map((rounds) => sorted(rounds.flatMap((r) => r.latenciesMs)));
  const rows = sides.map((side, s) => ({
    side: side.name,
    'p50 ms': ms(percentile(pooled[s], 50)),
    'p99 ms': ms(percentile(pooled[s], 99)),
    'p50 ms per round': runs[s].map((r) => ms(percentile(sorted(r.latenciesMs), 50))).join(' '),
    'p99 ms per round': runs[s].map((r) => ms(percentile(sorted(r.latenciesMs), 99))).join(' '),
    'req/s (median)': Math.round(median(runs[s].map((r) => r.requestsPerSecond))),
    'req/s per round': runs[s].map((r) => Math.round(r.requestsPerSecond)).join(' '),
    'cpu µs/req own|replica|client': [
      median(runs[s].map((r) => r.cpuUsPerRequest.own)),
      median(runs[s].map((r) => r.cpuUsPerRequest.replica)),
      median(runs[s].map((r) => r.cpuUsPerRequest.client)),
    ]
      .map((n) => Math.round(n))
      .join(' | '),
    'run-queue wait µs/req own|replica': [
      median(runs[s].map((r) => r.waitUsPerRequest.own)),
      median(runs[s].map((r) => r.waitUsPerRequest.replica)),
    ]
      .map((n) => Math.round(n))
      .join(' | '),
    'machine busy': `${Math.round(median(runs[s].map((r) => r.machineBusy)) * 100)}%`,
    'non-2xx': runs[s].reduce((sum, r) => sum + r.non2xx, 0),
    errors: runs[s].reduce((sum, r) => sum + r.errors, 0),
  }));
  console.log(`\n${title} (${ROUNDS} alternating rounds of ${SECONDS} s, latencies pooled)`);
  console.table(rows);
  const check = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const last = sides.length - 1;
  for (let s = 1; s < sides.length; s += 1) {
    const judged = s === last;
    const addedP50 = percentile(pooled[s], 50) - percentile(pooled[0], 50);
    const addedP99 = percentile(pooled[s], 99) - percentile(pooled[0], 99);
    // Paired by round (each round of this side against the direct round just before it).
    const pairedP50 = runs[s].map(
      (r, i) =>
        percentile(sorted(r.latenciesMs), 50) - percentile(sorted(runs[0][i].latenciesMs), 50),
    );
    const ratio = rows[s]['req/s (median)'] / rows[0]['req/s (median)'];
    const lines = [
      [
        `added p50: ${ms(addedP50)} ms (per round: ${pairedP50.map(ms).join(' ')})`,
        `≤ ${TARGETS.addedP50Ms} ms`,
        addedP50 <= TARGETS.addedP50Ms,
        judged && judge === 'latency',
      ],
      [
        `added p99: ${ms(addedP99)} ms`,
        `≤ ${TARGETS.addedP99Ms} ms`,
        addedP99 <= TARGETS.addedP99Ms,
        judged && judge === 'latency',
      ],
      [
        `throughput ratio to direct: ${ratio.toFixed(2)}`,
        `≥ ${TARGETS.throughputRatio}`,
        ratio >= TARGETS.throughputRatio,
        judged && judge === 'throughput',
      ],
    ] as const;
    console.log(`  ${sides[s].name} vs ${sides[0].name}:`);
    for (const [figure, target, ok, isJudged] of lines) {
      const worstCase = judged && judge === 'worst-case' && figure.startsWith('throughput');
      const verdict = isJudged
        ? check(ok)
        : worstCase
          ? `${ok ? 'above' : 'BELOW'} (CPU-bound worst case: reported, not judged)`
          : '(not judged here)';
      console.log(`    ${figure.padEnd(56)} target ${target.padEnd(9)} ${verdict}`);
      if (isJudged && !ok) verdicts.misses.push(`${title}: ${figure} (target ${target})`);
      if (worstCase) verdicts.worstCase.push(`${title}: ${figure}`);
    }
  }
  for (const [s, rounds] of runs.entries()) {
    const bad = rounds.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
    if (bad > 0)
      verdicts.failures.push(`${title}: ${bad} non-2xx answers or errors (${sides[s].name})`);
    const stalled = rounds.filter((r) => r.completed === 0).length;
    if (stalled > 0) {
      verdicts.failures.push(
        `${title}: ${sides[s].name} answered nothing in ${stalled} of ${rounds.length} rounds (stalled)`,
      );
    }
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The gateway's V8 flags in production (helm's deployment-gateway.yaml, the Dockerfile). */
const GATEWAY_V8_FLAGS = ['--max-semi-space-size=64'];

/** The gateway as in production (`apps/gateway/src/main.ts`), in its own process. */
async function startGatewayProcess(): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const nodeArgs = [
    ...GATEWAY_V8_FLAGS,
    ...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
  ];
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      // Not ts-node: its REPL module loads node:domain, which taxes every callback (see there).
      '-r',
      './scripts/transpile-register.cjs',
      '-r',
      'tsconfig-paths/register',
      'apps/gateway/src/main.ts',
    ],
    {
      env: { ...process.env, GATEWAY_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the gateway did not start in 120 s')),
      120_000,
    );
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}) at start`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.removeAllListeners('exit');
  return { child, port };
}

/**
 * The floor for any Node.js proxy on this machine: a bare `node:http` server that buffers the
 * request body and forwards it over a keep-alive agent, piping the answer back (no auth, no
 * JSON parsing, no quota, no framework), in its own process like the gateway.
 */
const BARE_PROXY = `
const http = require('node:http');
const upstream = new URL(process.env.UPSTREAM);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const up = http.request({ host: upstream.hostname, port: upstream.port, path: req.url,
      method: req.method, agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (answer) => {
        res.writeHead(answer.statusCode, { 'content-type': answer.headers['content-type'] });
        answer.pipe(res);
      });
    up.on('error', () => { res.statusCode = 502; res.end(); });
    up.end(body);
  });
}).listen(0, '127.0.0.1', function () {
  process.stdout.write(JSON.stringify({ port: this.address().port }) + '\\n');
});`;

async function startBareProxy(upstream: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', BARE_PROXY], {
    env: { PATH: process.env.PATH ?? '', UPSTREAM: upstream },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bare proxy exited (${code})`)));
    child.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()).port));
  });
  child.removeAllListeners('exit');
  return { child, port };
}

/** Stops a child process of this bench and waits for it to exit. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The pid of the model-server process started for `endpointId` (labelled `--endpoint-id`). */
function replicaPid(endpointId: string): number {
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('--endpoint-id');
      if (at >= 0 && args[at + 1] === endpointId) return Number(entry);
    } catch {
      // The process ended meanwhile.
    }
  }
  throw new Error(`no model-server process for endpoint ${endpointId}`);
}

/** A tenant with an active contract (quota far out of reach), an endpoint and a key. */
async function tenantServing(api: TestApp): Promise<{
  id: string;
  key: string;
  endpointId: string;
}> {
  const admin = bearer(platformAdminKey());
  // Lines the gateway checks on every request, with limits no bench can reach: a hard term
  // line on total tokens and a soft daily line on requests.
  const id = await deployableTenant(api, {
    activate: false,
    lines: [
      { metric: 'total_tokens', limit: Number.MAX_SAFE_INTEGER, enforcement: 'hard' },
      { metric: 'requests', limit: Number.MAX_SAFE_INTEGER, period: 'day', enforcement: 'soft' },
    ],
  });
  const created = await api.http
    .post(`/v1/tenants/${id}/endpoints`)
    .set(admin)
    .send({ name: 'llama', model: MODEL, region: 'eu-west-1', minReplicas: 1, maxReplicas: 1 });
  if (created.status !== 201)
    throw new Error(`creating the endpoint: ${created.status} ${JSON.stringify(created.body)}`);
  const key = await createTenantKey(api, id, [], ['inference']);
  return { id, key: key.key, endpointId: created.body.id as string };
}

/** The endpoint's ready replica once it is running (another than `previous`, when given). */
async function readyReplica(
  api: TestApp,
  superuser: Client,
  tenant: { id: string; endpointId: string },
  previous?: string,
): Promise<string> {
  const admin = bearer(platformAdminKey());
  return expectEventually(
    async () => {
      const res = await api.http
        .get(`/v1/tenants/${tenant.id}/endpoints/${tenant.endpointId}`)
        .set(admin);
      if (res.body.status !== 'running') throw new Error(`endpoint is ${res.body.status}`);
      const { rows } = await superuser.query(`SELECT observed FROM endpoints WHERE id = $1`, [
        tenant.endpointId,
      ]);
      const url = rows[0]?.observed?.replicas?.find((r: { ready: boolean }) => r.ready)?.url;
      if (!url || url === previous) throw new Error('no (new) ready replica yet');
      return url as string;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/**
 * The worker (in this process), whose local provider starts the endpoint's replica emulating
 * `tokenLatencyMs` of decode time per token (0: as fast as the CPU generates).
 */
function startWorker(tokenLatencyMs: number): Promise<TestApp> {
  return createTestApp(
    (config, options) => WorkerModule.register(config, options),
    WORKER_HTTP_OPTIONS,
    {
      env: {
        ENDPOINT_RECONCILE_INTERVAL_MS: '5000',
        LOCAL_MODEL_TOKEN_LATENCY_MS: String(tokenLatencyMs),
      },
    },
  );
}

/** Sends `body` to `url` until it answers 200 (the gateway's route cache may still be stale). */
async function probe(url: string, headers: Record<string, string>, body: unknown): Promise<void> {
  await expectEventually(
    async () => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
    },
    { timeoutMs: 15_000, intervalMs: 250 },
  );
}

async function main(): Promise<void> {
  const api = await createTestApp(
    (config, options) => AppModule.register(config, options),
    API_HTTP_OPTIONS,
  );
  const superuser = new Client({ connectionString: api.config.DATABASE_URL });
  await superuser.connect();
  let worker: TestApp | undefined;
  let gateway: ChildProcess | undefined;
  let bare: ChildProcess | undefined;
  const verdicts: Verdicts = { failures: [], misses: [], worstCase: [] };
  const loads = LOADS.filter((load) => (process.env.BENCH_LOAD ?? load.name) === load.name);
  try {
    const tenant = await tenantServing(api);
    const started = await startGatewayProcess();
    gateway = started.child;
    const path = '/v1/chat/completions';
    // The same request, with the tenant key, to every side (the replica ignores the header).
    const headers = bearer(tenant.key);
    let replicaUrl: string | undefined;
    // One replica per decode speed: the worker that starts it is restarted between them.
    for (const tokenLatencyMs of [...new Set(loads.map((load) => load.tokenLatencyMs))]) {
      await worker?.close();
      worker = await startWorker(tokenLatencyMs);
      replicaUrl = await readyReplica(api, superuser, tenant, replicaUrl);
      const replica = replicaPid(tenant.endpointId);
      await stop(bare);
      const proxy = await startBareProxy(replicaUrl);
      bare = proxy.child;
      const sides: Side[] = [
        { name: 'direct (replica)', url: `${replicaUrl}${path}`, pid: replica },
        { name: 'bare Node proxy', url: `http://127.0.0.1:${proxy.port}${path}`, pid: bare.pid! },
        { name: 'gateway', url: `http://127.0.0.1:${started.port}${path}`, pid: gateway.pid! },
      ];
      console.log(`\nreplica decoding ${tokenLatencyMs} ms per token:`);
      for (const side of sides) {
        await probe(side.url, headers, TINY_VARIANTS[0].body);
        console.log(`${side.name.padEnd(18)} ${side.url} (pid ${side.pid})`);
      }
      const phase = loads.filter((load) => load.tokenLatencyMs === tokenLatencyMs);
      const variants = [...new Set(phase.flatMap((load) => load.variants))].filter((v) =>
        v.name.includes(process.env.BENCH_VARIANT ?? ''),
      );
      for (const variant of variants) {
        for (const load of phase.filter((l) => l.variants.includes(variant))) {
          const runs = await compareSides(variant, load.connections, sides, replica, headers);
          const decode = tokenLatencyMs > 0 ? `, decode ${tokenLatencyMs} ms/token` : '';
          const title = `${variant.name}, ${load.connections} connection(s)${decode}`;
          report(title, sides, runs, load.judge, verdicts);
        }
      }
    }
  } finally {
    await stop(bare);
    await stop(gateway);
    await superuser.end();
    await worker?.close();
    await api.close();
  }
  console.log(
    `\nTargets: ${verdicts.misses.length === 0 ? 'all met' : `${verdicts.misses.length} missed`}`,
  );
  for (const miss of verdicts.misses) console.log(`  missed: ${miss}`);
  for (const figure of verdicts.worstCase) console.log(`  worst case (reported): ${figure}`);
  if (verdicts.failures.length > 0) {
    for (const failure of verdicts.failures) console.error(`FAILED: ${failure}`);
    process.exit(1);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
