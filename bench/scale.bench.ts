/**
 * Scale-out, measured in one run on this machine (test/helpers/cluster.ts: child processes over a
 * fresh PostgreSQL schema and Redis namespace; QUEUE=redis, EVENTS=redis, STORAGE=postgres).
 *   npm run bench:scale [-- --runs 16 --steps 50 --events 500 --subscribers 100 --no-embedded]
 *
 * 1. Throughput: N demo-pack runs (32x32 PNG, M=400, `--steps` steps; lambdaI 3, which the API
 *    accepts at any step count and costs the same per step as the default 30) submitted at once,
 *    wall time from the first submit until the run table shows all of them SUCCEEDED (polled
 *    every 50 ms), each followed by a graphql-ws subscriber. Setups, in order: an embedded API
 *    (ENGINE=embedded: the engine in the API process) as a baseline; one API (ENGINE=off) with
 *    one engine worker; the same with a second worker (fresh runs); two fresh workers with the
 *    old capacity EGSDE_CONCURRENCY=16 (2 x EGSDE_MAX_BATCH), which lets the first worker to ask
 *    take most of a burst (the default is now one batch, 8). Every process has EGSDE_THREADS=1 (one
 *    onnxruntime thread), so two workers can use both cores. Each setup first finishes one short
 *    warm-up run per worker, outside the timing. Where the time went: CPU seconds of each process
 *    in the phase (utime + stime from /proc/<pid>/stat; PostgreSQL summed over its backends), the
 *    machine's busy share (/proc/stat), and which worker ran each run (its lease owner).
 * 2. Event latency, publish to a subscriber's receipt: a publisher bus and a subscriber bus in
 *    this process (the same MemoryEventBus; two RedisEventBus instances, i.e. two connections as
 *    two processes would have, on a unique namespace), 100 subscribers of one topic (each
 *    `ready` awaited), 500 RunEventView-shaped STEP events published one every 5 ms, each
 *    carrying `sentAt: performance.now()`; latency is taken for every (subscriber, event) when
 *    the subscriber's iterator yields it. Goal: p99 < 50 ms. Also end to end in each cluster
 *    phase, under load: from a STEP event's createdAt (the worker's log append, just before it
 *    publishes) to the graphql-ws client's receipt through the API (events created before a
 *    subscription's first message are left out, as possibly replayed from the log).
 */
import * as fs from 'fs';
import * as os from 'os';
import { randomUUID } from 'crypto';
import sharp from 'sharp';
import { Api, Cluster, Proc, REDIS_URL, startCluster } from '../test/helpers/cluster';
import { MemoryEventBus } from '../src/events/memory-event-bus';
import { RedisEventBus } from '../src/adapters/redis/event-bus';
import type { EventBus } from '../src/events/event-bus';
import { table } from './table';
import { arg } from './args';

const RUNS = arg('runs', 16);
const STEPS = arg('steps', 50);
const EVENTS = arg('events', 500);
const SUBSCRIBERS = arg('subscribers', 100);
const PUBLISH_EVERY_MS = arg('every', 5);
const REPEATS = arg('repeats', 2);
const EMBEDDED = !process.argv.includes('--no-embedded');
const GOAL_P99_MS = 50;
/** the demo default (30) is refused as divergent at few steps (src/engine/params.ts); lambda_i costs nothing per step */
const LAMBDA_I = 3;

const TRANSLATE = `mutation($input: TranslateInput!) { translate(input: $input) { id status } }`;
const RUN_EVENTS = `subscription($id: ID!) { runEvents(id: $id) { seq type createdAt } }`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---- CPU accounting from /proc ----------------------------------------------------------------

const TICK_S = 0.01; // USER_HZ is 100 on Linux

/** utime + stime of a process in seconds, or null once it is gone. */
function cpuOf(pid: number): number | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_S;
  } catch {
    return null;
  }
}

