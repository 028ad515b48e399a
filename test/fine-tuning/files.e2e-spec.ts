import {
  bearer,
  createTenant,
  createTenantKey,
  platformAdminKey,
  signIn,
  TestApp,
} from '@app/testing';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import { startApi } from '../support/api';

const admin = () => bearer(platformAdminKey());
const conversation = (i: number) =>
  JSON.stringify({
    messages: [
      { role: 'system', content: 'You answer as a Roman citizen.' },
      { role: 'user', content: `Question ${i}: what of the corn?` },
      { role: 'assistant', content: 'We are accounted poor citizens, the patricians good.' },
    ],
  });
const jsonl = (lines: string[]) => Buffer.from(lines.join('\n') + '\n');

/**
 * Fine-tuning files through the official `openai` client (OpenAI API reference "Files"), the
 * tenant taken from the key: upload checked line by line, list, retrieve, content, delete;
 * another tenant's files answer 404.
 */
describe('files (/v1/files, OpenAI-compatible)', () => {
  let t: TestApp;
  let baseURL: string;

  beforeAll(async () => {
    t = await startApi({ env: { FILES_MAX_BYTES: '64kb', FILES_MAX_LINES: '50' } });
    const { port } = t.app.getHttpServer().address() as AddressInfo;
    baseURL = `http://127.0.0.1:${port}/v1`;
  });
  afterAll(async () => {
    await t.close();
  });

  async function engineerClient(): Promise<{ tenantId: string; key: string; client: OpenAI }> {
    const tenant = await createTenant(t);
    const { key } = await createTenantKey(t, tenant.id, ['ml_engineer']);
    return {
      tenantId: tenant.id,
      key,
      client: new OpenAI({ baseURL, apiKey: key, maxRetries: 0 }),
    };
  }

  it('uploads, lists, retrieves, downloads and deletes a training file', async () => {
    const { tenantId, client } = await engineerClient();
    const bytes = jsonl(Array.from({ length: 12 }, (_, i) => conversation(i)));
    const file = await client.files.create({
      file: await toFile(bytes, 'citizens.jsonl'),
      purpose: 'fine-tune',
    });
    expect(file).toMatchObject({
      object: 'file',
      bytes: bytes.length,
      filename: 'citizens.jsonl',
      purpose: 'fine-tune',
      status: 'processed',
      line_count: 12,
      data_classification: 'confidential',
    });
    expect(file.id).toMatch(/^file-[0-9a-f]{24}$/);
    const listed = await client.files.list();
    expect(listed.data.map((f) => f.id)).toEqual([file.id]);
    expect((await client.files.retrieve(file.id)).filename).toBe('citizens.jsonl');
    const content = await client.files.content(file.id);
    expect(Buffer.from(await content.arrayBuffer()).equals(bytes)).toBe(true);
    // Staff see it through the tenant's path.
    const staff = await t.http.get(`/v1/tenants/${tenantId}/files`).set(admin()).expect(200);
    expect(staff.body.data[0].id).toBe(file.id);
    expect(await client.files.delete(file.id)).toMatchObject({ id: file.id, deleted: true });
    await expect(client.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
  });

  it('pages with after and limit, newest first', async () => {
    const { client } = await engineerClient();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (
          await client.files.create({
            file: await toFile(jsonl([conversation(i)]), `f${i}.jsonl`),
            purpose: 'fine-tune',
          })
        ).id,
      );
    }
    const first = await client.files.list({ limit: 2 });
    expect(first.data.map((f) => f.id)).toEqual([ids[2], ids[1]]);
    const rest = await client.files.list({ limit: 2, after: ids[1] });
    expect(rest.data.map((f) => f.id)).toEqual([ids[0]]);
  });

  it.each([
    ['a line that is not JSON', ['{"messages": [', conversation(1)], 'file:1', 'is not valid JSON'],
    [
      'a line without messages',
      [conversation(1), '{"prompt": "x"}'],
      'file:2',
      '"messages" must be a non-empty array',
    ],
    [
      'an unknown role',
      [JSON.stringify({ messages: [{ role: 'wizard', content: 'x' }] })],
      'file:1',
      'messages[0].role must be one of system, user, assistant',
    ],
    [
      'no assistant answer',
      [JSON.stringify({ messages: [{ role: 'user', content: 'x' }] })],
      'file:1',
      'needs at least one assistant message with content (and weight 1)',
    ],
    [
      'too many examples',
      Array.from({ length: 51 }, (_, i) => conversation(i)),
      'file:51',
      'more than 50 examples',
    ],
  ])('refuses %s, naming the line, and stores nothing', async (_name, lines, path, message) => {
    const { key } = await engineerClient();
    const res = await t.http
      .post('/v1/files')
      .set(bearer(key))
      .field('purpose', 'fine-tune')
      .attach('file', jsonl(lines), 'bad.jsonl')
      .expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toContainEqual({ path, message });
    const list = await t.http.get('/v1/files').set(bearer(key)).expect(200);
    expect(list.body.data).toEqual([]);
  });

  it('refuses a wrong purpose, a missing file, an oversized file and cookie-only uploads', async () => {
    const { key } = await engineerClient();
    const purpose = await t.http
      .post('/v1/files')
      .set(bearer(key))
      .field('purpose', 'assistants')
      .attach('file', jsonl([conversation(1)]), 'a.jsonl')
      .expect(400);
    expect(purpose.body.errors).toEqual([
      { path: 'purpose', message: 'must be one of: fine-tune' },
    ]);
    await t.http.post('/v1/files').set(bearer(key)).field('purpose', 'fine-tune').expect(400);
    await t.http
      .post('/v1/files')
      .set(bearer(key))
      .field('purpose', 'fine-tune')
      .attach('file', Buffer.alloc(70 * 1024, 'x'), 'big.jsonl')
      .expect(413);
    const session = await signIn(t, ['ml_engineer'], (await createTenant(t)).id);
    const cookie = await t.http
      .post('/v1/files')
      .set('cookie', `cp_session=${session.token}`)
      // From our own origin (past the CSRF check): multipart still needs a bearer credential.
      .set('Sec-Fetch-Site', 'same-origin')
      .field('purpose', 'fine-tune')
      .attach('file', jsonl([conversation(1)]), 'a.jsonl')
      .expect(403);
    expect(cookie.body.code).toBe('bearer_credentials_required');
  });

  it("answers 404 for another tenant's file and lets viewers read but not upload", async () => {
    const a = await engineerClient();
    const b = await engineerClient();
    const file = await a.client.files.create({
      file: await toFile(jsonl([conversation(1)]), 'a.jsonl'),
      purpose: 'fine-tune',
    });
    await expect(b.client.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 });
    await expect(b.client.files.delete(file.id)).rejects.toMatchObject({ status: 404 });
    await t.http.get(`/v1/files/${file.id}/content`).set(bearer(b.key)).expect(404);
    await t.http.get(`/v1/tenants/${a.tenantId}/files`).set(bearer(b.key)).expect(404);
    const viewer = (await createTenantKey(t, a.tenantId, ['viewer'])).key;
    await t.http.get(`/v1/files/${file.id}`).set(bearer(viewer)).expect(200);
    await t.http
      .post('/v1/files')
      .set(bearer(viewer))
      .field('purpose', 'fine-tune')
      .attach('file', jsonl([conversation(1)]), 'a.jsonl')
      .expect(403);
  });
});
