import { AppConfig, InjectConfig } from '@app/core';
import { modelServerCommand } from '@app/language-model';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import {
  DeploymentSpec,
  EndpointProvider,
  ObservedDeployment,
  ObservedReplica,
  ProviderError,
} from '../endpoint-provider';

/** How long a new replica may take to print its listening line, ms. */
const START_TIMEOUT_MS = 60_000;
/** How long a health check may take, ms. */
const HEALTH_TIMEOUT_MS = 2_000;
/** How long a stopping replica gets to finish its requests before SIGKILL, ms. */
const STOP_GRACE_MS = 5_000;

interface LocalReplica {
  id: string;
  tenantId: string;
  endpointId: string;
  generation: number;
  pid: number;
  port: number;
  startedAt: string;
  /** Null for a replica adopted from an earlier worker (not our child). */
  child: ChildProcess | null;
  exited: boolean;
  /** We asked it to stop (its exit is not news to the reconciler). */
  stopping: boolean;
  /** The end of its stderr, for `detail` when it dies. */
  stderrTail: string;
}

/** The `handle` the reconciler persists for a local replica. */
interface LocalHandle {
  pid: number;
  port: number;
}

/**
 * The `local` provider (issue 8): each replica is a real `apps/model-server` process on a free
 * loopback port, started by this worker. Replicas are this worker's children: a graceful stop of
 * the worker stops them (the next worker starts them again); a worker killed outright leaves
 * them running, and the next one adopts them from the persisted handles (pid and port, confirmed
 * by the replica id its `/health` answers), so nothing is provisioned twice. One machine only:
 * with several worker replicas on different hosts use the `kubernetes` provider.
 */
@Injectable()
export class LocalProvider implements EndpointProvider, OnModuleDestroy {
  readonly name = 'local';
  private readonly logger = new Logger('LocalProvider');
  private readonly replicas = new Map<string, LocalReplica>();
  private readonly exitListeners: ((tenantId: string, endpointId: string) => void)[] = [];
  /** Set at shutdown: no replica starts after it (a reconcile may still be running). */
  private closed = false;
  /** Replicas started but not yet listening (stopped with the rest at shutdown). */
  private readonly starting = new Set<ChildProcess>();
  /** Endpoints whose stray processes this worker has looked for (once each). */
  private readonly swept = new Set<string>();

  constructor(@InjectConfig() private readonly config: AppConfig) {}

  /** Called when one of our replicas exits on its own (the reconciler reacts at once). */
  onReplicaExit(listener: (tenantId: string, endpointId: string) => void): void {
    this.exitListeners.push(listener);
  }

  async observe(
    spec: DeploymentSpec,
    previous: ObservedDeployment | null,
  ): Promise<ObservedDeployment> {
    await this.adopt(spec, previous);
    await this.stopStrays(spec.endpointId);
    const replicas = await Promise.all(this.of(spec.endpointId).map((r) => this.probe(r)));
    return { replicas: replicas.filter((r): r is ObservedReplica => r !== undefined), url: null };
  }

  async apply(
    spec: DeploymentSpec,
    previous: ObservedDeployment | null,
  ): Promise<ObservedDeployment> {
    const seen = await this.observe(spec, previous);
    const fresh = seen.replicas.filter((r) => r.generation === spec.generation);
    const stale = seen.replicas.filter((r) => r.generation !== spec.generation);
    // Surplus replicas of the current generation go first, those not ready before ready ones.
    const surplus = [...fresh]
      .sort((a, b) => Number(a.ready) - Number(b.ready))
      .slice(0, Math.max(fresh.length - spec.replicas, 0));
    const removed = surplus.map((r) => r.id);
    await Promise.all(surplus.map((r) => this.stop(r.id)));
    const keeping = fresh.length - surplus.length;
    const running = [...this.replicas.values()].filter((r) => !r.exited).length;
    const missing = Math.max(spec.replicas - keeping, 0);
    if (missing > 0 && running + missing > this.config.LOCAL_PROVIDER_MAX_REPLICAS) {
      throw new ProviderError(
        `the local provider runs at most ${this.config.LOCAL_PROVIDER_MAX_REPLICAS} replicas on this machine (LOCAL_PROVIDER_MAX_REPLICAS)`,
        true,
      );
    }
    for (let i = 0; i < missing; i++) await this.start(spec);
    // A rolling update keeps every old replica until the new generation is fully ready
    // (maxUnavailable 0); scaling to zero removes them at once.
    const readyFresh = fresh.filter((r) => r.ready).length - surplus.filter((r) => r.ready).length;
    if (spec.replicas === 0 || readyFresh >= spec.replicas) {
      removed.push(...stale.map((r) => r.id));
      await Promise.all(stale.map((r) => this.stop(r.id)));
    }
    return { ...(await this.observe(spec, null)), removed };
  }

