/**
 * Tenancy end to end: API keys (hashed in the database), ownership of runs on every query,
 * mutation and subscription, signed expiring image URLs, deleteRun removing unreferenced files,
 * and admission control (rate limit, active runs per key, queue cap, steps per run). Real servers
 * on real databases; nothing mocked.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BACKENDS, clientAs, countFiles, createKeys, pngDataUrl, startServer, testConfig, type Running } from './helpers/server-harness';
import { openDatabase, type Database } from '../src/db/client';
import { PrismaApiKeyStore } from '../src/adapters/prisma/api-key-store';
import { HmacUrlSigner } from '../src/auth/url-signer';
import { LocalDiskStorage } from '../src/storage';

const RUN = 'id status sourceUrl outputUrl';
const TRANSLATE = `mutation($input: TranslateInput!) { translate(input: $input) { ${RUN} } }`;
const GET = `query($id: ID!) { run(id: $id) { ${RUN} } }`;
const LIST = 'query { runs(first: 200) { edges { node { id } } } }';
const EVENTS = 'subscription($id: ID!) { runEvents(id: $id) { seq type previewUrl outputUrl } }';
const CHANGES = 'subscription { runsChanged { id deleted } }';

type Run = { id: string; status: string; sourceUrl: string; outputUrl: string | null };
const codeOf = (r: { errors?: { extensions?: { code?: string } }[] }) => r.errors?.[0]?.extensions?.code;
const keyOfUrl = (u: string) => u.split('?')[0]!.replace('/artifacts/', '');


describe('ownership, keys and image URLs (SQLite, engine embedded)', () => {
  let srv: Running;
  let db: Database;
  let cleanupDb: () => Promise<void>;
  let artifacts: string;
  let keys: Record<string, string>;
  let image: string;

  beforeAll(async () => {
    const u = await BACKENDS[0]!.setup();
    cleanupDb = u.cleanup;
    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-ten-'));
    db = await openDatabase(u.url);
    keys = await createKeys(db, [
      { name: 'alice', scope: 'user' },
      { name: 'bob', scope: 'user' },
      { name: 'root', scope: 'admin' },
      { name: 'gone', scope: 'user' },
    ]);
    srv = await startServer(testConfig(u.url, artifacts, { authCacheMs: 0 }));
    image = await pngDataUrl(64, 3);
  }, 120000);
  afterAll(async () => {
    await srv?.close();
    await db?.close();
    await cleanupDb?.();
  });

  const as = (who?: string) => clientAs(srv.url, who === undefined ? undefined : (keys[who] ?? who));
  const translate = async (who: string, params: Record<string, unknown> = {}, img = image) => {
    const r = await as(who).gql<{ translate: Run }>(TRANSLATE, { input: { task: 'tiny-adm', image: img, params: { M: 3, seed: 1, previewEvery: 1, ...params } } });
    expect(r.errors).toBeUndefined();
    return r.data!.translate;
  };
  const finish = async (who: string, id: string) => {
    const { events, error } = await as(who).subscribe<{ runEvents: { type: string; previewUrl: string | null; outputUrl: string | null } }>(EVENTS, { id });
    expect(error).toBeUndefined();
    return events.map((e) => e.runEvents);
  };
  /** every image key a finished run references, read through the API */
  const keysOf = async (who: string, id: string) => {
    const evs = await finish(who, id);
    const run = (await as(who).gql<{ run: Run }>(GET, { id })).data!.run;
    const urls = [run.sourceUrl, run.outputUrl, ...evs.map((e) => e.previewUrl), ...evs.map((e) => e.outputUrl)].filter((x): x is string => !!x);
    return new Set(urls.map(keyOfUrl));
  };

  test('no key, a wrong key, a revoked key: refused with auth/unauthenticated on HTTP and WebSocket, nothing written', async () => {
    const before = { runs: await db.prisma.run.count(), files: countFiles(artifacts) };
    await new PrismaApiKeyStore(db.prisma).revoke('gone');
    for (const who of [undefined, 'egsde_not-a-key', 'gone', '']) {
      for (const q of [LIST, GET, TRANSLATE]) {
        const r = await as(who).gql(q, q === GET ? { id: 'x' } : q === TRANSLATE ? { input: { task: 'tiny-adm', image } } : {});
        expect([who, q, r.status, codeOf(r)]).toEqual([who, q, 401, 'auth/unauthenticated']);
      }
      const sub = await as(who).subscribe(CHANGES, {});
      expect([who, sub.closeCode]).toEqual([who, 4401]);
      expect(sub.closeReason).toMatch(/^auth\/unauthenticated/);
    }
    expect({ runs: await db.prisma.run.count(), files: countFiles(artifacts) }).toEqual(before);
  });

  test('keys are stored hashed: the secret is nowhere in the database', async () => {
    const rows = await db.prisma.apiKey.findMany();
    const dump = JSON.stringify(rows);
    for (const secret of Object.values(keys)) expect(dump).not.toContain(secret);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.hash))).toBe(true);
  });

  test('the matrix: owners see and manage their own runs only; an admin key sees and manages all', async () => {
    const a = await translate('alice');
    const b = await translate('bob', { seed: 2 });
    await finish('alice', a.id);
    await finish('bob', b.id);
    // queries
    expect((await as('alice').gql<{ run: Run }>(GET, { id: a.id })).data!.run.id).toBe(a.id);
    expect(codeOf(await as('alice').gql(GET, { id: b.id }))).toBe('run/not_found');
    expect(codeOf(await as('bob').gql(GET, { id: a.id }))).toBe('run/not_found');
    expect((await as('root').gql<{ run: Run }>(GET, { id: b.id })).data!.run.id).toBe(b.id);
    const ids = async (who: string) => (await as(who).gql<{ runs: { edges: { node: { id: string } }[] } }>(LIST)).data!.runs.edges.map((e) => e.node.id);
    expect(await ids('alice')).toContain(a.id);
    expect(await ids('alice')).not.toContain(b.id);
    expect(await ids('bob')).toEqual([b.id]);
    expect(await ids('root')).toEqual(expect.arrayContaining([a.id, b.id]));
    // subscriptions to another owner's run
    const spy = await as('alice').subscribe(EVENTS, { id: b.id });
    expect((spy.error as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('run/not_found');
    expect((await as('root').subscribe<unknown>(EVENTS, { id: b.id })).error).toBeUndefined();
    // mutations on another owner's run
    expect(codeOf(await as('alice').gql('mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: b.id }))).toBe('run/not_found');
    expect(codeOf(await as('alice').gql('mutation($id: ID!) { deleteRun(id: $id) }', { id: b.id }))).toBe('run/not_found');
    expect((await as('bob').gql<{ run: Run }>(GET, { id: b.id })).data!.run.status).toBe('SUCCEEDED');
    expect((await as('root').gql<{ deleteRun: boolean }>('mutation($id: ID!) { deleteRun(id: $id) }', { id: b.id })).data!.deleteRun).toBe(true);
    expect(codeOf(await as('bob').gql(GET, { id: b.id }))).toBe('run/not_found');
  }, 60000);

  test('runsChanged shows each key its own runs; an admin all of them', async () => {
    const aliceSees = as('alice').subscribe<{ runsChanged: { id: string } }>(CHANGES, {}, 1);
    const rootSees = as('root').subscribe<{ runsChanged: { id: string } }>(CHANGES, {}, 6);
    await new Promise((r) => setTimeout(r, 500));
    const b = await translate('bob', { seed: 3 });
    const a = await translate('alice', { seed: 4 });
    const alice = await aliceSees;
    expect(alice.events.map((e) => e.runsChanged.id)).toEqual([a.id]);
    const root = await rootSees;
    expect(new Set(root.events.map((e) => e.runsChanged.id))).toEqual(new Set([b.id, a.id]));
    expect(root.events[0]!.runsChanged.id).toBe(b.id);
    await finish('alice', a.id);
    await finish('bob', b.id);
  }, 60000);

  test('image URLs are signed and expire: an <img> needs no header; a tampered, missing or expired signature is refused', async () => {
    const a = await translate('alice', { seed: 5 });
    await finish('alice', a.id);
    const run = (await as('alice').gql<{ run: Run }>(GET, { id: a.id })).data!.run;
    expect(run.outputUrl).toMatch(/^\/artifacts\/[0-9a-f]{64}\.png\?exp=\d+&sig=[\w-]+$/);
    const ok = await fetch(`${srv.url}${run.outputUrl}`);
    expect([ok.status, ok.headers.get('content-type')]).toEqual([200, 'image/png']);
    expect(ok.headers.get('cache-control')).toMatch(/^private, max-age=\d+/);
    const key = keyOfUrl(run.outputUrl!);
    const exp = run.outputUrl!.match(/exp=(\d+)/)![1];
    const refused = async (u: string) => {
      const r = await fetch(`${srv.url}${u}`);
      return [r.status, ((await r.json()) as { error: { code: string } }).error.code];
    };
    expect(await refused(`/artifacts/${key}`)).toEqual([403, 'auth/bad_signature']);
    expect(await refused(run.outputUrl!.replace(/sig=./, (m) => (m.endsWith('A') ? 'sig=B' : 'sig=A')))).toEqual([403, 'auth/bad_signature']);
    expect(await refused(run.outputUrl!.replace(`exp=${exp}`, `exp=${Number(exp) + 3600}`))).toEqual([403, 'auth/bad_signature']);
    // the same secret, a clock two hours behind: a URL that has expired
    const secret = (await db.prisma.setting.findUnique({ where: { key: 'url_signing_secret' } }))!.value;
    const old = new HmacUrlSigner(Buffer.from(secret), 3600, () => Date.now() - 2 * 3600_000).url(key);
    const expired = await fetch(`${srv.url}${old}`);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
    // and a URL signed now with that secret works: the secret is the one the server uses
    expect((await fetch(`${srv.url}${new HmacUrlSigner(Buffer.from(secret), 3600).url(key)}`)).status).toBe(200);
  }, 60000);

  test('deleteRun removes the files no other run references (content-addressed keys are counted)', async () => {
    const disk = new LocalDiskStorage(artifacts);
    const stored = (k: string) => disk.exists(k);
    // an image no other test uses
    const own = await pngDataUrl(64, 4242);
    const x = await translate('alice', { seed: 11 }, own);
    const xKeys = await keysOf('alice', x.id);
    const y = await translate('alice', { seed: 11 }, own);
    const yKeys = await keysOf('alice', y.id);
    const z = await translate('alice', { seed: 12 }, own);
    const zKeys = await keysOf('alice', z.id);
    // one source image for all three
    expect([...xKeys].filter((k) => yKeys.has(k) && zKeys.has(k)).length).toBeGreaterThanOrEqual(1);
    for (const k of [...xKeys, ...yKeys, ...zKeys]) expect(await stored(k)).toBe(true);
    const del = async (id: string) => expect((await as('alice').gql<{ deleteRun: boolean }>('mutation($id: ID!) { deleteRun(id: $id) }', { id })).data!.deleteRun).toBe(true);
    await del(x.id);
    for (const k of xKeys) expect([k, await stored(k)]).toEqual([k, yKeys.has(k) || zKeys.has(k)]);
    await del(y.id);
    for (const k of [...xKeys, ...yKeys]) expect([k, await stored(k)]).toEqual([k, zKeys.has(k)]);
    await del(z.id);
    for (const k of [...xKeys, ...yKeys, ...zKeys]) expect([k, await stored(k)]).toEqual([k, false]);
    expect(await db.prisma.artifactRef.count({ where: { runId: { in: [x.id, y.id, z.id] } } })).toBe(0);
  }, 90000);
});

describe.each(BACKENDS.map((b) => [b.name, b] as const))('admission control on %s (ENGINE=off: runs stay queued)', (_name, backend) => {
  let a: Running;
  let b: Running;
  let db: Database;
  let cleanupDb: () => Promise<void>;
  let artifacts: string;
  let keys: Record<string, string>;
  let image: string;

  beforeAll(async () => {
    const u = await backend.setup();
    cleanupDb = u.cleanup;
    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-adm-'));
    db = await openDatabase(u.url);
    keys = await createKeys(db, [
      { name: 'bursty', scope: 'user', ratePerMinute: 1, burst: 3 },
      { name: 'busy', scope: 'user', maxActive: 2 },
      { name: 'shared', scope: 'user', ratePerMinute: 1, burst: 2 },
      { name: 'steps', scope: 'user' },
    ]);
    const over = { engine: 'off' as const, authCacheMs: 0, maxTotalSteps: 10 };
    a = await startServer(testConfig(u.url, artifacts, over));
    b = await startServer(testConfig(u.url, artifacts, { ...over, maxQueued: 0 }));
    image = await pngDataUrl(64, 9);
  }, 120000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.close();
    await cleanupDb?.();
  });

  const written = async () => ({ runs: await db.prisma.run.count(), events: await db.prisma.runEvent.count(), files: countFiles(artifacts) });
  const submit = (srv: Running, who: string, params: Record<string, unknown> = {}) =>
    clientAs(srv.url, keys[who]).gql<{ translate: Run }>(TRANSLATE, { input: { task: 'tiny-adm', image, params: { M: 3, ...params } } });

  test('rate limit: a burst, then quota/rate_limited with retryAfterSeconds, writing nothing', async () => {
    for (let i = 0; i < 3; i++) expect((await submit(a, 'bursty', { seed: i })).errors).toBeUndefined();
    const before = await written();
    const r = await submit(a, 'bursty', { seed: 9 });
    expect(codeOf(r)).toBe('quota/rate_limited');
    expect(r.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(r.errors![0]!.extensions!.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(await written()).toEqual(before);
  });

  test('the bucket is shared by every instance on the database', async () => {
    expect((await submit(a, 'shared', { seed: 1 })).errors).toBeUndefined();
    // instance b refuses everything for its queue cap; the cap is checked before the bucket, so b takes no token
    expect(codeOf(await submit(b, 'shared', { seed: 2 }))).toBe('server/queue_full');
    expect((await submit(a, 'shared', { seed: 3 })).errors).toBeUndefined();
    expect(codeOf(await submit(a, 'shared', { seed: 4 }))).toBe('quota/rate_limited');
  });

  test('active runs per key: quota/too_many_active until one ends', async () => {
    const r1 = (await submit(a, 'busy', { seed: 1 })).data!.translate;
    expect((await submit(a, 'busy', { seed: 2 })).errors).toBeUndefined();
    const before = await written();
    expect(codeOf(await submit(a, 'busy', { seed: 3 }))).toBe('quota/too_many_active');
    expect(await written()).toEqual(before);
    expect((await clientAs(a.url, keys.busy).gql('mutation($id: ID!) { cancelRun(id: $id) { status } }', { id: r1.id })).errors).toBeUndefined();
    expect((await submit(a, 'busy', { seed: 4 })).errors).toBeUndefined();
  });

  test('a burst of concurrent translations cannot overshoot the active limit', async () => {
    const k = await createKeys(db, [{ name: `par-${Date.now()}`, scope: 'user', maxActive: 3 }]);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => clientAs(a.url, Object.values(k)[0]).gql(TRANSLATE, { input: { task: 'tiny-adm', image, params: { M: 3, seed: 100 + i } } })),
    );
    expect(results.filter((r) => !r.errors).length).toBe(3);
    expect(results.filter((r) => codeOf(r) === 'quota/too_many_active').length).toBe(5);
  });

  test('steps per run: quota/too_many_steps before anything else, costing no token', async () => {
    const before = await written();
    const r = await submit(a, 'steps', { M: 6, steps: 6, repeats: 2 });
    expect(codeOf(r)).toBe('quota/too_many_steps');
    expect(r.errors![0]!.extensions).toMatchObject({ totalSteps: 12, limit: 10 });
    // bursty's bucket is empty, yet the steps refusal comes first
    expect(codeOf(await submit(a, 'bursty', { M: 6, steps: 6, repeats: 2 }))).toBe('quota/too_many_steps');
    expect(await written()).toEqual(before);
  });

  test('the global queue cap: server/queue_full, writing nothing', async () => {
    const before = await written();
    expect(codeOf(await submit(b, 'steps', { seed: 1 }))).toBe('server/queue_full');
    expect(await written()).toEqual(before);
  });
});

describe('the open default and the operator key (SQLite, ENGINE=off)', () => {
  test('no key ever created: open to everyone (and said at start); the first key closes it on every instance; API_TOKEN is an admin key', async () => {
    const u = await BACKENDS[0]!.setup();
    const artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-open-'));
    const lines: string[] = [];
    const pino = (await import('pino')).default;
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const open = await startServer({ ...testConfig(u.url, artifacts, { engine: 'off', authCacheMs: 0 }), logger: log });
    const operator = await startServer(testConfig(u.url, artifacts, { engine: 'off', authCacheMs: 0, apiToken: 'operator-secret-123' }));
    const db = await openDatabase(u.url);
    try {
      expect(lines.some((l) => /the service is OPEN/.test(l))).toBe(true);
      const image = await pngDataUrl(64, 1);
      const anon = await clientAs(open.url).gql<{ translate: Run }>(TRANSLATE, { input: { task: 'tiny-adm', image, params: { M: 3 } } });
      expect(anon.errors).toBeUndefined();
      // the operator's instance requires its token even with no key in the database
      expect(codeOf(await clientAs(operator.url).gql(LIST))).toBe('auth/unauthenticated');
      const opList = await clientAs(operator.url, 'operator-secret-123').gql<{ runs: { edges: { node: { id: string } }[] } }>(LIST);
      expect(opList.data!.runs.edges.map((e) => e.node.id)).toContain(anon.data!.translate.id);
      const [k] = Object.values(await createKeys(db, [{ name: 'first', scope: 'user' }]));
      expect(codeOf(await clientAs(open.url).gql(LIST))).toBe('auth/unauthenticated');
      // a key's holder does not see the runs made while the service was open (they have no owner)
      expect((await clientAs(open.url, k).gql<{ runs: { edges: unknown[] } }>(LIST)).data!.runs.edges).toEqual([]);
    } finally {
      await open.close();
      await operator.close();
      await db.close();
      await u.cleanup();
    }
  }, 60000);
});
