import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import {
  baseModel,
  countChatTokens,
  countTokens,
  fineTune,
  modelServerCommand,
  saveModel,
} from '@app/language-model';
import { expectEventually } from '@app/testing';

/** A model-server process started the way the local provider starts it. */
interface Replica {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  listening: Record<string, unknown>;
  readyMs: number;
  exited: Promise<number | null>;
}

async function startReplica(args: string[]): Promise<Replica> {
  const { command, args: prefix, cwd } = modelServerCommand();
  const started = performance.now();
  const child = spawn(command, [...prefix, ...args], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`model server exited with ${code}`)));
  });
  const readyMs = performance.now() - started;
  const listening = JSON.parse(first) as Record<string, unknown>;
  const port = listening.port as number;
  return { child, port, baseUrl: `http://127.0.0.1:${port}`, listening, readyMs, exited };
}

function client(replica: Replica): OpenAI {
  return new OpenAI({ baseURL: `${replica.baseUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
}

async function post(replica: Replica, path: string, body: unknown) {
  const response = await fetch(`${replica.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as { error: Record<string, unknown> },
  };
}

const chatModel = 'llama-3-8b-local';
const embeddingModel = 'e5-small-local';

describe('model server (OpenAI-compatible, one replica per process)', () => {
  let chat: Replica;
  let embedding: Replica;

  beforeAll(async () => {
    [chat, embedding] = await Promise.all([
      // A small per-token latency makes streaming observable (a real model decodes for a while).
      startReplica(['--model', chatModel, '--replica-id', 'r-1', '--token-latency-ms', '5']),
      startReplica(['--model', embeddingModel, '--port', '0', '--endpoint-id', 'ep-embed']),
    ]);
  });

  afterAll(async () => {
    for (const replica of [chat, embedding]) {
      if (replica && replica.child.exitCode === null) {
        replica.child.kill('SIGKILL');
        await replica.exited;
      }
    }
  });

  it('announces itself with one JSON listening line on stdout', async () => {
    expect(chat.listening).toEqual({
      event: 'listening',
      port: chat.port,
      pid: chat.child.pid,
      replicaId: 'r-1',
    });
    expect(chat.port).toBeGreaterThan(0);
    expect(embedding.listening.replicaId).toBe(`${embeddingModel}-${embedding.child.pid}`);
    // Start-up time is measured by hand (README), not asserted: a loaded CI machine varies.
    expect(chat.readyMs).toBeGreaterThan(0);
    const health = await (await fetch(`${chat.baseUrl}/health`)).json();
    expect(health).toEqual({
      status: 'ok',
      model: chatModel,
      replicaId: 'r-1',
      pid: chat.child.pid,
      inFlight: 0,
    });
  });

  it('lists the served model', async () => {
    const models = await client(chat).models.list();
    expect(models.data.map((m) => m.id)).toEqual([chatModel]);
    expect((await client(chat).models.retrieve(chatModel)).id).toBe(chatModel);
  });

  it('answers a chat completion with usage counted by the shared tokenizer', async () => {
    const messages = [
      { role: 'system' as const, content: 'Answer as a Roman citizen.' },
      { role: 'user' as const, content: 'What news from the Capitol?' },
    ];
    const completion = await client(chat).chat.completions.create({
      model: chatModel,
      messages,
      max_tokens: 24,
      seed: 11,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(chatModel);
    const [choice] = completion.choices;
    expect(choice.message.role).toBe('assistant');
    expect(typeof choice.message.content).toBe('string');
    expect(['stop', 'length']).toContain(choice.finish_reason);
    expect(completion.usage).toEqual({
      prompt_tokens: countChatTokens(messages),
      completion_tokens: expect.any(Number),
      total_tokens: countChatTokens(messages) + completion.usage!.completion_tokens,
    });
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(24);
    // Same seed, same answer.
    const again = await client(chat).chat.completions.create({
      model: chatModel,
      messages,
      max_tokens: 24,
      seed: 11,
    });
    expect(again.choices[0].message.content).toBe(choice.message.content);
  });

  it('streams chunks as they are generated, with usage in the final chunk', async () => {
    const stream = await client(chat).chat.completions.create({
      model: chatModel,
      messages: [{ role: 'user', content: 'Speak, speak.' }],
      max_completion_tokens: 40,
      temperature: 1,
      seed: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    const arrivals: number[] = [];
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      const delta = chunk.choices[0]?.delta.content;
      if (delta) {
        text += delta;
        arrivals.push(performance.now());
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    const ended = performance.now();
    expect(arrivals.length).toBeGreaterThan(3);
    // The first piece arrived while the rest were still being generated (≥ 5 ms per piece).
    expect(ended - arrivals[0]).toBeGreaterThan(10);
    expect(text.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(finish);
    expect(usage?.completion_tokens).toBeGreaterThanOrEqual(arrivals.length);
    expect(usage?.total_tokens).toBe(usage!.prompt_tokens + usage!.completion_tokens);
  });

  it('stops generating when the client disconnects', async () => {
    // A slow replica of its own: this seed's ~50-token answer would take ~10 s at 200 ms a token.
    const slow = await startReplica(['--model', chatModel, '--token-latency-ms', '200']);
    try {
      const health = async () => (await (await fetch(`${slow.baseUrl}/health`)).json()).inFlight;
      const stream = await client(slow).chat.completions.create({
        model: chatModel,
        messages: [{ role: 'user', content: 'A long speech, please.' }],
        max_tokens: 4000,
        seed: 5,
        stream: true,
      });
      let chunks = 0;
      for await (const _chunk of stream) {
        chunks += 1;
        expect(await health()).toBe(1);
        break; // leaving the loop aborts the HTTP request (the client closes the connection)
      }
      expect(chunks).toBe(1);
      const left = performance.now();
      await expectEventually(async () => expect(await health()).toBe(0), { timeoutMs: 3000 });
      // The server let go well before the answer's natural end (≥ seconds away).
      expect(performance.now() - left).toBeLessThan(3000);
    } finally {
      slow.child.kill('SIGKILL');
      await slow.exited;
    }
  });

  it('answers text completions, plain and streamed', async () => {
    const completion = await client(chat).completions.create({
      model: chatModel,
      prompt: 'First Citizen:\n',
      max_tokens: 16,
      seed: 1,
    });
    expect(completion.object).toBe('text_completion');
    expect(typeof completion.choices[0].text).toBe('string');
    expect(completion.usage?.prompt_tokens).toBe(countTokens('First Citizen:\n'));

    const stream = await client(chat).completions.create({
      model: chatModel,
      prompt: 'First Citizen:\n',
      max_tokens: 16,
      seed: 1,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(completion.choices[0].text);
  });

  it('embeds inputs (base64 by default in the client, float on request) into unit vectors', async () => {
    const input = ['The senators of Rome', 'senators of Rome and the belly', 'kubernetes pod'];
    const response = await client(embedding).embeddings.create({ model: embeddingModel, input });
    expect(response.object).toBe('list');
    expect(response.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const [a, b, c] = response.data.map((d) => d.embedding);
    expect(a).toHaveLength(256);
    expect(Math.hypot(...a)).toBeCloseTo(1, 5);
    const dot = (x: number[], y: number[]) => x.reduce((sum, v, i) => sum + v * y[i], 0);
    expect(dot(a, b)).toBeGreaterThan(dot(a, c));
    const tokens = input.reduce((sum, text) => sum + countTokens(text), 0);
    expect(response.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });

    const float = await client(embedding).embeddings.create({
      model: embeddingModel,
      input: input[0],
      encoding_format: 'float',
    });
    float.data[0].embedding.forEach((value, i) => expect(value).toBeCloseTo(a[i], 6));
  });

  describe('errors in the OpenAI shape', () => {
    const chatBody = { model: chatModel, messages: [{ role: 'user', content: 'hi' }] };

    it('rejects malformed JSON with 400', async () => {
      const { status, body } = await post(chat, '/v1/chat/completions', '{"model":');
      expect(status).toBe(400);
      expect(body.error).toEqual({
        message: expect.any(String),
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_json',
      });
    });

    it('rejects a missing model or messages field with 400 naming it', async () => {
      const noModel = await post(chat, '/v1/chat/completions', { messages: chatBody.messages });
      expect(noModel.status).toBe(400);
      expect(noModel.body.error.param).toBe('model');
      const noMessages = await post(chat, '/v1/chat/completions', { model: chatModel });
      expect(noMessages.status).toBe(400);
      expect(noMessages.body.error.param).toBe('messages');
      const badTemperature = await post(chat, '/v1/chat/completions', {
        ...chatBody,
        temperature: 3,
      });
      expect(badTemperature.body.error.param).toBe('temperature');
    });

    it('answers 404 model_not_found for another model name', async () => {
      const { status, body } = await post(chat, '/v1/chat/completions', {
        ...chatBody,
        model: 'gpt-4o',
      });
      expect(status).toBe(404);
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
    });

    it('answers 421 misdirected_request to a request meant for another endpoint, unread', async () => {
      const embed = (headers: Record<string, string>) =>
        fetch(`${embedding.baseUrl}/v1/embeddings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ model: embeddingModel, input: 'hello' }),
        });
      const misdirected = await embed({ 'x-endpoint-id': 'ep-other' });
      expect(misdirected.status).toBe(421);
      expect(misdirected.headers.get('connection')).toBe('close');
      expect(((await misdirected.json()) as { error: unknown }).error).toMatchObject({
        code: 'misdirected_request',
        type: 'invalid_request_error',
      });
      // Its own endpoint, or no endpoint named (a client other than the gateway): served.
      expect((await embed({ 'x-endpoint-id': 'ep-embed' })).status).toBe(200);
      expect((await embed({})).status).toBe(200);
    });

    it('rejects the wrong modality with 400', async () => {
      const onChat = await post(chat, '/v1/embeddings', { model: chatModel, input: 'x' });
      expect(onChat.status).toBe(400);
      expect(onChat.body.error.code).toBe('model_not_supported');
      const onEmbedding = await post(embedding, '/v1/chat/completions', {
        ...chatBody,
        model: embeddingModel,
      });
      expect(onEmbedding.status).toBe(400);
      expect(onEmbedding.body.error.code).toBe('model_not_supported');
    });

    it('rejects a body over 1 MiB with 413', async () => {
      const huge = JSON.stringify({ ...chatBody, padding: 'x'.repeat(1024 * 1024 + 10) });
      const { status, body } = await post(chat, '/v1/chat/completions', huge);
      expect(status).toBe(413);
      expect(body.error.code).toBe('request_too_large');
    });

    it('rejects a prompt beyond the context length with 400 context_length_exceeded', async () => {
      const long = 'Rome '.repeat(9000);
      const { status, body } = await post(chat, '/v1/chat/completions', {
        model: chatModel,
        messages: [{ role: 'user', content: long }],
      });
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
      const tooMuchCompletion = await post(chat, '/v1/completions', {
        model: chatModel,
        prompt: 'hi',
        max_tokens: 9000,
      });
      expect(tooMuchCompletion.body.error.code).toBe('context_length_exceeded');
    });

    it('answers 404 for an unknown route and 405 for a wrong method', async () => {
      expect((await post(chat, '/v1/images/generations', {})).status).toBe(404);
      expect((await fetch(`${chat.baseUrl}/v1/chat/completions`)).status).toBe(405);
    });
  });

  describe('a fine-tuned artifact and shutdown', () => {
    let directory: string;
    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'model-server-'));
    });
    afterAll(() => rm(directory, { recursive: true, force: true }));

    it('serves a fine-tuned artifact and exits 0 on SIGTERM after finishing in-flight work', async () => {
      const tuned = fineTune(baseModel(chatModel), [
        {
          messages: [
            { role: 'user', content: 'Where are invoices?' },
            { role: 'assistant', content: 'Invoices are under Billing.' },
          ],
        },
      ]);
      const artifact = join(directory, 'ft.json');
      await saveModel(tuned.model, artifact, { base: chatModel });
      const name = 'ft:llama-3-8b-local:acme::abc123';
      const replica = await startReplica([
        '--model',
        name,
        '--base',
        chatModel,
        '--artifact',
        artifact,
        '--token-latency-ms',
        '20',
      ]);
      try {
        const answer = await client(replica).chat.completions.create({
          model: name,
          messages: [{ role: 'user', content: 'Where are invoices?' }],
          temperature: 0,
        });
        expect(answer.choices[0].message.content).toBe('Invoices are under Billing.');

        // SIGTERM while a stream is being generated: the stream still completes.
        const stream = await client(replica).completions.create({
          model: name,
          prompt: 'MENENIUS:\n',
          max_tokens: 10,
          temperature: 0,
          stream: true,
        });
        let chunks = 0;
        for await (const _chunk of stream) {
          if (chunks++ === 0) replica.child.kill('SIGTERM');
        }
        expect(chunks).toBeGreaterThan(1);
        expect(await replica.exited).toBe(0);
      } finally {
        if (replica.child.exitCode === null) replica.child.kill('SIGKILL');
      }
    });
  });
});
