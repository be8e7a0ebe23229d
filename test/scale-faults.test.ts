/**
 * Scale-out faults and ownership, in-process over real PostgreSQL/SQLite and Redis:
 * - Redis down (a TCP relay to it, cut): translate answers server/unavailable and writes nothing,
 *   history queries keep working; when Redis is back the service reconnects by itself.
 * - Start-up touches no run whose lease is alive; once that lease expires the run is recovered
 *   and resumed here from its checkpoint.
 * - A run whose pack no live worker serves waits, then fails with run/no_worker.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';
import sharp from 'sharp';
import Redis from 'ioredis';
import { BACKENDS, startServer, Running } from './helpers/server-harness';
import { TcpRelay } from './helpers/tcp-relay';
import type { RunStore } from '../src/runs';
import { until } from './helpers/until';
import { REDIS_URL } from './helpers/databases';

const MODELS = path.join(__dirname, '..', 'models');
const TRANSLATE = `mutation($input: TranslateInput!) { translate(input: $input) { id status } }`;

let image: string;
beforeAll(async () => {
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 30, g: 160, b: 90 } } }).png().toBuffer();
  image = `data:image/png;base64,${png.toString('base64')}`;
});

async function statusOf(s: Running, id: string): Promise<{ status: string; errorCode: string | null } | undefined> {
  const r = await s.gql<{ run: { status: string; error: { code: string } | null } }>(`query($id: ID!) { run(id: $id) { status error { code } } }`, { id });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data && { status: r.data.run.status, errorCode: r.data.run.error?.code ?? null };
}
const storeOf = (s: Running) => (s.app.services.runs as unknown as { deps: { store: RunStore } }).deps.store;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-faults-'));
}

test('Redis down: translate answers server/unavailable and writes nothing; history keeps working; reconnects by itself', async () => {
  const relay = new TcpRelay(REDIS_URL);
  await relay.up();
  const dir = tempDir();
  const prefix = `egsde-test-${randomUUID().slice(0, 8)}`;
  const s = await startServer({ config: { databaseUrl: `file:${path.join(dir, 'db.sqlite')}`, artifactsDir: path.join(dir, 'a'), modelsDir: MODELS, threads: 1, queue: 'redis', events: 'redis', redisUrl: relay.url, redisPrefix: prefix, drainMs: 1000 } });
  try {
    const ok = await s.gql<{ translate: { id: string } }>(TRANSLATE, { input: { task: 'demo', image, params: { seed: 1 } } });
    const first = ok.data!.translate.id;
    await until('the first run to finish', async () => (await statusOf(s, first))?.status === 'SUCCEEDED');

    await relay.down();
    const refused = await s.gql(TRANSLATE, { input: { task: 'demo', image, params: { seed: 2 } } });
    expect(refused.errors?.[0]?.extensions?.code).toBe('server/unavailable');
    const history = await s.gql<{ runs: { edges: { node: { id: string } }[] } }>(`{ runs(first: 10) { edges { node { id } } } }`);
    expect(history.errors).toBeUndefined();
    expect(history.data!.runs.edges.map((e) => e.node.id)).toEqual([first]);
    expect(await statusOf(s, first)).toEqual({ status: 'SUCCEEDED', errorCode: null });
    expect(await (await fetch(`${s.url}/healthz`)).json()).toMatchObject({ status: 'degraded', queue: 'unavailable', queueLength: null });

    await relay.up();
    const back = await until('translate accepted again', async () => (await s.gql<{ translate: { id: string } }>(TRANSLATE, { input: { task: 'demo', image, params: { seed: 3 } } })).data?.translate.id, 20_000);
    await until('the run after the outage to finish', async () => (await statusOf(s, back))?.status === 'SUCCEEDED');
    expect((await storeOf(s).countsByStatus())).toMatchObject({ SUCCEEDED: 2, QUEUED: 0, RUNNING: 0, FAILED: 0 });
  } finally {
    await s.close();
    await relay.down();
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe.each(BACKENDS)('ownership on $name', (backend) => {
  test('start-up leaves a run with a live lease alone; once the lease expires the run is recovered and runs here', async () => {
    const dir = tempDir();
    const u = await backend.setup();
    const config = { databaseUrl: u.url, artifactsDir: path.join(dir, 'a'), modelsDir: MODELS, threads: 1, leaseMs: 1000, drainMs: 1000 };
    let again: Running | undefined;
    try {
      const s = await startServer({ config: { ...config, engine: 'off' } });
      const id = (await s.gql<{ translate: { id: string } }>(TRANSLATE, { input: { task: 'demo', image, params: { seed: 5 } } })).data!.translate.id;
      // another worker holds it, alive for 4 s more
      expect((await storeOf(s).claim(id, { owner: 'elsewhere', ttlMs: 4000 })).applied).toBe(true);
      await s.close();
      const t0 = Date.now();
      again = await startServer({ config });
      const store = storeOf(again);
      expect(await store.get(id)).toMatchObject({ status: 'RUNNING', leaseOwner: 'elsewhere', attempts: 1 });
      await new Promise((r) => setTimeout(r, 1500));
      if (Date.now() - t0 < 3500) expect(await store.get(id)).toMatchObject({ status: 'RUNNING', leaseOwner: 'elsewhere' });
      await until('the run to finish here', async () => (await store.get(id))?.status === 'SUCCEEDED', 60_000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(3500);
      const run = await store.get(id);
      expect(run).toMatchObject({ attempts: 2, leaseOwner: null });
      // the terminal event follows the transition: wait for it rather than race it
      const events = await until('the RESULT event', async () => {
        const all = await store.eventsAfter(id, 0);
        return all[all.length - 1]?.type === 'RESULT' ? all : null;
      });
      const types = events.map((e) => `${e.type}${(e.payload as { status?: string }).status ? `:${(e.payload as { status?: string }).status}` : ''}`);
      expect(types.filter((t) => !t.startsWith('STEP'))).toEqual(['STATUS:QUEUED', 'STATUS:QUEUED', 'STATUS:RUNNING', 'RESULT']);
    } finally {
      await again?.close();
      await u.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a run whose pack no live worker serves waits, then fails with run/no_worker', async () => {
    const dir = tempDir();
    const u = await backend.setup();
    const s = await startServer({ config: { databaseUrl: u.url, artifactsDir: path.join(dir, 'a'), modelsDir: MODELS, engine: 'off', packWaitMs: 1500, sweepMs: 200 } });
    try {
      const t0 = Date.now();
      const id = (await s.gql<{ translate: { id: string } }>(TRANSLATE, { input: { task: 'demo', image, params: {} } })).data!.translate.id;
      expect((await statusOf(s, id))?.status).toBe('QUEUED');
      const failed = await until('run/no_worker', async () => {
        const r = await statusOf(s, id);
        return r?.status === 'FAILED' ? r : null;
      });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
      expect(failed.errorCode).toBe('run/no_worker');
      const events = await s.subscribe<{ runEvents: { type: string; error: { code: string; message: string } | null } }>(`subscription($id: ID!) { runEvents(id: $id) { type error { code message } } }`, { id });
      const last = events.events[events.events.length - 1].runEvents;
      expect(last.type).toBe('ERROR');
      expect(last.error?.message).toMatch(/no live worker serves pack demo/);
      const st = await s.gql<{ engineStatus: { provider: string; workers: unknown[] } }>(`{ engineStatus { provider workers { id } } }`);
      expect(st.data!.engineStatus).toEqual({ provider: 'none', workers: [] });
    } finally {
      await s.close();
      await u.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
