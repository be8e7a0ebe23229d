import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDatabase } from '../../src/db/client';
import { PrismaRunStore } from '../../src/adapters/prisma/run-store';
import { runQueueConformance } from '../../src/queue/conformance';
import { TableRunQueue } from '../../src/queue/table-queue';

const settings = { sampler: 'egsde', M: 2, steps: 2, lambdaS: 0, lambdaI: 0, s1: 'cosine', s2: 'neg_l2', repeats: 1, previewEvery: 0 } as const;

runQueueConformance('TableRunQueue (SQLite)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-queue-'));
  const db = await openDatabase(`file:${path.join(dir, 'q.db')}`);
  const store = new PrismaRunStore(db.prisma);
  return {
    queue: new TableRunQueue(store),
    createQueued: async (i) => (await store.create({ task: 't', params: settings, seed: i, totalSteps: 2, sourceKey: 'k', createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) })).id,
    claim: async (id) => (await store.claim(id)).applied,
    dispose: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
