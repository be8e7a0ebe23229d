/**
 * The API's responsiveness while runs step, measured in one run on this machine: the embedded
 * server (buildApp: SQLite in a temp folder, the Run table as the queue, in-process events,
 * local-disk images, the engine in a worker thread) over the demo pack (models/demo, what
 * `npm start` serves).
 *   npm run bench:api [-- --runs 16 --requests 500 --every 20 --steps 100 --concurrency 16]
 *
 * `/healthz` latency (p50 / p99 / max over `--requests` requests, one every `--every` ms, each
 * waiting for the previous) from a prober in its own worker thread, so that its timings are not
 * held up by the server's event loop: first idle, then while `--runs` demo runs step (the bench
 * keeps that many queued-or-running by submitting a new run over GraphQL whenever one finishes;
 * the dispatcher holds `--concurrency` at once; the load is driven through the API's RunService,
 * what the resolvers call, so that it does not depend on API keys). Beside it, the server thread's event-loop delay
 * (perf_hooks.monitorEventLoopDelay, 1 ms resolution) over the same window, and the engine's
 * throughput (STEP events persisted per second). Goal: `/healthz` p99 < 50 ms with 16 runs.
 * `--profile FILE` writes a CPU profile of the server's thread over the busy phase.
 * Then (see {@link maxQueryTable}) the time to answer, over HTTP, the largest query the limits
 * allow, with a history of {@link MAX_QUERY}.maxFirst finished runs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { monitorEventLoopDelay } from 'perf_hooks';
import { Worker } from 'worker_threads';
import { Session } from 'inspector/promises';
import sharp from 'sharp';
import { buildApp, type App } from '../src/app';
import { createLogger } from '../src/logger';
import { resolveParams } from '../src/engine';
import type { RunStore } from '../src/runs';
import { table } from './table';
import { arg } from './args';

const RUNS = arg('runs', 16);
const REQUESTS = arg('requests', 500);
const EVERY_MS = arg('every', 20);
const STEPS = arg('steps', 100);
const CONCURRENCY = arg('concurrency', 16);
const GOAL_P99_MS = 50;
/** `--profile FILE`: a CPU profile of the server's thread over the busy phase (open it in Chrome DevTools) */
const PROFILE = process.argv.includes('--profile') ? process.argv[process.argv.indexOf('--profile') + 1] : undefined;
const PACK = 'demo';
/** the demo default (30) is refused as divergent at few steps (src/engine/params.ts); lambda_i costs nothing per step */
const LAMBDA_I = 3;

/**
 * The largest query the limits allow, answered over HTTP while the runs step: `aliases` aliases
 * of runs(first: N) { edges { node { <fields> } } }, with N the largest page (up to `maxFirst`)
 * the server accepts (found by bisection, so the row follows MAX_QUERY_COST and MAX_ALIASES as
 * they are). Fewer fields per row buy more rows within the cost limit: more database work per
 * unit of cost. Adjust the shape here.
 */
export const MAX_QUERY = {
  aliases: 15,
  maxFirst: 200,
  fields: 'id',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');

// ---- the prober: its own thread, its own event loop -------------------------------------------

const PROBER = `
const { parentPort, workerData } = require('worker_threads');
const { performance } = require('perf_hooks');
(async () => {
  const { url, n, every } = workerData;
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (!res.ok) throw new Error('healthz answered ' + res.status);
    const dt = performance.now() - t0;
    out.push(dt);
    if (dt < every) await new Promise((r) => setTimeout(r, every - dt));
  }
  parentPort.postMessage(out);
})().catch((e) => parentPort.postMessage({ error: e.message }));
`;

function probe(url: string, n: number, every: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(PROBER, { eval: true, workerData: { url, n, every } });
    w.once('message', (m: number[] | { error: string }) => {
      void w.terminate();
      if (Array.isArray(m)) resolve(m);
      else reject(new Error(m.error));
    });
    w.once('error', reject);
  });
}

// ---- the server and its load ------------------------------------------------------------------

async function sourceImage(size: number): Promise<string> {
  // a disc on a plain background, like the demo pack's source domain
  const raw = Buffer.alloc(size * size * 3, 40);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if ((x - size / 2) ** 2 + (y - size / 2) ** 2 < (size / 3) ** 2) raw.fill(220, (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
  }
  const png = await sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

interface Server {
  app: App;
  url: string;
  gql<T = unknown>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: { message: string }[] }>;
  dir: string;
}

async function startServer(): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-bench-api-'));
  const app = await buildApp({
    config: {
      databaseUrl: `file:${path.join(dir, 'egsde.db')}`,
      artifactsDir: path.join(dir, 'artifacts'),
      modelsDir: path.join(__dirname, '..', 'models'),
      concurrency: CONCURRENCY,
      port: 0,
    },
    logger: createLogger(process.env.LOG_LEVEL ?? 'warn'),
  });
  const { url } = await app.start(0);
  return {
    app,
    url,
    dir,
    async gql(query, variables) {
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      return (await res.json()) as never;
    },
  };
}