/** pids whose command name (/proc/<pid>/comm) is one of `names`. */
function pidsNamed(names: string[]): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (names.includes(fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim())) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Busy and total jiffies of the whole machine (all cores). */
function machine(): { busy: number; total: number } {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

type Groups = Record<string, () => number[]>;
interface CpuSnap {
  per: Map<number, number>;
  machine: { busy: number; total: number };
}

function snap(groups: Groups): CpuSnap {
  const per = new Map<number, number>();
  for (const pids of Object.values(groups)) for (const pid of pids()) per.set(pid, cpuOf(pid) ?? 0);
  return { per, machine: machine() };
}

/** CPU seconds per group between two snapshots; a process born in between counts from zero. */
function cpuSpent(groups: Groups, a: CpuSnap): { byGroup: Record<string, number>; busyShare: number } {
  const byGroup: Record<string, number> = {};
  for (const [g, pids] of Object.entries(groups)) {
    byGroup[g] = 0;
    for (const pid of pids()) {
      const now = cpuOf(pid);
      if (now !== null) byGroup[g] += now - (a.per.get(pid) ?? 0);
    }
  }
  const m = machine();
  return { byGroup, busyShare: (m.busy - a.machine.busy) / Math.max(1, m.total - a.machine.total) };
}

// ---- part 1: throughput --------------------------------------------------------------------------

async function source(i: number): Promise<string> {
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: (40 + 13 * i) % 256, g: (200 + 7 * i) % 256, b: 90 } } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

async function submit(api: Api, image: string, seed: number, steps: number): Promise<string> {
  const r = await api.gql<{ translate: { id: string } }>(TRANSLATE, { input: { task: 'demo', image, params: { M: 400, steps, seed, lambdaI: LAMBDA_I } } });
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.translate.id;
}

/** Who ran each run (its lease owner while RUNNING) and when it was first seen SUCCEEDED (ms after t0). */
interface Outcome {
  owner: Map<string, string>;
  doneAt: Map<string, number>;
}

async function untilDone(cluster: Cluster, ids: string[], timeoutMs: number, t0 = performance.now()): Promise<Outcome> {
  const out: Outcome = { owner: new Map(), doneAt: new Map() };
  for (;;) {
    const rows = await cluster.sql<{ id: string; status: string; leaseOwner: string | null }>(`SELECT id, status, "leaseOwner" FROM "Run" WHERE id = ANY($1)`, [ids]);
    const now = performance.now() - t0;
    for (const r of rows) {
      if (r.status === 'FAILED' || r.status === 'CANCELLED') throw new Error(`run ${r.id} ended ${r.status}`);
      if (r.leaseOwner) out.owner.set(r.id, r.leaseOwner);
      if (r.status === 'SUCCEEDED' && !out.doneAt.has(r.id)) out.doneAt.set(r.id, now);
    }
    if (out.doneAt.size === ids.length) return out;
    if (now > timeoutMs) throw new Error(`runs not done within ${timeoutMs} ms: ${JSON.stringify(rows.map((r) => r.status))}`);
    await sleep(50);
  }
}

/** Latencies (ms) of live STEP events, worker createdAt to receipt here, through the API's graphql-ws. */
function follow(api: Api, id: string, into: number[]): Promise<void> {
  let first: number | null = null;
  return new Promise((resolve, reject) => {
    api.ws.subscribe<{ runEvents: { seq: number; type: string; createdAt: string } }>(
      { query: RUN_EVENTS, variables: { id } },
      {
        next: (v) => {
          const now = Date.now();
          if (!v.data) return reject(new Error(JSON.stringify(v.errors)));
          first ??= now;
          const e = v.data.runEvents;
          const created = Date.parse(e.createdAt);
          if (e.type === 'STEP' && created >= first) into.push(now - created);
        },
        error: (e) => reject(e instanceof Error ? e : new Error(String(e))),
        complete: () => resolve(),
      },
    );
  });
}

interface Phase {
  setup: string;
  workers: number;
  wallS: number;
  cpu: Record<string, number>;
  busyShare: number;
  /** busyShare in cores */
  machineCores: number;
  /** wall time of every repetition (s) */
  walls: number[];
  /** per worker: runs it ran, and when its last one was done (s) */
  split: { worker: string; runs: number; lastDoneS: number }[];
  /** live STEP events, worker createdAt to graphql-ws receipt (ms) */
  e2e: number[];
}

