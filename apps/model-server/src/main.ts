/**
 * The model server: one process is one replica of a dedicated endpoint of the `local` provider,
 * serving one model over an OpenAI-compatible HTTP API (see `model-server.ts` for the routes).
 *
 * Flags:
 * - `--model <id>`       the model name served and expected in requests' `model` (required)
 * - `--base <catalogId>` the base model to load (default: `--model`); decides modality and context
 * - `--artifact <path>`  a fine-tuned model artifact to serve instead of the base model's weights
 * - `--replica-id <id>`  reported by `/health` and the listening line (default: `<model>-<pid>`)
 * - `--host <address>`   default `127.0.0.1`
 * - `--port <n>`         default `0`: the OS picks a free port
 * - `--endpoint-id <id>` the endpoint served: the local provider finds its processes by it, and a
 *   request naming another in `X-Endpoint-Id` answers 421 (see `ModelServerOptions.endpointId`)
 * - `--token-latency-ms <n>` pause after each generated piece (default 0), to emulate decode time
 * - `--drain-timeout-ms <n>` how long SIGTERM waits for in-flight requests (default 10000)
 *
 * When listening, writes exactly one line to stdout, which the local provider reads to learn the
 * port: `{"event":"listening","port":N,"pid":P,"replicaId":"..."}`. Nothing else goes to stdout;
 * diagnostics are JSON lines on stderr. On SIGTERM or SIGINT it stops accepting connections,
 * finishes in-flight requests (bounded by `--drain-timeout-ms`) and exits 0. Bad flags, an unknown
 * base model or an unreadable artifact exit 1 (2 for bad flags) before listening.
 */
import { parseArgs } from 'node:util';
import { BASE_MODELS, baseModel, loadModel } from '@app/language-model';
import { createModelServer } from './model-server';

function fail(message: string, code: number): never {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: message })}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        model: { type: 'string' },
        base: { type: 'string' },
        artifact: { type: 'string' },
        'replica-id': { type: 'string' },
        // Lets the control plane's local provider find its processes by endpoint, and refuses
        // requests meant for another endpoint (421).
        'endpoint-id': { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '0' },
        'token-latency-ms': { type: 'string', default: '0' },
        'drain-timeout-ms': { type: 'string', default: '10000' },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message, 2);
  }
  const servedModel = values.model ?? fail('--model is required', 2);
  const baseId = values.base ?? servedModel;
  const port = Number(values.port);
  const tokenLatencyMs = Number(values['token-latency-ms']);
  const drainTimeoutMs = Number(values['drain-timeout-ms']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port must be 0–65535', 2);
  if (!(tokenLatencyMs >= 0) || !(drainTimeoutMs >= 0)) fail('timings must be ≥ 0', 2);
  const spec = BASE_MODELS[baseId] ?? fail(`unknown base model ${baseId}`, 1);
  const replicaId = values['replica-id'] ?? `${servedModel}-${process.pid}`;

  let model;
  try {
    model = values.artifact ? (await loadModel(values.artifact)).model : baseModel(baseId);
  } catch (error) {
    fail(`cannot load the model: ${(error as Error).message}`, 1);
  }

  const modelServer = createModelServer({
    servedModel,
    model,
    modality: spec.modality,
    contextLength: spec.contextLength,
    replicaId,
    endpointId: values['endpoint-id'],
    tokenLatencyMs,
  });
  modelServer.server.on('error', (error) => fail(`cannot listen: ${error.message}`, 1));
  modelServer.server.listen(port, values.host, () => {
    const address = modelServer.server.address();
    const listening = typeof address === 'object' && address ? address.port : port;
    process.stdout.write(
      `${JSON.stringify({ event: 'listening', port: listening, pid: process.pid, replicaId })}\n`,
    );
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(
      `${JSON.stringify({ level: 'info', msg: 'draining', signal, inFlight: modelServer.inFlight() })}\n`,
    );
    void modelServer.drain(drainTimeoutMs).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
