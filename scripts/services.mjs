// Makes sure PostgreSQL and Redis answer at the configured URLs before `npm start` / `npm test`.
// Order of attempts for each one that does not answer (README, "Local services"):
//   1. a Docker engine answers          -> `docker compose up -d --wait <service>` (docker-compose.yml)
//   2. server binaries are on this host -> a private instance under .local/, on a free port
//   3. root on Debian/Ubuntu            -> apt-get install, then 2.
//   4. otherwise                        -> stop, naming exactly what to install.
// Idempotent and quick when both already answer. Prints the environment to use (for the caller)
// and records private instances in .local/services.env.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  writeFileSync,
  chmodSync,
  chownSync,
} from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LOCAL = process.env.CP_LOCAL_DIR || join(ROOT, '.local');
const ENV_FILE = join(LOCAL, 'services.env');
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/controlplane';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const log = (message) => process.stderr.write(`[services] ${message}\n`);

/** Reads .local/services.env written by an earlier run (private instances). */
function savedEnv() {
  if (!existsSync(ENV_FILE)) return {};
  return Object.fromEntries(
    readFileSync(ENV_FILE, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

function saveEnv(values) {
  mkdirSync(LOCAL, { recursive: true });
  const merged = { ...savedEnv(), ...values };
  writeFileSync(
    ENV_FILE,
    Object.entries(merged)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
}

function isLocalHost(url) {
  return ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(url).hostname);
}

function portOf(url, fallback) {
  return Number(new URL(url).port || fallback);
}

/** Opens a TCP connection and sends a protocol probe; resolves true when the server answers. */
function answers(url, kind) {
  const { hostname } = new URL(url);
  const port = portOf(url, kind === 'postgres' ? 5432 : 6379);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => {
      if (kind === 'redis') socket.write('PING\r\n');
      // PostgreSQL SSLRequest: any one-byte answer ('S' or 'N') proves a PostgreSQL server.
      else socket.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]));
    });
    socket.once('data', (data) =>
      done(
        kind === 'redis'
          ? data.toString().startsWith('+PONG') || data.toString().startsWith('-NOAUTH')
          : ['S', 'N'].includes(data.toString()[0]),
      ),
    );
  });
}

function commandExists(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function dockerAnswers() {
  return (
    commandExists('docker') &&
    spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0
  );
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** initdb/pg_ctl live outside PATH on Debian (/usr/lib/postgresql/<v>/bin). */
function findPostgresBin() {
  if (commandExists('pg_ctl') && commandExists('initdb')) return '';
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(base, versions[0], 'bin') : undefined;
}

const isRoot = () => process.getuid?.() === 0;

/** PostgreSQL refuses to run as root: run its binaries as the `postgres` user when we are root. */
function runPg(bin, args, options = {}) {
  const command = bin ? join(bin, args[0]) : args[0];
  const argv = isRoot()
    ? ['runuser', '-u', 'postgres', '--', command, ...args.slice(1)]
    : [command, ...args.slice(1)];
  execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], ...options });
}

