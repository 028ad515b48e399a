// `npm start`: local services if needed, build, then the api and the worker together (each runs
// pending migrations at start under an advisory lock). Ctrl-C stops both gracefully.
import { spawn, spawnSync } from 'node:child_process';
import { ensureServices } from './services.mjs';

const services = await ensureServices().catch((error) => {
  process.stderr.write(`[start] ${error.message}\n`);
  process.exit(1);
});
process.stderr.write('[start] building\n');
if (spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' }).status !== 0)
  process.exit(1);

const env = { ...process.env, ...services };
const port = Number(env.PORT || 3000);
const children = ['api', 'worker'].map((app) =>
  spawn(process.execPath, [`dist/apps/${app}/src/main.js`], { stdio: 'inherit', env }),
);
let stopping = false;
const stop = (signal) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
};
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
for (const child of children) {
  child.on('exit', (code) => {
    if (!stopping) {
      process.stderr.write(`[start] a process exited (code ${code}); stopping the others\n`);
      stop('SIGTERM');
    }
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null))
      process.exit(code ?? 0);
  });
}

// Tell the person where to go once the api answers.
const deadline = Date.now() + 60_000;
while (Date.now() < deadline && !stopping) {
  const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
    (r) => r.ok,
    () => false,
  );
  if (ready) {
    process.stderr.write(
      `\n[start] ready: API docs at http://localhost:${port}/docs (Ctrl-C to stop)\n\n`,
    );
    break;
  }
  await new Promise((r) => setTimeout(r, 500));
}
