/**
 * The two databases every adapter test runs on: SQLite (a temp file in a folder that does not
 * exist yet, so opening it must create it) and PostgreSQL (a unique schema in database `test`,
 * dropped afterwards). EGSDE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test)
 * names the server and database; `skip` leaves PostgreSQL out.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';

export const POSTGRES_URL = process.env.EGSDE_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.EGSDE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestDatabase {
  url: string;
  /** removes it */
  cleanup(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgresql';
  /** A fresh, empty database. */
  setup(): Promise<TestDatabase>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-db-'));
    return { url: `file:${path.join(dir, 'nested', 'egsde.db')}`, cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  },
};

const postgresql: Backend = {
  name: 'postgresql',
  async setup() {
    const schema = `egsde_test_${process.pid}_${randomUUID().slice(0, 8)}`;
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

export const BACKENDS: Backend[] = POSTGRES_URL === 'skip' ? [sqlite] : [sqlite, postgresql];
