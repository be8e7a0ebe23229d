/**
 * The RunQueue contract, as jest tests every adapter runs (the embedded table queue now, BullMQ
 * next): taken ids come oldest first; workers that take and claim in a loop get each run exactly
 * once; waiting wakes on enqueue; close stops it all. Runs are created and claimed through the
 * adapter's run store (`claim` is the store's conditional QUEUED -> RUNNING).
 */
import type { RunQueue } from './run-queue';

export interface QueueFixture {
  queue: RunQueue;
  /** Creates a QUEUED run (the i-th oldest) and returns its id; does not enqueue it. */
  createQueued(i: number): Promise<string>;
  /** The store's conditional claim; false when another worker won. */
  claim(id: string): Promise<boolean>;
  dispose(): Promise<void>;
}

/** What a worker does: take ids until one is claimed, or null when the queue is empty. */
async function takeAndClaim(f: QueueFixture): Promise<string | null> {
  for (;;) {
    const id = await f.queue.take();
    if (id === null) return null;
    if (await f.claim(id)) return id;
  }
}

export function runQueueConformance(name: string, make: () => Promise<QueueFixture>): void {
  describe(`RunQueue conformance: ${name}`, () => {
    let f: QueueFixture;
    beforeEach(async () => {
      f = await make();
    });
    afterEach(() => f.dispose());

    test('ids come oldest first; concurrent workers claim each run once', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push(await f.createQueued(i));
        await f.queue.enqueue(ids[i]);
      }
      expect(await f.queue.length()).toBe(4);
      expect(await f.queue.take()).toBe(ids[0]);
      const claims = await Promise.all([0, 1, 2, 3, 4, 5].map(() => takeAndClaim(f)));
      const got = claims.filter((c): c is string => c !== null);
      expect([...got].sort()).toEqual([...ids].sort());
      expect(claims.filter((c) => c === null)).toHaveLength(2);
      expect(await f.queue.length()).toBe(0);
      expect(await f.queue.take()).toBeNull();
    });

    test('waitForWork wakes on enqueue and times out otherwise', async () => {
      const t0 = Date.now();
      await f.queue.waitForWork(50);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
      const waiting = f.queue.waitForWork(10000);
      const id = await f.createQueued(1);
      await f.queue.enqueue(id);
      const t1 = Date.now();
      await waiting;
      expect(Date.now() - t1).toBeLessThan(1000);
      expect(await takeAndClaim(f)).toBe(id);
    });

    test('after close, take returns null and waiting returns at once', async () => {
      await f.queue.enqueue(await f.createQueued(1));
      await f.queue.close();
      expect(await f.queue.take()).toBeNull();
      const t0 = Date.now();
      await f.queue.waitForWork(10000);
      expect(Date.now() - t0).toBeLessThan(500);
    });
  });
}