async function phase(cluster: Cluster, api: Api, setup: string, workers: number, groups: Groups, images: string[], seed0: number): Promise<Phase> {
  // warm-up outside the timing: one short run per worker, at once (each worker's first steps build its sessions' kernels)
  const warm = await Promise.all(Array.from({ length: workers }, (_, i) => submit(api, images[i], 9000 + seed0 + i, Math.min(STEPS, 20))));
  await untilDone(cluster, warm, 120_000);

  const reps: Phase[] = [];
  for (let r = 0; r < REPEATS; r++) reps.push(await timed(cluster, api, setup, workers, groups, images, seed0 + 100 * r));
  // the fastest repetition (least disturbed by anything else on the machine); latencies of all
  const best = [...reps].sort((a, b) => a.wallS - b.wallS)[0];
  return { ...best, walls: reps.map((p) => p.wallS), e2e: reps.flatMap((p) => p.e2e).sort((a, b) => a - b) };
}

async function timed(cluster: Cluster, api: Api, setup: string, workers: number, groups: Groups, images: string[], seed0: number): Promise<Phase> {
  const before = snap(groups);
  const t0 = performance.now();
  const ids = await Promise.all(images.map((img, i) => submit(api, img, seed0 + i, STEPS)));
  // at most 32 subscriptions per connection (MAX_SUBSCRIPTIONS_PER_CONNECTION)
  const e2e: number[] = [];
  const followed = ids.slice(0, 32).map((id) => follow(api, id, e2e));
  for (const f of followed) f.catch(() => {}); // awaited below; if the runs fail first, dispose() ends them
  const done = await untilDone(cluster, ids, 600_000, t0);
  const wallS = (performance.now() - t0) / 1000;
  const { byGroup, busyShare } = cpuSpent(groups, before);
  await Promise.all(followed);
  const split = new Map<string, { worker: string; runs: number; lastDoneS: number }>();
  for (const id of ids) {
    const w = done.owner.get(id) ?? '?';
    const e = split.get(w) ?? { worker: w, runs: 0, lastDoneS: 0 };
    e.runs++;
    e.lastDoneS = Math.max(e.lastDoneS, done.doneAt.get(id)! / 1000);
    split.set(w, e);
  }
  return { setup, workers, wallS, walls: [wallS], cpu: byGroup, busyShare, machineCores: (busyShare * os.cpus().length), split: [...split.values()].sort((a, b) => a.worker.localeCompare(b.worker)), e2e: e2e.sort((a, b) => a - b) };
}

async function throughput(): Promise<Phase[]> {
  const images = await Promise.all(Array.from({ length: RUNS }, (_, i) => source(i)));
  const cluster = await startCluster({ EGSDE_THREADS: '1' });
  const phases: Phase[] = [];
  const procs: Record<string, Proc | undefined> = {};
  const pidOf = (n: string) => () => (procs[n]?.child.pid && procs[n]!.child.exitCode === null ? [procs[n]!.child.pid!] : []);
  const groups: Groups = {
    api: () => [...pidOf('embedded')(), ...pidOf('api')()],
    'worker 1': pidOf('w1'),
    'worker 2': pidOf('w2'),
    postgres: () => pidsNamed(['postgres']),
    redis: () => pidsNamed(['redis-server']),
    bench: () => [process.pid],
  };
  try {
    if (EMBEDDED) {
      const emb = await cluster.api('embedded', { ENGINE: 'embedded', WORKER_ID: 'embedded' });
      procs.embedded = emb;
      phases.push(await phase(cluster, emb, 'embedded (API + engine, one process)', 1, groups, images, 1000));
      await emb.stop('SIGTERM');
      procs.embedded = undefined;
    }
    const api = await cluster.api('api');
    procs.api = api;
    procs.w1 = await cluster.worker('w1', { WORKER_ID: 'w1' });
    phases.push(await phase(cluster, api, 'API (ENGINE=off) + worker', 1, groups, images, 2000));
    procs.w2 = await cluster.worker('w2', { WORKER_ID: 'w2' });
    phases.push(await phase(cluster, api, 'API (ENGINE=off) + worker', 2, groups, images, 3000));
    // the same two workers with the old capacity, two batches each (EGSDE_CONCURRENCY = 2 x EGSDE_MAX_BATCH = 16): the first to ask takes most of a burst
    await Promise.all([procs.w1.stop('SIGTERM'), procs.w2.stop('SIGTERM')]);
    [procs.w1, procs.w2] = await Promise.all([cluster.worker('w1-c16', { WORKER_ID: 'w1-c16', EGSDE_CONCURRENCY: '16' }), cluster.worker('w2-c16', { WORKER_ID: 'w2-c16', EGSDE_CONCURRENCY: '16' })]);
    phases.push(await phase(cluster, api, 'API + worker, EGSDE_CONCURRENCY=16', 2, groups, images, 4000));
  } finally {
    await cluster.dispose();
  }
  return phases;
}