/** Keeps `n` runs queued or running until stopped; counts the steps the runs have done. */
function keepBusy(srv: Server, n: number, image: string) {
  let stopped = false;
  /** live runs -> steps done when last seen */
  const live = new Map<string, number>();
  let finishedSteps = 0;
  let submitted = 0;
  const submit = async () => {
    const run = await srv.app.services.runs.translate({ task: PACK, image: { dataUrl: image }, params: { steps: STEPS, lambdaI: LAMBDA_I, seed: 1000 + submitted } });
    submitted++;
    live.set(run.id, 0);
  };
  const poll = async () => {
    const page = await srv.app.services.runs.list({ status: ['QUEUED', 'RUNNING'] }, 200);
    const now = new Map(page.rows.map((r) => [r.id, r.stepsDone]));
    for (const [id, before] of live) {
      const s = now.get(id);
      if (s === undefined) {
        live.delete(id);
        finishedSteps += STEPS - before; // a finished run did all its steps (the bench cancels none while measuring)
      } else {
        finishedSteps += s - before;
        live.set(id, s);
      }
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await poll();
      while (live.size < n && !stopped) await submit();
      await sleep(250);
    }
  })();
  return {
    /** until `n` runs are running */
    async started(): Promise<void> {
      while ((srv.app.services.dispatcher?.activeRuns ?? 0) < Math.min(n, CONCURRENCY)) await sleep(50);
    },
    async totalSteps(): Promise<number> {
      await poll();
      return finishedSteps;
    },
    async stop(): Promise<void> {
      stopped = true;
      await loop;
      for (const id of live.keys()) await srv.app.services.runs.cancel(id).catch(() => undefined);
    },
  };
}

interface Phase {
  name: string;
  lat: number[];
  loop: { p50: number; p99: number; max: number };
  stepsPerS: number | null;
}

async function measure(name: string, srv: Server, steps?: () => Promise<number>, profile?: string): Promise<Phase> {
  const session = profile ? new Session() : null;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const h = monitorEventLoopDelay({ resolution: 1 });
  const s0 = steps ? await steps() : 0;
  const t0 = performance.now();
  h.enable();
  const lat = await probe(`${srv.url}/healthz`, REQUESTS, EVERY_MS);
  h.disable();
  if (session && profile) {
    const { profile: p } = await session.post('Profiler.stop');
    fs.writeFileSync(profile, JSON.stringify(p));
    session.disconnect();
  }
  const dt = (performance.now() - t0) / 1000;
  const s1 = steps ? await steps() : 0;
  return {
    name,
    lat: lat.sort((a, b) => a - b),
    loop: { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 },
    stepsPerS: steps ? (s1 - s0) / dt : null,
  };
}

/**
 * Finished runs in the history, so that the largest query has full pages to answer: `n` runs of a
 * task no worker serves (no one takes them), cancelled while queued, written to the store directly.
 */
async function seedHistory(srv: Server, n: number): Promise<void> {
  const store = (srv.app.services.runs as unknown as { deps: { store: RunStore } }).deps.store;
  const pack = srv.app.services.runs.packs().find((p) => p.name === PACK)!;
  const { seed: _seed, ...settings } = resolveParams(pack, { steps: STEPS, lambdaI: LAMBDA_I });
  for (let i = 0; i < n; i++) {
    const run = await store.create({ task: 'bench-history', params: settings, seed: i, totalSteps: settings.steps, sourceKey: `${'0'.repeat(64)}.png` });
    await store.requestCancel(run.id);
  }
}

/** each alias a different page size, so that no two read the same page (identical aliases are read once) */
function maxQueryOf(first: number): string {
  const one = (i: number) => `r${i}: runs(first: ${Math.max(1, first - i)}) { edges { node { ${MAX_QUERY.fields} } } }`;
  return `{ ${Array.from({ length: MAX_QUERY.aliases }, (_, i) => one(i)).join(' ')} }`;
}

