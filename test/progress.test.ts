/**
 * What a frontend shows of a run, end to end over a real server and database: progress (steps,
 * fraction, time left) while it steps, its place in the queue, the size of a history, and
 * runsChanged carrying progress at most about once a second per run.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BACKENDS, clientAs, createKeys, pngDataUrl, startServer, testConfig, type Running } from './helpers/server-harness';
import { openDatabase, type Database } from '../src/db/client';
import { PROGRESS_PUBLISH_MS } from '../src/services/dispatcher';

const PROGRESS = 'progress { stepsDone totalSteps fraction etaSeconds }';
const TRANSLATE = `mutation($input: TranslateInput!) { translate(input: $input) { id status queuePosition ${PROGRESS} } }`;
const GET = `query($id: ID!) { run(id: $id) { id status stepsDone queuePosition ${PROGRESS} } }`;
const CHANGES = `subscription { runsChanged { id deleted run { id status stepsDone ${PROGRESS} } } }`;
const COUNT = 'query($filter: RunFilter, $first: Int) { runs(filter: $filter, first: $first) { totalCount edges { node { id } } pageInfo { hasNextPage } } }';

interface Progress {
  stepsDone: number;
  totalSteps: number;
  fraction: number;
  etaSeconds: number | null;
}
interface RunView {
  id: string;
  status: string;
  stepsDone: number;
  queuePosition: number | null;
  progress: Progress;
}
interface Change {
  runsChanged: { id: string; deleted: boolean; run: (Omit<RunView, 'queuePosition'> & { at?: number }) | null };
}

describe.each(BACKENDS.map((b) => [b.name, b] as const))('progress on %s', (_name, backend) => {
  let image: string;
  beforeAll(async () => {
    image = await pngDataUrl(64, 11);
  });

  describe('a stepping run (engine embedded)', () => {
    let srv: Running;
    let cleanupDb: () => Promise<void>;
    let artifacts: string;
    beforeAll(async () => {
      const u = await backend.setup();
      cleanupDb = u.cleanup;
      artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-prog-'));
      srv = await startServer(testConfig(u.url, artifacts));
    }, 120000);
    afterAll(async () => {
      await srv?.close();
      await cleanupDb?.();
      fs.rmSync(artifacts, { recursive: true, force: true });
    });

    test('progress rises while it runs, with a time left; runsChanged carries it at most ~1/s, ending in the final state', async () => {
      // collect runsChanged (with the time each arrived) from before the run is created
      const changes: Change[] = [];
      const arrived: number[] = [];
      let sawFinal: () => void = () => {};
      const final = new Promise<void>((resolve) => (sawFinal = resolve));
      let runId = '';
      const ready = new Promise<void>((resolve) => {
        const dispose = srv.ws.subscribe<Change>({ query: CHANGES }, {
          next: (v) => {
            const c = v.data!;
            changes.push(c);
            arrived.push(Date.now());
            if (c.runsChanged.id === runId && c.runsChanged.run?.status === 'SUCCEEDED') {
              sawFinal();
              dispose();
            }
          },
          error: () => sawFinal(),
          complete: () => sawFinal(),
        });
        // the subscription is live once the server acknowledged it: give it a moment
        setTimeout(resolve, 300);
      });
      await ready;

      // enough steps to last a few seconds on a loaded machine
      const created = await srv.gql<{ translate: RunView }>(TRANSLATE, { input: { task: 'tiny-adm', image, params: { M: 80, seed: 3 } } });
      expect(created.errors).toBeUndefined();
      const run = created.data!.translate;
      runId = run.id;
      expect(run.status).toBe('QUEUED');
      expect(run.progress).toEqual({ stepsDone: 0, totalSteps: 80, fraction: 0, etaSeconds: null });

      // poll the run while it steps
      const samples: RunView[] = [];
      for (const t0 = Date.now(); Date.now() - t0 < 90_000; ) {
        const r = (await srv.gql<{ run: RunView }>(GET, { id: run.id })).data!.run;
        samples.push(r);
        if (r.status === 'SUCCEEDED' || r.status === 'FAILED') break;
        await new Promise((res) => setTimeout(res, 50));
      }
      await final;
      const last = samples[samples.length - 1]!;
      expect(last.status).toBe('SUCCEEDED');
      expect(last.progress).toEqual({ stepsDone: 80, totalSteps: 80, fraction: 1, etaSeconds: 0 });
      expect(last.queuePosition).toBeNull();

      const stepping = samples.filter((s) => s.status === 'RUNNING' && s.stepsDone > 0 && s.stepsDone < 80);
      expect(stepping.length).toBeGreaterThanOrEqual(2);
      const fractions = stepping.map((s) => s.progress.fraction);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
      expect(new Set(fractions).size).toBeGreaterThanOrEqual(2);
      for (const s of stepping) {
        expect(s.progress.fraction).toBeCloseTo(s.stepsDone / 80, 10);
        expect(s.progress.etaSeconds).toBeGreaterThan(0);
        expect(Number.isFinite(s.progress.etaSeconds)).toBe(true);
        expect(s.queuePosition).toBeNull();
      }
      // before the first step: no pace, no estimate
      for (const s of samples.filter((x) => x.stepsDone === 0)) expect(s.progress.etaSeconds).toBeNull();

      // runsChanged for this run: created (QUEUED), RUNNING, progress while stepping, the final state
      const mine = changes.map((c, i) => ({ ...c.runsChanged.run!, at: arrived[i]! })).filter((r) => r.id === run.id);
      expect(mine[0]).toMatchObject({ status: 'QUEUED', stepsDone: 0 });
      expect(mine[mine.length - 1]).toMatchObject({ status: 'SUCCEEDED', stepsDone: 80, progress: { fraction: 1, etaSeconds: 0 } });
      const running = mine.filter((r) => r.status === 'RUNNING');
      const progressed = running.filter((r) => r.stepsDone > 0);
      const runningMs = mine[mine.length - 1]!.at - running[0]!.at;
      // throttled: about one per second (arrival jitter aside), never one per step
      expect(progressed.length).toBeLessThanOrEqual(Math.ceil(runningMs / PROGRESS_PUBLISH_MS) + 1);
      expect(progressed.length).toBeLessThan(80);
      if (runningMs > 2.5 * PROGRESS_PUBLISH_MS) expect(progressed.length).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < running.length; i++) {
        expect(running[i]!.stepsDone).toBeGreaterThanOrEqual(running[i - 1]!.stepsDone);
        expect(running[i]!.at - running[i - 1]!.at).toBeGreaterThan(PROGRESS_PUBLISH_MS * 0.5);
      }
      for (const r of progressed) {
        expect(r.progress.fraction).toBeCloseTo(r.stepsDone / 80, 10);
        if (r.stepsDone < 80) expect(r.progress.etaSeconds).toBeGreaterThan(0);
      }
    });
  });

  describe('queue positions and history counts (engine off, API keys)', () => {
    let srv: Running;
    let db: Database;
    let cleanupDb: () => Promise<void>;
    let artifacts: string;
    let keys: Record<string, string>;
    beforeAll(async () => {
      const u = await backend.setup();
      cleanupDb = u.cleanup;
      artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-prog-'));
      db = await openDatabase(u.url);
      keys = await createKeys(db, [
        { name: 'alice', scope: 'user' },
        { name: 'bob', scope: 'user' },
        { name: 'root', scope: 'admin' },
      ]);
      // no engine: runs stay QUEUED
      srv = await startServer(testConfig(u.url, artifacts, { engine: 'off', authCacheMs: 0 }));
    }, 120000);
    afterAll(async () => {
      await srv?.close();
      await db?.close();
      await cleanupDb?.();
      fs.rmSync(artifacts, { recursive: true, force: true });
    });

    const as = (who: string) => clientAs(srv.url, keys[who]);
    const translate = async (who: string, task: string, seed: number) => {
      const r = await as(who).gql<{ translate: RunView }>(TRANSLATE, { input: { task, image, params: { M: 3, seed } } });
      expect(r.errors).toBeUndefined();
      return r.data!.translate;
    };
    const positionOf = async (who: string, id: string) => {
      const r = await as(who).gql<{ run: RunView }>(GET, { id });
      expect(r.errors).toBeUndefined();
      return r.data!.run.queuePosition;
    };
    const count = async (who: string, filter: Record<string, unknown> = {}, first = 1) => {
      const r = await as(who).gql<{ runs: { totalCount: number; edges: unknown[]; pageInfo: { hasNextPage: boolean } } }>(COUNT, { filter, first });
      expect(r.errors).toBeUndefined();
      return r.data!.runs;
    };

    test('queued runs have positions 1..n in creation order per pack, null once not queued; history counts honour filters and ownership', async () => {
      const a1 = await translate('alice', 'tiny-adm', 1);
      const b1 = await translate('bob', 'tiny-adm', 2);
      const d1 = await translate('alice', 'tiny-ddpm', 3);
      const a2 = await translate('alice', 'tiny-adm', 4);
      const d2 = await translate('bob', 'tiny-ddpm', 5);
      const a3 = await translate('bob', 'tiny-adm', 6);
      // the mutation answers with the place the run took
      expect([a1, b1, d1, a2, d2, a3].map((r) => r.queuePosition)).toEqual([1, 2, 1, 3, 2, 4]);
      for (const r of [a1, b1, d1, a2, d2, a3]) expect(r.progress).toEqual({ stepsDone: 0, totalSteps: 3, fraction: 0, etaSeconds: null });

      const ownerOf = new Map<string, string>([...[a1, d1, a2].map((r) => [r.id, 'alice'] as const), ...[b1, d2, a3].map((r) => [r.id, 'bob'] as const)]);
      const positions = async (runs: RunView[]) => Promise.all(runs.map((r) => positionOf(ownerOf.get(r.id)!, r.id)));
      expect(await positions([a1, b1, a2, a3])).toEqual([1, 2, 3, 4]);
      expect(await positions([d1, d2])).toEqual([1, 2]);

      // a cancelled run leaves the queue: it has no place, those behind it move up
      expect((await as('bob').gql(`mutation($id: ID!) { cancelRun(id: $id) { id } }`, { id: b1.id })).errors).toBeUndefined();
      expect(await positions([a1, b1, a2, a3])).toEqual([1, null, 2, 3]);
      expect(await positions([d1, d2])).toEqual([1, 2]);

      // a history page lists in the page; totalCount counts the history under the filter
      expect(await count('alice')).toEqual({ totalCount: 3, edges: [expect.anything()], pageInfo: { hasNextPage: true } });
      expect((await count('alice', { task: 'tiny-ddpm' })).totalCount).toBe(1);
      expect((await count('alice', { status: 'CANCELLED' })).totalCount).toBe(0);
      expect((await count('bob')).totalCount).toBe(3);
      expect((await count('bob', { status: 'CANCELLED' })).totalCount).toBe(1);
      expect((await count('bob', { status: 'QUEUED', task: 'tiny-adm' })).totalCount).toBe(1);
      expect((await count('root')).totalCount).toBe(6);
      expect((await count('root', { status: 'QUEUED' }, 200)).totalCount).toBe(5);
      expect((await count('root', { task: 'tiny-adm' }, 200)).edges).toHaveLength(4);
      expect((await count('root', { createdAfter: new Date(Date.now() + 60_000).toISOString() })).totalCount).toBe(0);
      // aliases of one count in one operation agree
      const twice = await as('alice').gql<{ x: { totalCount: number }; y: { totalCount: number } }>('{ x: runs(first: 1) { totalCount } y: runs(first: 2) { totalCount } }');
      expect([twice.data?.x.totalCount, twice.data?.y.totalCount]).toEqual([3, 3]);
    });
  });
});
