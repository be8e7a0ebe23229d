/**
 * Scale-out, as an operator runs it: two API instances (ENGINE=off) and two engine workers, all
 * separate processes over one PostgreSQL schema and Redis (BullMQ queue, pub/sub events, images
 * in the database). Ten runs through both APIs with subscribers on both; one worker is killed
 * with SIGKILL mid-run and the other resumes its runs from their checkpoints; a cancel sent to the
 * other API stops its run within a step; an API restart disturbs no run.
 */
import * as path from 'path';
import sharp from 'sharp';
import { readPackInfos } from '../src/engine';
import { Api, Cluster, Proc, startCluster } from './helpers/cluster';
import { until } from './helpers/until';

const TRANSLATE = `mutation($input: TranslateInput!) { translate(input: $input) { id status } }`;
const RUN = `query($id: ID!) { run(id: $id) { id status stepsDone attempts } }`;
const EVENTS = `subscription($id: ID!, $afterSeq: Int) { runEvents(id: $id, afterSeq: $afterSeq) { seq type step status } }`;
const STEPS = 100;

interface Seen {
  seq: number;
  type: string;
  step: number | null;
  status: string | null;
}

let cluster: Cluster;
afterAll(() => cluster?.dispose());

async function source(i: number): Promise<string> {
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 40 + 20 * i, g: 200 - 15 * i, b: 90 } } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

async function translate(api: Api, i: number, steps = STEPS): Promise<string> {
  const r = await api.gql<{ translate: { id: string } }>(TRANSLATE, { input: { task: 'demo', image: await source(i), params: { M: 400, steps, seed: 100 + i, previewEvery: 10 } } });
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return r.data.translate.id;
}

/**
 * Follows a run to its terminal event, as a careful client does: when its API goes away it
 * resubscribes on the fallback with afterSeq, so it should see every seq exactly once.
 */
function follow(id: string, first: () => Api, fallback: () => Api): Promise<Seen[]> {
  const seen: Seen[] = [];
  return new Promise((resolve, reject) => {
    const attempt = (api: Api, tries: number) => {
      const afterSeq = seen.length ? seen[seen.length - 1].seq : 0;
      api.ws.subscribe<{ runEvents: Seen }>({ query: EVENTS, variables: { id, afterSeq } }, {
        next: (v) => (v.data ? seen.push(v.data.runEvents) : reject(new Error(JSON.stringify(v.errors)))),
        error: () => (tries > 20 ? reject(new Error(`${id}: subscription kept failing`)) : setTimeout(() => attempt(fallback(), tries + 1), 300)),
        complete: () => {
          const last = seen[seen.length - 1];
          if (last && ['RESULT', 'ERROR', 'CANCELLED'].includes(last.type)) resolve(seen);
          else setTimeout(() => attempt(fallback(), tries + 1), 300);
        },
      });
    };
    attempt(first(), 0);
  });
}

function expectContiguous(id: string, seen: Seen[]): void {
  expect({ id, seqs: seen.map((e) => e.seq) }).toEqual({ id, seqs: seen.map((_, i) => i + 1) });
}

