import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDatabase } from '../db/client';
import { PrismaRunStore } from '../services/run-store';
import { runQueueConformance } from './conformance';
import { TableRunQueue } from './table-queue';

runQueueConformance('TableRunQueue (SQLite)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-queue-'));
  const db = await openDatabase(`file:${path.join(dir, 'q.db')}`);
  const store = new PrismaRunStore(db.prisma);
  return {
    queue: new TableRunQueue(store),
    store,
    dispose: async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
