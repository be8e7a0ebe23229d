/**
 * The RunQueue contract, as jest tests every adapter runs (the embedded table queue, BullMQ):
 * taken ids come oldest first; workers that take and claim in a loop get each run exactly once; a
 * consumer made for some tasks takes only their runs; enqueuing twice delivers once; delivery is
 * at least once (a taken run that cannot be claimed is skipped, a run taken but not claimed can be
 * enqueued again); waiting wakes on enqueue; close stops it all. Runs are created, claimed and
 * cancelled through the adapter's run store (`claim` is the store's conditional QUEUED -> RUNNING).
 */
import type { RunQueue } from './run-queue';

export interface QueueFixture {
  /** Producer, and consumer of every task the suite uses ('t', 'a', 'b'). */
  queue: RunQueue;
  /**
   * Another RunQueue over the same backing queue that takes only runs of these tasks (a worker's
   * packs); dispose() closes it.
   */
  consumer(tasks: readonly string[]): Promise<RunQueue>;
  /** Creates a QUEUED run of `task` (default 't'), the i-th oldest, and returns its id; does not enqueue it. */
  createQueued(i: number, task?: string): Promise<string>;
  /** The store's conditional claim; false when another worker won. */
  claim(id: string): Promise<boolean>;
  /** Cancels a QUEUED run in the store (it can no longer be claimed). */
  cancel(id: string): Promise<void>;
  dispose(): Promise<void>;
}

/** What a worker does: take ids until one is claimed, or null when the queue is empty. */
async function takeAndClaim(f: QueueFixture, queue: RunQueue = f.queue): Promise<string | null> {
  // bounded: an adapter that hands out the same unclaimable id forever fails here, not by timeout
  for (let takes = 0; takes < 100; takes++) {
    const id = await queue.take();
    if (id === null) return null;
    if (await f.claim(id)) return id;
  }
  throw new Error('take() kept returning ids that cannot be claimed');
}

async function createAndEnqueue(f: QueueFixture, i: number, task = 't'): Promise<string> {
  const id = await f.createQueued(i, task);
  await f.queue.enqueue({ id, task });
  return id;
}

/** Lets clocks move between enqueues, for adapters that order by enqueue time. */
const tick = () => new Promise((r) => setTimeout(r, 5));

export function runQueueConformance(name: string, make: () => Promise<QueueFixture>): void {
  describe(`RunQueue conformance: ${name}`, () => {
    let f: QueueFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(() => f.dispose());

    test('the backend is available', async () => {
      await expect(f.queue.assertAvailable()).resolves.toBeUndefined();
    });

    test('ids come oldest first; concurrent workers claim each run once', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        ids.push(await createAndEnqueue(f, i));
        await tick();
      }
      expect(await f.queue.length()).toBe(6);
      expect(await takeAndClaim(f)).toBe(ids[0]);
      expect(await takeAndClaim(f)).toBe(ids[1]);
      // three workers (separate consumers over one queue), two takers each
      const workers = [f.queue, await f.consumer(['t']), await f.consumer(['t'])];
      const claims = await Promise.all([0, 1, 2, 3, 4, 5].map((k) => takeAndClaim(f, workers[k % 3])));
      const got = claims.filter((c): c is string => c !== null);
      expect([...got].sort()).toEqual(ids.slice(2).sort());
      expect(claims.filter((c) => c === null)).toHaveLength(2);
      expect(await f.queue.length()).toBe(0);
      expect(await f.queue.take()).toBeNull();
    });

    test('oldest first across tasks', async () => {
      const ids = [];
      for (const [i, task] of (['a', 'b', 'a', 't'] as const).entries()) {
        ids.push(await createAndEnqueue(f, i, task));
        await tick();
      }
      const taken = [];
      for (let k = 0; k < 4; k++) taken.push(await takeAndClaim(f));
      expect(taken).toEqual(ids);
    });

    test('a consumer for some tasks takes only their runs', async () => {
      const b = await createAndEnqueue(f, 0, 'b');
      await tick();
      const a = await createAndEnqueue(f, 1, 'a');
      const onlyA = await f.consumer(['a']);
      // the 'b' run is older: a consumer that ignored its tasks would take it first
      expect(await takeAndClaim(f, onlyA)).toBe(a);
      expect(await onlyA.take()).toBeNull();
      const aOrT = await f.consumer(['t', 'a']);
      expect(await aOrT.take()).toBeNull();
      expect(await takeAndClaim(f)).toBe(b);
    });

    test('enqueuing the same run twice delivers it once', async () => {
      const id = await f.createQueued(0);
      await f.queue.enqueue({ id, task: 't' });
      await f.queue.enqueue({ id, task: 't' });
      expect(await f.queue.length()).toBe(1);
      expect(await f.queue.take()).toBe(id);
      expect(await f.claim(id)).toBe(true);
      expect(await f.queue.take()).toBeNull();
    });

    test('at least once: a run cancelled after enqueue is skipped by the claim', async () => {
      const cancelled = await createAndEnqueue(f, 0);
      await tick();
      const live = await createAndEnqueue(f, 1);
      await f.cancel(cancelled);
      expect(await takeAndClaim(f)).toBe(live);
      expect(await f.queue.take()).toBeNull();
      expect(await f.queue.length()).toBe(0);
    });

    test('a run taken but not claimed can be enqueued again (recovery re-enqueues it)', async () => {
      const id = await createAndEnqueue(f, 0);
      expect(await f.queue.take()).toBe(id);
      await f.queue.enqueue({ id, task: 't' });
      expect(await f.queue.length()).toBe(1);
      expect(await takeAndClaim(f)).toBe(id);
      expect(await f.queue.take()).toBeNull();
    });

    test('waitForWork wakes on enqueue and times out otherwise', async () => {
      const t0 = Date.now();
      await f.queue.waitForWork(50);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
      const waiting = f.queue.waitForWork(10000);
      const id = await f.createQueued(1);
      await f.queue.enqueue({ id, task: 't' });
      const t1 = Date.now();
      await waiting;
      expect(Date.now() - t1).toBeLessThan(1000);
      expect(await takeAndClaim(f)).toBe(id);
    });

    test('after close, take returns null and waiting returns at once', async () => {
      await createAndEnqueue(f, 1);
      // a consumer with nothing to take: only close can end its wait early
      const idle = await f.consumer(['b']);
      const waiting = idle.waitForWork(10000);
      const t0 = Date.now();
      await idle.close();
      await waiting;
      expect(Date.now() - t0).toBeLessThan(5000);
      await f.queue.close();
      // the run is still waiting
      expect(await f.queue.take()).toBeNull();
      const t1 = Date.now();
      await f.queue.waitForWork(10000);
      expect(Date.now() - t1).toBeLessThan(500);
    });
  });
}
