/**
 * The conformance fixture of a queue over a Prisma run store (src/queue/conformance.ts): runs are
 * created, claimed and cancelled through the store; consumers come from `makeQueue(tasks)`.
 */
import type { PrismaRunStore } from '../../src/adapters/prisma/run-store';
import type { QueueFixture } from '../../src/queue/conformance';
import type { RunQueue } from '../../src/queue/run-queue';

const settings = { sampler: 'egsde', M: 2, steps: 2, lambdaS: 0, lambdaI: 0, s1: 'cosine', s2: 'neg_l2', repeats: 1, previewEvery: 0 } as const;

/** `makeQueue()` is the fixture's queue, `makeQueue(tasks)` a consumer for those tasks; `release` runs after every queue closed. */
export function storeQueueFixture(store: PrismaRunStore, makeQueue: (tasks?: readonly string[]) => RunQueue, release: () => Promise<void>): QueueFixture {
  const queues = [makeQueue()];
  return {
    queue: queues[0],
    consumer: async (tasks) => {
      const q = makeQueue(tasks);
      queues.push(q);
      return q;
    },
    createQueued: async (i, task = 't') =>
      (await store.create({ task, params: settings, seed: i, totalSteps: 2, sourceKey: 'k', createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) })).id,
    claim: async (id) => (await store.claim(id)).applied,
    cancel: async (id) => {
      if (!(await store.markCancelled(id)).applied) throw new Error(`run ${id} was not cancellable`);
    },
    dispose: async () => {
      await Promise.all(queues.map((q) => q.close()));
      await release();
    },
  };
}
