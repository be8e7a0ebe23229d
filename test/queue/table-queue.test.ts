/**
 * The embedded table queue (the Run table is the queue) passes the RunQueue conformance suite on
 * both databases: SQLite (a temp file) and PostgreSQL (a unique schema in database `test`, dropped
 * afterwards). Each test gets a fresh, empty database.
 *
 * PostgreSQL: EGSDE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) names
 * the server and database; set it to `skip` to leave PostgreSQL out.
 */
import { openDatabase } from '../../src/db/client';
import { PrismaRunStore } from '../../src/adapters/prisma/run-store';
import { type QueueFixture, runQueueConformance } from '../../src/queue/conformance';
import { TableRunQueue } from '../../src/queue/table-queue';
import { BACKENDS } from '../helpers/databases';
import { storeQueueFixture } from './fixture';

for (const backend of BACKENDS) {
  runQueueConformance(`TableRunQueue (${backend.name})`, async (): Promise<QueueFixture> => {
    const { url, cleanup } = await backend.setup();
    const db = await openDatabase(url);
    const store = new PrismaRunStore(db.prisma);
    return storeQueueFixture(store, (tasks) => new TableRunQueue(store, tasks ? { tasks } : {}), async () => {
      await db.close();
      await cleanup();
    });
  });
}