  async remove(spec: DeploymentSpec, previous: ObservedDeployment | null): Promise<void> {
    await this.adopt(spec, previous);
    this.swept.delete(spec.endpointId);
    await this.stopStrays(spec.endpointId);
    await Promise.all(this.of(spec.endpointId).map((r) => this.stop(r.id)));
  }

  /** Stops every replica this worker runs or is starting (graceful shutdown). */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    for (const child of this.starting) child.kill('SIGKILL');
    await Promise.all([...this.replicas.keys()].map((id) => this.stop(id)));
  }

  private of(endpointId: string): LocalReplica[] {
    return [...this.replicas.values()].filter((r) => r.endpointId === endpointId && !r.exited);
  }

  /**
   * Takes over replicas an earlier worker started (listed in `previous`) that still run and
   * answer as themselves; anything else in `previous` is gone.
   */
  private async adopt(spec: DeploymentSpec, previous: ObservedDeployment | null): Promise<void> {
    for (const replica of previous?.replicas ?? []) {
      if (this.replicas.has(replica.id)) continue;
      const handle = replica.handle as Partial<LocalHandle> | undefined;
      if (!handle || !Number.isInteger(handle.pid) || !Number.isInteger(handle.port)) continue;
      const { pid, port } = handle as LocalHandle;
      if (!processAlive(pid)) continue;
      // It is ours when it says so (health) or its command line does (a busy replica may miss a
      // health check; a reused pid has another command line).
      const health = await this.health(port);
      if (health?.replicaId !== replica.id && (await labelOf(pid, '--replica-id')) !== replica.id) {
        continue;
      }
      this.logger.log({ replicaId: replica.id, pid, port }, 'adopted a running replica');
      this.replicas.set(replica.id, {
        id: replica.id,
        tenantId: spec.tenantId,
        endpointId: spec.endpointId,
        generation: replica.generation,
        pid,
        port,
        startedAt: replica.startedAt,
        child: null,
        exited: false,
        stopping: false,
        stderrTail: '',
      });
    }
  }

  /**
   * Stops model-server processes labelled with this endpoint that nobody recorded: a worker
   * killed after starting a replica and before the reconciler stored its handle leaves one
   * running, which the next worker cannot adopt (it does not know the port) and must not leave
   * serving unmetered. Looked for once per endpoint per worker (and at removal), on Linux via
   * `/proc/<pid>/cmdline`; elsewhere there is nothing to read and nothing is done.
   */
  private async stopStrays(endpointId: string): Promise<void> {
    if (this.swept.has(endpointId)) return;
    this.swept.add(endpointId);
    const known = new Set([...this.replicas.values()].map((r) => r.pid));
    for (const pid of await processesLabelled(endpointId)) {
      if (known.has(pid) || pid === process.pid) continue;
      this.logger.warn({ pid, endpointId }, 'stopping a model server nobody recorded');
      signal(pid, 'SIGTERM');
    }
  }

  private async probe(replica: LocalReplica): Promise<ObservedReplica | undefined> {
    if (replica.exited || (!replica.child && !processAlive(replica.pid))) {
      this.replicas.delete(replica.id);
      return undefined;
    }
    const health = await this.health(replica.port);
    const ready = health?.status === 'ok' && health.replicaId === replica.id;
    // A killed child is dead before this process hears of it (its 'exit' event waits for the
    // event loop to reap it): a failed health check from a process that is gone or a zombie
    // is an exit, not a replica that is slow to answer.
    if (!ready && !(await processRunning(replica.pid))) {
      replica.exited = true;
      this.replicas.delete(replica.id);
      return undefined;
    }
    return {
      id: replica.id,
      generation: replica.generation,
      ready,
      url: `http://127.0.0.1:${replica.port}`,
      startedAt: replica.startedAt,
      handle: { pid: replica.pid, port: replica.port } satisfies LocalHandle,
      ...(ready ? {} : { detail: 'not answering its health check' }),
      ...(ready && Number.isInteger(health?.inFlight) ? { inFlight: health!.inFlight } : {}),
    };
  }

  private async health(
    port: number,
  ): Promise<{ status?: string; replicaId?: string; inFlight?: number } | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`, {
        signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      });
      if (!response.ok) return undefined;
      return (await response.json()) as { status?: string; replicaId?: string; inFlight?: number };
    } catch {
      return undefined;
    }
  }

  /** Starts one replica and waits for its listening line. @throws ProviderError (retryable) */
  private async start(spec: DeploymentSpec): Promise<void> {
    if (this.closed) throw new ProviderError('the worker is shutting down', true);
    const id = randomUUID();
    const { command, args, cwd } = modelServerCommand();
    const modelArgs = spec.model.artifactUri
      ? ['--base', spec.model.baseModelId ?? spec.model.id, '--artifact', spec.model.artifactUri]
      : ['--base', spec.model.id];
    const child = spawn(
      command,
      [
        ...args,
        '--model',
        spec.model.id,
        ...modelArgs,
        '--replica-id',
        id,
        '--endpoint-id',
        spec.endpointId,
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--token-latency-ms',
        String(this.config.LOCAL_MODEL_TOKEN_LATENCY_MS),
      ],
      {
        cwd,
        // The model server needs no credentials of the control plane.
        env: { PATH: process.env.PATH ?? '', NODE_ENV: process.env.NODE_ENV ?? 'production' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const replica: LocalReplica = {
      id,
      tenantId: spec.tenantId,
      endpointId: spec.endpointId,
      generation: spec.generation,
      pid: child.pid ?? -1,
      port: 0,
      startedAt: new Date().toISOString(),
      child,
      exited: false,
      stopping: false,
      stderrTail: '',
    };
    child.stderr?.on('data', (chunk: Buffer) => {
      replica.stderrTail = (replica.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    const exited = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => {
        const wasListed = this.replicas.get(id) === replica;
        replica.exited = true;
        this.replicas.delete(id);
        reject(
          new ProviderError(
            `model server exited (${signal ?? `code ${code}`}) before listening: ${replica.stderrTail.trim().slice(-500)}`,
            true,
          ),
        );
        if (wasListed && !replica.stopping) {
          this.logger.warn({ replicaId: id, code, signal }, 'replica exited');
          for (const listener of this.exitListeners) listener(spec.tenantId, spec.endpointId);
        }
      });
      child.once('error', (error) =>
        reject(new ProviderError(`cannot start the model server: ${error.message}`, true)),
      );
    });
    exited.catch(() => undefined);
    const lines = createInterface({ input: child.stdout! });
    const listening = new Promise<number>((resolve) => {
      lines.on('line', (line) => {
        try {
          const message = JSON.parse(line) as { event?: string; port?: number };
          if (message.event === 'listening' && Number.isInteger(message.port)) {
            resolve(message.port as number);
          }
        } catch {
          // Not one of our structured lines.
        }
      });
    });
    this.starting.add(child);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ProviderError('model server did not start in time', true)),
        START_TIMEOUT_MS,
      );
    });
    try {
      replica.port = await Promise.race([listening, exited, timeout]);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    } finally {
      clearTimeout(timer);
      this.starting.delete(child);
    }
    this.replicas.set(id, replica);
    this.logger.log({ replicaId: id, port: replica.port, model: spec.model.id }, 'replica started');
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once it is gone. */
  private async stop(id: string): Promise<void> {
    const replica = this.replicas.get(id);
    if (!replica) return;
    replica.stopping = true;
    this.replicas.delete(id);
    if (replica.child) {
      const child = replica.child;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await gone;
      clearTimeout(timer);
      return;
    }
    signal(replica.pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (processAlive(replica.pid) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (processAlive(replica.pid)) signal(replica.pid, 'SIGKILL');
  }
}

/** The value after `flag` on a process's command line (Linux), or undefined. */
async function labelOf(pid: number, flag: string): Promise<string | undefined> {
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  } catch {
    return undefined;
  }
}

/** Pids of model-server processes started with `--endpoint-id <endpointId>` (Linux). */
async function processesLabelled(endpointId: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (/^\d+$/.test(entry) && (await labelOf(Number(entry), '--endpoint-id')) === endpointId) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

/**
 * Whether `pid` is a live process: not gone and not a zombie (Linux `/proc/<pid>/stat` state `Z`
 * or `X`, proc(5)). Where there is no `/proc`, whether it can be signalled.
 */
async function processRunning(pid: number): Promise<boolean> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return process.platform === 'linux' ? false : processAlive(pid);
  }
  // `pid (comm) state …`: comm may hold spaces and parentheses, the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}