// ---- part 2: bus latency -------------------------------------------------------------------------

interface StepEvent {
  runId: string;
  seq: number;
  type: 'STEP';
  createdAt: Date;
  step: { step: number; totalSteps: number; t: number; energies: { realism: number; faithfulness: number } | null; previewKey: string | null };
  sentAt: number;
}

function stepEvent(runId: string, i: number): StepEvent {
  const step = (i % 50) + 1;
  return {
    runId,
    seq: i + 2,
    type: 'STEP',
    createdAt: new Date(),
    step: { step, totalSteps: 50, t: 400 - 8 * step, energies: { realism: -0.1234567 * step, faithfulness: 12.345678 / step }, previewKey: step % 10 === 0 ? `previews/${runId}/${step}.png` : null },
    sentAt: performance.now(),
  };
}

interface Latency {
  bus: string;
  delivered: number;
  expected: number;
  sorted: number[];
}

async function busLatency(name: string, pub: EventBus, sub: EventBus): Promise<Latency> {
  const runId = randomUUID();
  const topic = `run:${runId}`;
  const subs = Array.from({ length: SUBSCRIBERS }, () => sub.subscribe(topic));
  await Promise.all(subs.map((s) => s.ready));
  const lat: number[] = [];
  const readers = subs.map(async (s) => {
    let got = 0;
    for await (const v of s) {
      lat.push(performance.now() - (v as StepEvent).sentAt);
      if (++got === EVENTS) break;
    }
  });
  const all = Promise.all(readers);
  let next = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    pub.publish(topic, stepEvent(runId, i));
    next += PUBLISH_EVERY_MS;
    await sleep(Math.max(0, next - performance.now()));
  }
  // Redis pub/sub is at most once: give stragglers 5 s, then closing the buses ends the readers
  await Promise.race([all, sleep(5000)]);
  return { bus: name, delivered: lat.length, expected: EVENTS * SUBSCRIBERS, sorted: lat.sort((a, b) => a - b) };
}

async function latencies(): Promise<Latency[]> {
  const out: Latency[] = [];
  const mem = new MemoryEventBus();
  try {
    out.push(await busLatency('memory (in-process)', mem, mem));
  } finally {
    await mem.close();
  }
  const namespace = `egsde-bench-${randomUUID().slice(0, 8)}`;
  const pub = await RedisEventBus.connect({ url: REDIS_URL, namespace });
  const sub = await RedisEventBus.connect({ url: REDIS_URL, namespace }).catch(async (e) => {
    await pub.close();
    throw e;
  });
  try {
    out.push(await busLatency('redis (two connections)', pub, sub));
  } finally {
    await Promise.all([pub.close(), sub.close()]);
  }
  return out;
}

// ---- report --------------------------------------------------------------------------------------

const ms = (sorted: number[], p: number, digits: number) => percentile(sorted, p).toFixed(digits);

