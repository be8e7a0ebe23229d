/**
 * The embedded table queue (the Run table is the queue) passes the RunQueue conformance suite on
 * both databases: SQLite (a temp file) and PostgreSQL (a unique schema in database `test`, dropped
 * afterwards). Each test gets a fresh, empty database.
 *
 * PostgreSQL: EGSDE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) names
 * the server and database; set it to `skip` to leave PostgreSQL out.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { openDatabase } from '../../src/db/client';
import { PrismaRunStore } from '../../src/adapters/prisma/run-store';
import { type QueueFixture, runQueueConformance } from '../../src/queue/conformance';
import { TableRunQueue } from '../../src/queue/table-queue';

const POSTGRES_URL = process.env.EGSDE_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

const settings = { sampler: 'egsde', M: 2, steps: 2, lambdaS: 0, lambdaI: 0, s1: 'cosine', s2: 'neg_l2', repeats: 1, previewEvery: 0 } as const;

interface Backend {
  name: string;
  /** A fresh, empty database: its URL and how to remove it. */
  setup(): Promise<{ url: string; cleanup(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'SQLite',
  async setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-queue-'));
    return { url: `file:${path.join(dir, 'q.db')}`, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  },
};

const postgres: Backend = {
  name: 'PostgreSQL',
  async setup() {
    const schema = `egsde_queue_${process.pid}_${randomUUID().slice(0, 8)}`;
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('schema', schema);
    return {
      url: url.toString(),
      cleanup: async () => {
        const admin = new URL(POSTGRES_URL);
        admin.search = '';
        const client = new Client({ connectionString: admin.toString() });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
      },
    };
  },
};

const backends = POSTGRES_URL === 'skip' ? [sqlite] : [sqlite, postgres];

for (const backend of backends) {
  runQueueConformance(`TableRunQueue (${backend.name})`, async (): Promise<QueueFixture> => {
    const { url, cleanup } = await backend.setup();
    const db = await openDatabase(url);
    const store = new PrismaRunStore(db.prisma);
    const queues = [new TableRunQueue(store)];
    return {
      queue: queues[0],
      consumer: async (tasks) => {
        const q = new TableRunQueue(store, { tasks });
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
        await db.close();
        await cleanup();
      },
    };
  });
}
