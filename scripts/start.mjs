// `npm start`: local services if needed, build, then the api, the worker and the gateway together
// (each runs pending migrations at start under an advisory lock). Ctrl-C or SIGTERM stops them
// gracefully; the exit code is non-zero when any process failed.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { ensureServices } from './services.mjs';

const fail = (message) => {
  process.stderr.write(`[start] ${message}\n`);
  process.exit(1);
};

const services = await ensureServices().catch((error) => fail(error.message));
const env = { ...process.env, ...services };
const ports = {
  api: Number(env.PORT || 3000),
  worker: Number(env.WORKER_PORT || 3002),
  gateway: Number(env.GATEWAY_PORT || 3001),
};

/** Refuse early, and clearly, when another process (another `npm start`?) holds a port. */
for (const [app, port] of Object.entries(ports)) {
  const free = await new Promise((resolve) => {
    const probe = net.createServer().once('error', () => resolve(false));
    probe.listen(port, '0.0.0.0', () => probe.close(() => resolve(true)));
  });
  if (!free)
    fail(
      `port ${port} (${app}) is in use; stop what holds it or set ${{ api: 'PORT', worker: 'WORKER_PORT', gateway: 'GATEWAY_PORT' }[app]}`,
    );
}

process.stderr.write('[start] building\n');
if (spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' }).status !== 0)
  fail('build failed');

/**
 * Node flags per app, as deployed (the Dockerfile, helm's deployment-gateway.yaml and the gateway
 * bench say the same; test/deployment checks they agree): the gateway's larger young generation
 * (see the README's Gateway section).
 */
const NODE_FLAGS = { api: [], worker: [], gateway: ['--max-semi-space-size=64'] };

const children = Object.keys(ports).map((app) =>
  spawn(process.execPath, [...NODE_FLAGS[app], `dist/apps/${app}/src/main.js`], {
    stdio: 'inherit',
    env,
  }),
);
let stopping = false;
let failed = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('SIGHUP', stop);
// npm does not always forward signals: when our parent goes away, stop the apps with it.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 1000).unref();

for (const child of children) {
  child.on('exit', (code, signal) => {
    if (!stopping) {
      failed = true;
      process.stderr.write(
        `[start] a process exited (${signal ?? `code ${code}`}); stopping the others\n`,
      );
      stop();
    } else if (code !== 0 && code !== null) {
      failed = true;
    }
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null))
      process.exit(failed ? 1 : 0);
  });
}

// Tell the person where to go once this api answers (and say so if it never does).
const deadline = Date.now() + 60_000;
let ready = false;
while (!ready && Date.now() < deadline && !stopping) {
  ready = await fetch(`http://127.0.0.1:${ports.api}/health/ready`).then(
    (r) => r.ok,
    () => false,
  );
  if (!ready) await new Promise((r) => setTimeout(r, 500));
}
if (ready)
  process.stderr.write(
    `\n[start] ready: API docs at http://localhost:${ports.api}/docs (Ctrl-C to stop)\n\n`,
  );
else if (!stopping)
  process.stderr.write(
    `[start] the api is not ready after 60 s; see the log above and /health/ready\n`,
  );