async function main() {
  const t0 = performance.now();
  const cores = os.cpus().length;
  console.log(`Scale-out bench: ${RUNS} runs x ${STEPS} steps per setup (demo pack, 32 px, M=400), EGSDE_THREADS=1 per process, ${cores} cores\n`);

  const lat = await latencies();
  const phases = await throughput();

  const one = phases.find((p) => p.setup.startsWith('API') && p.workers === 1)!;
  console.log(`Throughput: ${RUNS} runs of ${STEPS} steps submitted at once, wall time until all SUCCEEDED (${Math.min(RUNS, 32)} graphql-ws subscribers following them); fastest of ${REPEATS}`);
  table(
    ['setup', 'workers', 'runs', 'wall s', 'runs/s', 'steps/s', 'ratio vs one worker', 'wall s, each repetition'],
    phases.map((p) => [p.setup, String(p.workers), String(RUNS), p.wallS.toFixed(2), (RUNS / p.wallS).toFixed(2), ((RUNS * STEPS) / p.wallS).toFixed(0), (one.wallS / p.wallS).toFixed(2), p.walls.map((w) => w.toFixed(2)).join(', ')]),
  );

  const cpuCols = ['api', 'worker 1', 'worker 2', 'postgres', 'redis', 'bench'];
  console.log('Where the time went (fastest repetition): CPU seconds per process (utime + stime), the machine\'s busy cores, and the runs each worker took');
  table(
    ['setup', 'workers', ...cpuCols, 'other processes', 'these / wall s', 'machine busy', 'runs taken (last done at s)'],
    phases.map((p) => {
      const total = cpuCols.reduce((a, c) => a + p.cpu[c], 0);
      const other = Math.max(0, p.machineCores * p.wallS - total);
      return [p.setup, String(p.workers), ...cpuCols.map((c) => p.cpu[c].toFixed(1)), other.toFixed(1), `${(total / p.wallS).toFixed(2)} cores`, `${p.machineCores.toFixed(2)} of ${cores} cores`, p.split.map((x) => `${x.worker}: ${x.runs} (${x.lastDoneS.toFixed(1)})`).join(', ')];
    }),
  );

  const engine = (p: Phase) => (p.cpu['worker 1'] + p.cpu['worker 2']) / p.wallS;
  const rest = (p: Phase) => (p.cpu.api + p.cpu.postgres + p.cpu.redis + p.cpu.bench) / p.wallS;
  const splitOf = (p: Phase) => p.split.map((x) => x.runs).join('/');
  const twos = phases.filter((p) => p.workers === 2);
  const best = [...twos].sort((x, y) => x.wallS - y.wallS)[0];
  const perRun = (p: Phase) => ((p.cpu['worker 1'] + p.cpu['worker 2']) / RUNS).toFixed(2);
  console.log(
    `Note: a second worker gives ${twos.map((p) => `${(one.wallS / p.wallS).toFixed(2)}x (runs split ${splitOf(p)})`).join(' and ')} on ${cores} cores at about the same engine CPU per run (${perRun(one)} s alone, ${twos.map(perRun).join(' and ')} s with two): ` +
      `one worker alone already kept ${engine(one).toFixed(2)} cores busy (its onnxruntime thread plus event loop, previews and database writes) and the machine ${one.machineCores.toFixed(2)} of ${cores}, so a second worker only adds what is left of the other core ` +
      `(with two: engines ${engine(best).toFixed(2)} cores, machine ${best.machineCores.toFixed(2)} of ${cores}, API + PostgreSQL + Redis + bench ${rest(best).toFixed(2)}).\n`,
  );

  console.log(`Event latency, publish to subscriber receipt: ${SUBSCRIBERS} subscribers of one topic, ${EVENTS} STEP events one every ${PUBLISH_EVERY_MS} ms (buses in this process, machine idle)`);
  const goal = (sorted: number[]) => (percentile(sorted, 99) < GOAL_P99_MS ? 'yes' : 'NO');
  const latRows = lat.map((l) => [l.bus, `${l.delivered}/${l.expected}`, ms(l.sorted, 50, 2), ms(l.sorted, 99, 2), l.sorted[l.sorted.length - 1].toFixed(2), goal(l.sorted)]);
  for (const p of phases) {
    if (!p.e2e.length) continue;
    latRows.push([`cluster under load (${Math.min(RUNS, 32)} subscribers): ${p.setup}, ${p.workers} worker${p.workers > 1 ? 's' : ''}`, `${p.e2e.length} STEP events`, ms(p.e2e, 50, 0), ms(p.e2e, 99, 0), p.e2e[p.e2e.length - 1].toFixed(0), goal(p.e2e)]);
  }
  table(['path', 'delivered', 'p50 ms', 'p99 ms', 'max ms', `p99 < ${GOAL_P99_MS} ms`], latRows);
  console.log(`(cluster rows: worker -> Redis -> API -> graphql-ws, from a STEP event's createdAt, set at the worker's log append just before it publishes, to the client's receipt; ms resolution)`);
  console.log(`bench took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