test('two APIs and two workers: a worker killed mid-run, its runs resumed from checkpoints; cancel across instances; API restart', async () => {
  cluster = await startCluster({ LEASE_MS: '3000', LEASE_RENEW_MS: '400', SWEEP_MS: '500', CHECKPOINT_EVERY: '4', EGSDE_CONCURRENCY: '8', EGSDE_MAX_BATCH: '8' });
  const [w1, w2] = await Promise.all([cluster.worker('w1', { WORKER_ID: 'w1' }), cluster.worker('w2', { WORKER_ID: 'w2' })]);
  let a1: Api = await cluster.api('a1');
  const a2 = await cluster.api('a2');
  const workers: Record<string, Proc> = { w1, w2 };

  const st = await a2.gql<{ engineStatus: { workers: { id: string; alive: boolean; packs: string[] }[] } }>(`{ engineStatus { workers { id alive packs } } }`);
  // every worker serves the repository's packs (the workers start in its root, MODELS_DIR=models)
  const served = (await readPackInfos(path.join(__dirname, '..', 'models'))).map((p) => p.name);
  expect(served).toContain('demo');
  expect(st.data!.engineStatus.workers.map((w) => [w.id, w.alive, w.packs]).sort()).toEqual([['w1', true, served], ['w2', true, served]]);

  // ten runs through both APIs, each followed on both
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push(await translate(i % 2 ? a2 : a1, i));
  const followers = ids.flatMap((id) => [follow(id, () => a1, () => a2), follow(id, () => a2, () => a2)]);

  // kill the worker holding the most runs once each of them is a few checkpoints in
  const held = await until('both workers running runs past a checkpoint', async () => {
    const rows = await cluster.sql<{ id: string; leaseOwner: string; checkpointStep: number }>(`SELECT id, "leaseOwner", "checkpointStep" FROM "Run" WHERE status = 'RUNNING'`);
    const byOwner = new Map<string, typeof rows>();
    for (const r of rows) byOwner.set(r.leaseOwner, [...(byOwner.get(r.leaseOwner) ?? []), r]);
    const [victim] = [...byOwner.entries()].sort((a, b) => b[1].length - a[1].length);
    return victim && victim[1].every((r) => r.checkpointStep >= 8) ? victim : null;
  });
  const [victimId, victimRuns] = held;
  await workers[victimId].stop('SIGKILL');

  // while the survivor takes over: restart an API instance (its subscribers resubscribe on the other)
  await a1.stop('SIGTERM');
  a1 = await cluster.api('a1-again');

  const results = await Promise.all(followers);
  for (let i = 0; i < results.length; i++) {
    const id = ids[Math.floor(i / 2)];
    expectContiguous(id, results[i]);
    expect(results[i][results[i].length - 1].type).toBe('RESULT');
  }
  const rows = await cluster.sql<{ id: string; status: string; attempts: number; leaseOwner: string | null; outputKey: string }>(`SELECT id, status, attempts, "leaseOwner", "outputKey" FROM "Run"`);
  expect(rows.filter((r) => r.status !== 'SUCCEEDED')).toEqual([]);
  // the killed worker's runs were resumed from their checkpoints, not started over
  for (const r of victimRuns) {
    const seen = results[2 * ids.indexOf(r.id) + 1];
    const resumedAt = seen.findIndex((e, k) => k > 0 && e.type === 'STATUS' && e.status === 'RUNNING' && seen.slice(0, k).some((p) => p.type === 'STATUS' && p.status === 'RUNNING'));
    expect(resumedAt).toBeGreaterThan(0);
    const firstStepAfter = seen.slice(resumedAt).find((e) => e.type === 'STEP')!;
    expect(firstStepAfter.step).toBeGreaterThan(r.checkpointStep);
    expect(rows.find((x) => x.id === r.id)!.attempts).toBe(2);
  }

  // a resumed run's result equals an uninterrupted run's with the same seed: run them again
  const again: string[] = [];
  for (const r of victimRuns) again.push(await translate(a2, ids.indexOf(r.id)));
  await Promise.all(again.map((id) => follow(id, () => a2, () => a1)));
  const keys = await cluster.sql<{ id: string; outputKey: string }>(`SELECT id, "outputKey" FROM "Run"`);
  const keyOf = (id: string) => keys.find((k) => k.id === id)!.outputKey;
  expect(victimRuns.map((r) => keyOf(r.id))).toEqual(again.map(keyOf));

  // cancel through the other API stops the run within a step
  const long = await translate(a1, 20, 400);
  const followed = follow(long, () => a1, () => a2);
  await until('the long run stepping', async () => ((await cluster.sql<{ stepsDone: number }>(`SELECT "stepsDone" FROM "Run" WHERE id = $1`, [long]))[0]?.stepsDone ?? 0) >= 3);
  const cancelled = await a2.gql(`mutation($id: ID!) { cancelRun(id: $id) { id status } }`, { id: long });
  expect(cancelled.errors).toBeUndefined();
  // the steps stored when the cancel was accepted: the stored count trails the engine by the event
  // writes in flight (one batch being written while the next gathers), so up to two steps under load
  const before = (await cluster.sql<{ stepsDone: number }>(`SELECT "stepsDone" FROM "Run" WHERE id = $1`, [long]))[0].stepsDone;
  const events = await followed;
  expect(events[events.length - 1].type).toBe('CANCELLED');
  const lastStep = Math.max(...events.filter((e) => e.type === 'STEP').map((e) => e.step ?? 0));
  // the engine stops at its next step boundary: at most that step past the two steps in flight
  expect(lastStep - before).toBeLessThanOrEqual(3);
  const viaA1 = await a1.gql<{ run: { status: string } }>(RUN, { id: long });
  expect(viaA1.errors).toBeUndefined();
  expect(viaA1.data!.run.status).toBe('CANCELLED');
  expect(await cluster.sql(`SELECT id FROM "Run" WHERE status IN ('RUNNING', 'QUEUED')`)).toEqual([]);
});