async function post(srv: Server, query: string): Promise<{ ms: number; bytes: number; error: { code?: string; message: string } | null }> {
  const t0 = performance.now();
  const res = await fetch(`${srv.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const text = await res.text();
  const body = JSON.parse(text) as { errors?: { message: string; extensions?: { code?: string } }[] };
  const e = body.errors?.[0];
  return { ms: performance.now() - t0, bytes: text.length, error: e ? { code: e.extensions?.code, message: e.message } : null };
}

/**
 * THE COST OF A MAXIMAL ALLOWED QUERY ({@link MAX_QUERY}): its answer time over HTTP while the
 * runs step (p50 / max of `repeats`), and /healthz meanwhile.
 */
async function maxQueryTable(srv: Server, repeats = 5): Promise<void> {
  let lo = 0;
  let hi = MAX_QUERY.maxFirst;
  let refusal = '';
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    const r = await post(srv, maxQueryOf(mid));
    if (r.error?.code === 'query/too_complex') {
      refusal = r.error.message;
      hi = mid - 1;
    } else if (r.error) throw new Error(`the max query failed: ${r.error.message}`);
    else lo = mid;
  }
  if (lo === 0) {
    console.log(`the max query is refused at every page size: ${refusal}\n`);
    return;
  }
  const query = maxQueryOf(lo);
  const healthz = probe(`${srv.url}/healthz`, Math.max(20, repeats * 10), EVERY_MS);
  const runs: { ms: number; bytes: number }[] = [];
  for (let i = 0; i < repeats; i++) runs.push(await post(srv, query));
  const lat = (await healthz).sort((a, b) => a - b);
  const times = runs.map((r) => r.ms).sort((a, b) => a - b);
  console.log(`the largest query the limits allow, while the runs step${refusal ? ` (one page more: ${refusal})` : ''}\n`);
  table(
    ['query', 'rows', 'answer (KiB)', 'answer time p50 / max (ms)', '/healthz meanwhile p50 / p99 / max (ms)'],
    [[
      `${MAX_QUERY.aliases} x runs(first: ${lo}, ${lo - 1}, ..., ${Math.max(1, lo - MAX_QUERY.aliases + 1)}) { edges { node { ${MAX_QUERY.fields} } } }`,
      String(Array.from({ length: MAX_QUERY.aliases }, (_, i) => Math.max(1, lo - i)).reduce((a, b) => a + b, 0)),
      (runs[0]!.bytes / 1024).toFixed(0),
      `${ms(percentile(times, 50))} / ${ms(times[times.length - 1])}`,
      `${ms(percentile(lat, 50))} / ${ms(percentile(lat, 99))} / ${ms(lat[lat.length - 1])}`,
    ]],
  );
}

async function main(): Promise<void> {
  const srv = await startServer();
  const image = await sourceImage(32);
  try {
    // warm-up: the step graph is built on the first run
    const warm = keepBusy(srv, 1, image);
    await warm.started();
    await sleep(1500);
    await warm.stop();
    while ((srv.app.services.dispatcher?.activeRuns ?? 0) > 0) await sleep(50);

    await seedHistory(srv, MAX_QUERY.maxFirst);
    const phases: Phase[] = [];
    phases.push(await measure('idle', srv));
    const busy = keepBusy(srv, RUNS, image);
    await busy.started();
    await sleep(1000);
    phases.push(await measure(`${RUNS} runs stepping (${STEPS} steps each, concurrency ${CONCURRENCY})`, srv, () => busy.totalSteps(), PROFILE));
    await busy.stop();

    console.log(`\n/healthz latency (${REQUESTS} requests, one every ${EVERY_MS} ms, from another thread) and the server's event-loop delay; goal p99 < ${GOAL_P99_MS} ms\n`);
    table(
      ['phase', '/healthz p50 / p99 / max (ms)', 'loop delay p50 / p99 / max (ms)', 'steps/s', 'p99 goal', 'vs idle p99'],
      [
        ...phases.map((p) => {
          const p99 = percentile(p.lat, 99);
          return [
            p.name,
            `${ms(percentile(p.lat, 50))} / ${ms(p99)} / ${ms(p.lat[p.lat.length - 1])}`,
            `${ms(p.loop.p50)} / ${ms(p.loop.p99)} / ${ms(p.loop.max)}`,
            p.stepsPerS === null ? '-' : p.stepsPerS.toFixed(0),
            p99 < GOAL_P99_MS ? 'met' : 'MISSED',
            `${(p99 / percentile(phases[0]!.lat, 99)).toFixed(1)}x`,
          ];
        }),
      ],
    );
    // the history (seeded) has full pages; measured while runs step again
    const again = keepBusy(srv, RUNS, image);
    await again.started();
    await maxQueryTable(srv);
    await again.stop();
  } finally {
    await srv.app.stop();
    fs.rmSync(srv.dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
