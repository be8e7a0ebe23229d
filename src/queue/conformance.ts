/**
 * The RunQueue contract, as jest tests every adapter runs (the embedded table queue now, BullMQ
 * next): claims are exclusive and oldest-first, waiting wakes on enqueue.
 */
import type { RunStore } from '../services/run-store';
import type { RunQueue } from './run-queue';

export function runQueueConformance(name: string, make: () => Promise<{ queue: RunQueue; store: RunStore; dispose(): Promise<void> }>): void {
  describe(`RunQueue conformance: ${name}`, () => {
    let ctx: Awaited<ReturnType<typeof make>>;
    beforeEach(async () => {
      ctx = await make();
    });
    afterEach(() => ctx.dispose());

    const newRun = (i: number) => ctx.store.create({ task: 't', sampler: 'egsde', params: {}, seed: i, totalSteps: 1, sourceKey: 'k', createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) });

    test('claims are oldest first, each run once, and move it to RUNNING', async () => {
      const ids = [];
      for (let i = 0; i < 4; i++) {
        const r = await newRun(i);
        ids.push(r.id);
        await ctx.queue.enqueue(r.id);
      }
      expect(await ctx.queue.length()).toBe(4);
      const claims = await Promise.all([0, 1, 2, 3, 4, 5].map(() => ctx.queue.claim()));
      const got = claims.filter((c) => c !== null).map((c) => c!.id);
      expect(got.sort()).toEqual([...ids].sort());
      expect(claims.filter((c) => c === null)).toHaveLength(2);
      expect(claims.every((c) => c === null || c.status === 'RUNNING')).toBe(true);
      expect(await ctx.queue.length()).toBe(0);
    });

    test('waitForWork wakes on enqueue and times out otherwise', async () => {
      const t0 = Date.now();
      await ctx.queue.waitForWork(50);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
      const waiting = ctx.queue.waitForWork(10000);
      const r = await newRun(1);
      await ctx.queue.enqueue(r.id);
      const t1 = Date.now();
      await waiting;
      expect(Date.now() - t1).toBeLessThan(1000);
      expect((await ctx.queue.claim())?.id).toBe(r.id);
    });

    test('after close, claim returns null and waiting returns at once', async () => {
      await ctx.queue.enqueue((await newRun(1)).id);
      await ctx.queue.close();
      expect(await ctx.queue.claim()).toBeNull();
      const t0 = Date.now();
      await ctx.queue.waitForWork(10000);
      expect(Date.now() - t0).toBeLessThan(500);
    });
  });
}
