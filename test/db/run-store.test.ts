/**
 * The Prisma adapter on both databases: migrations, and the RunStore conformance suite
 * (src/runs/conformance.ts) on SQLite (a temp file) and PostgreSQL (a unique schema in database
 * `test`, dropped afterwards). Also the run state machine and the cursor codec.
 *
 * PostgreSQL: EGSDE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) names
 * the server and database; set it to `skip` to leave PostgreSQL out.
 */
import { type Database, migrateDatabase, openDatabase } from '../../src/db/client';
import { migrationNames } from '../../src/db/migrate';
import { PrismaRunStore } from '../../src/adapters/prisma/run-store';
import { RUN_STATUSES, canTransition, decodeRunCursor, encodeRunCursor, isTerminal } from '../../src/runs';
import { runStoreConformance } from '../../src/runs/conformance';
import { BACKENDS } from '../helpers/databases';

const backends = BACKENDS;

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

describe('run state machine', () => {
  it('allows exactly the documented transitions', () => {
    const allowed = RUN_STATUSES.flatMap((from) =>
      RUN_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`),
    );
    expect(allowed.sort()).toEqual(
      [
        'QUEUED->RUNNING',
        'QUEUED->CANCELLED',
        'QUEUED->FAILED',
        'RUNNING->SUCCEEDED',
        'RUNNING->FAILED',
        'RUNNING->CANCELLED',
        'RUNNING->QUEUED',
      ].sort(),
    );
    expect(RUN_STATUSES.filter(isTerminal)).toEqual(['SUCCEEDED', 'FAILED', 'CANCELLED']);
  });

  it('round-trips cursors and rejects malformed ones', () => {
    const c = { createdAt: new Date(T0 + 123), id: 'b7a1-…-ünïcode' };
    const encoded = encodeRunCursor(c);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeRunCursor(encoded)).toEqual(c);
    for (const bad of ['', 'not a cursor!', 'abc', Buffer.from('{"a":1}').toString('base64url'), Buffer.from('[1.5,"x"]').toString('base64url'), Buffer.from('[1,""]').toString('base64url')]) {
      expect(() => decodeRunCursor(bad)).toThrow(expect.objectContaining({ code: 'input/bad_cursor' }));
    }
  });
});

describe.each(backends)('Prisma migrations on $name', (backend) => {
  let db: Database;
  let url: string;
  let cleanup: () => Promise<void>;
  let firstMigration: string[];

  beforeAll(async () => {
    ({ url, cleanup } = await backend.setup());
    firstMigration = (await migrateDatabase(url)).applied;
    db = await openDatabase(url); // migrates again: must be a no-op
  });

  afterAll(async () => {
    await db?.close();
    await cleanup?.();
  });

  it('applies the migrations once: applying again is a no-op', async () => {
    const folders = migrationNames(backend.name);
    expect(folders.length).toBeGreaterThan(0);
    expect(db.provider).toBe(backend.name);
    expect(firstMigration).toEqual(folders);
    // While the service has the database open: only the migrations table is read.
    expect((await migrateDatabase(url)).applied).toEqual([]);
    const applied = await db.prisma.$queryRawUnsafe<{ migration_name: string }[]>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name',
    );
    expect(applied.map((r) => r.migration_name)).toEqual(folders);

    // The schema engine itself, twice on a fresh database (not open elsewhere: SQLite needs that).
    const other = await backend.setup();
    try {
      expect((await migrateDatabase(other.url, { alwaysRunEngine: true })).applied).toEqual(folders);
      expect((await migrateDatabase(other.url, { alwaysRunEngine: true })).applied).toEqual([]);
      expect((await migrateDatabase(other.url)).applied).toEqual([]);
    } finally {
      await other.cleanup();
    }
  });
});

for (const backend of backends) {
  runStoreConformance(`PrismaRunStore on ${backend.name}`, async (now) => {
    const { url, cleanup } = await backend.setup();
    const db = await openDatabase(url);
    return {
      store: new PrismaRunStore(db.prisma, { now }),
      reset: async () => {
        await db.prisma.runEvent.deleteMany();
        await db.prisma.run.deleteMany();
        await db.prisma.artifactRef.deleteMany();
      },
      dispose: async () => {
        await db.close();
        await cleanup();
      },
    };
  });
}