async function startPrivatePostgres(bin, configuredUrl) {
  const dataDir = join(LOCAL, 'pg');
  const saved = savedEnv();
  const port = saved.CP_PRIVATE_PG_PORT ? Number(saved.CP_PRIVATE_PG_PORT) : await freePort();
  mkdirSync(LOCAL, { recursive: true });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true });
    if (isRoot()) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dataDir, uid, gid);
      chmodSync(LOCAL, 0o755);
    }
    log(`initialising a private PostgreSQL in ${dataDir}`);
    runPg(bin, ['initdb', '-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  }
  log(`starting the private PostgreSQL on port ${port}`);
  runPg(bin, [
    'pg_ctl',
    '-D',
    dataDir,
    '-l',
    join(dataDir, 'server.log'),
    '-w',
    '-o',
    `-p ${port} -k /tmp -c listen_addresses=127.0.0.1`,
    'start',
  ]);
  // Keep the database name the configuration asked for; the private server trusts local users.
  const database = new URL(configuredUrl).pathname.slice(1) || 'controlplane';
  const url = `postgres://postgres@127.0.0.1:${port}/${database}`;
  saveEnv({ CP_PRIVATE_PG_PORT: String(port), DATABASE_URL: url });
  return url;
}

async function startPrivateRedis() {
  const dir = join(LOCAL, 'redis');
  mkdirSync(dir, { recursive: true });
  const saved = savedEnv();
  const port = saved.CP_PRIVATE_REDIS_PORT ? Number(saved.CP_PRIVATE_REDIS_PORT) : await freePort();
  log(`starting a private Redis on port ${port} (AOF on, noeviction)`);
  execFileSync(
    'redis-server',
    [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
      '--logfile',
      join(dir, 'redis.log'),
      '--pidfile',
      join(dir, 'redis.pid'),
    ],
    { stdio: 'inherit' },
  );
  const url = `redis://127.0.0.1:${port}`;
  saveEnv({ CP_PRIVATE_REDIS_PORT: String(port), REDIS_URL: url });
  return url;
}

function aptInstall(packages) {
  if (!isRoot() || !existsSync('/etc/debian_version') || !commandExists('apt-get')) return false;
  log(`installing ${packages.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
  return (
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
      stdio: 'inherit',
      env,
    }).status === 0
  );
}

async function waitFor(url, kind, seconds = 30) {
  for (let i = 0; i < seconds * 4; i += 1) {
    if (await answers(url, kind)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function ensure(kind, configuredUrl) {
  if (await answers(configuredUrl, kind)) return configuredUrl;
  const name = kind === 'postgres' ? 'PostgreSQL' : 'Redis';
  if (!isLocalHost(configuredUrl)) {
    throw new Error(
      `${name} does not answer at ${kind === 'postgres' ? 'DATABASE_URL' : 'REDIS_URL'} (${new URL(configuredUrl).host}); it is not on this machine, so start it there.`,
    );
  }
  const privateUrl = savedEnv()[kind === 'postgres' ? 'DATABASE_URL' : 'REDIS_URL'];
  if (privateUrl && privateUrl !== configuredUrl && (await answers(privateUrl, kind)))
    return privateUrl;
  log(`${name} does not answer at ${new URL(configuredUrl).host}`);
  if (dockerAnswers()) {
    log(`starting ${name} with docker compose`);
    const service = kind === 'postgres' ? 'postgres' : 'redis';
    if (
      spawnSync('docker', ['compose', 'up', '-d', '--wait', service], {
        cwd: ROOT,
        stdio: 'inherit',
      }).status === 0
    ) {
      const url = kind === 'postgres' ? DEFAULT_DATABASE_URL : DEFAULT_REDIS_URL;
      if (await waitFor(url, kind)) return url;
    }
  }
  if (kind === 'postgres') {
    let bin = findPostgresBin();
    if (bin === undefined && aptInstall(['postgresql'])) bin = findPostgresBin();
    if (bin !== undefined) {
      const url = await startPrivatePostgres(bin, configuredUrl);
      if (await waitFor(url, kind)) {
        log(`using the private PostgreSQL: DATABASE_URL=${maskUrl(url)}`);
        return url;
      }
    }
    throw new Error(
      'PostgreSQL is not running and could not be started. Install PostgreSQL 15 (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15), or Docker, or set DATABASE_URL to a running server.',
    );
  }
  if (!commandExists('redis-server')) aptInstall(['redis-server']);
  if (commandExists('redis-server')) {
    const url = await startPrivateRedis();
    if (await waitFor(url, kind)) {
      log(`using the private Redis: REDIS_URL=${url}`);
      return url;
    }
  }
  throw new Error(
    'Redis is not running and could not be started. Install Redis 7 (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis), or Docker, or set REDIS_URL to a running server.',
  );
}

/**
 * Returns the environment (DATABASE_URL, REDIS_URL) at which both services answer.
 * An explicitly configured URL wins over a private instance recorded earlier.
 */
export async function ensureServices(env = process.env) {
  const saved = savedEnv();
  const databaseUrl = env.DATABASE_URL || saved.DATABASE_URL || DEFAULT_DATABASE_URL;
  const redisUrl = env.REDIS_URL || saved.REDIS_URL || DEFAULT_REDIS_URL;
  for (const [name, value] of [
    ['DATABASE_URL', databaseUrl],
    ['REDIS_URL', redisUrl],
  ]) {
    try {
      new URL(value);
    } catch {
      throw new Error(`${name} is not a valid URL (is a % in the password not encoded as %25?)`);
    }
  }
  const [DATABASE_URL, REDIS_URL] = [
    await ensure('postgres', databaseUrl),
    await ensure('redis', redisUrl),
  ];
  return { DATABASE_URL, REDIS_URL };
}

/** Debian's `chromium` package puts the browser here; CHROMIUM_PATH points elsewhere. */
const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/**
 * Makes sure the headless Chromium of the console's browser tests exists (they drive it with
 * playwright-core, which never downloads a browser): CHROMIUM_PATH or /usr/bin/chromium, else
 * Debian's `chromium` package through apt-get when root on Debian/Ubuntu. Returns the path;
 * throws, naming what to install, when there is none (the browser tests then fail, saying so).
 */
export function ensureChromium(env = process.env) {
  const path = env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  if (existsSync(path)) return path;
  if (!env.CHROMIUM_PATH) {
    log(`no Chromium at ${path} (the console's browser tests need it)`);
    if (aptInstall(['chromium']) && existsSync(path)) {
      log(`installed Chromium: ${path}`);
      return path;
    }
  }
  throw new Error(
    `Chromium is not at ${path} and could not be installed. Install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary.`,
  );
}

/** Stops the private instances this script started (`npm run services:up -- --stop`). */
export function stopPrivateServices() {
  const saved = savedEnv();
  if (saved.CP_PRIVATE_PG_PORT && existsSync(join(LOCAL, 'pg', 'postmaster.pid'))) {
    runPg(findPostgresBin() ?? '', ['pg_ctl', '-D', join(LOCAL, 'pg'), '-m', 'fast', '-w', 'stop']);
    log('stopped the private PostgreSQL');
  }
  if (saved.CP_PRIVATE_REDIS_PORT && existsSync(join(LOCAL, 'redis', 'redis.pid'))) {
    const pid = Number(readFileSync(join(LOCAL, 'redis', 'redis.pid'), 'utf8'));
    // The pid file may be stale: only signal a process that is our redis-server.
    const cmdline = existsSync(`/proc/${pid}/cmdline`)
      ? readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      : '';
    if (cmdline.includes('redis-server') && cmdline.includes(saved.CP_PRIVATE_REDIS_PORT)) {
      process.kill(pid, 'SIGTERM');
      log('stopped the private Redis');
    }
  }
}

/** A URL fit for printing: its password replaced. */
export function maskUrl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--stop')) {
  stopPrivateServices();
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureServices()
    .then((env) => {
      for (const [key, value] of Object.entries(env))
        process.stdout.write(`${key}=${maskUrl(value)}\n`);
    })
    .catch((error) => {
      log(error.message);
      process.exit(1);
    });
}
