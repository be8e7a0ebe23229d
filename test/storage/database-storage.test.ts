/**
 * DatabaseArtifactStorage (src/adapters/prisma/artifact-storage.ts) on SQLite (a temp file) and
 * PostgreSQL (a unique schema in database `test`, dropped afterwards): the ArtifactStorage
 * conformance suite, then what it does not cover — large artifacts, two processes on one
 * database, stat without the bytes, the size limit, corruption.
 *
 * PostgreSQL: EGSDE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) names
 * the server and database; set it to `skip` to leave PostgreSQL out.
 */
import { randomBytes } from 'node:crypto';
import { type Database, type PrismaClient, openDatabase } from '../../src/db/client';
import { DatabaseArtifactStorage } from '../../src/adapters/prisma/artifact-storage';
import { isCodedError } from '../../src/errors';
import { storageConformance } from '../../src/storage/conformance';
import { artifactKey } from '../../src/storage';
import { type Backend, BACKENDS } from '../helpers/databases';

const backends = BACKENDS;

/** One database per backend for the whole file (each opened on first use, removed in afterAll). */
const opened: { db: Database; cleanup(): Promise<void> }[] = [];
async function open(backend: Backend): Promise<Database & { url: string }> {
  const { url, cleanup } = await backend.setup();
  const db = await openDatabase(url);
  opened.push({ db, cleanup });
  return Object.assign(db, { url });
}
afterAll(async () => {
  for (const { db, cleanup } of opened.splice(0)) {
    await db.close();
    await cleanup();
  }
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return isCodedError(e) ? e.code : `not coded: ${String(e)}`;
  }
  return 'resolved';
}

/** The client with every Artifact query's operation and arguments recorded (the queries still run). */
function recording(prisma: PrismaClient): { client: PrismaClient; calls: { operation: string; args: { select?: Record<string, unknown> } }[] } {
  const calls: { operation: string; args: { select?: Record<string, unknown> } }[] = [];
  const client = prisma.$extends({
    query: {
      artifact: {
        $allOperations({ operation, args, query }) {
          calls.push({ operation, args: args as { select?: Record<string, unknown> } });
          return query(args);
        },
      },
    },
  });
  return { client: client as unknown as PrismaClient, calls };
}

for (const backend of backends) {
  let shared: Promise<Database> | undefined;
  storageConformance(`DatabaseArtifactStorage on ${backend.name}`, async () => {
    const db = await (shared ??= open(backend));
    await db.prisma.artifact.deleteMany(); // fresh and empty for each test
    return { storage: new DatabaseArtifactStorage(db.prisma) };
  });
}

describe.each(backends)('DatabaseArtifactStorage on $name', (backend) => {
  let db: Database & { url: string };
  let storage: DatabaseArtifactStorage;

  beforeAll(async () => {
    db = await open(backend);
  });
  beforeEach(async () => {
    await db.prisma.artifact.deleteMany();
    storage = new DatabaseArtifactStorage(db.prisma);
  });

  it('round-trips a 5 MB artifact byte for byte', async () => {
    const big = randomBytes(5 * 1024 * 1024);
    const { key, bytes } = await storage.put(big, 'image/png');
    expect(bytes).toBe(big.length);
    const got = await storage.get(key);
    expect(got!.bytes.length).toBe(big.length);
    expect(got!.bytes.equals(big)).toBe(true);
    expect(await storage.stat(key)).toEqual({ key, bytes: big.length, contentType: 'image/png' });
    expect(await storage.usage()).toEqual({ artifacts: 1, bytes: big.length });
  });

  it('two processes on one database see each other’s artifacts', async () => {
    const other = await openDatabase(db.url); // a second client and connection pool, as another process has
    try {
      const there = new DatabaseArtifactStorage(other.prisma);
      const b = randomBytes(10_000);
      const { key } = await storage.put(b, 'image/webp');
      expect((await there.get(key))!.bytes.equals(b)).toBe(true);
      expect(await there.delete(key)).toBe(true);
      expect(await storage.exists(key)).toBe(false);

      // Racing puts of the same bytes from both: all succeed, one row.
      const same = randomBytes(200_000);
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? there : storage).put(same, 'image/jpeg')));
      expect(new Set(results.map((r) => r.key))).toEqual(new Set([artifactKey(same, 'image/jpeg')]));
      expect(await storage.usage()).toEqual({ artifacts: 1, bytes: same.length });
      expect((await there.get(results[0]!.key))!.bytes.equals(same)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('a put that loses the insert race to another process succeeds (unique violation = stored)', async () => {
    const other = await openDatabase(db.url);
    try {
      // Between this put's existence check and its insert, the other process inserts the same row.
      let raced = 0;
      const racing = db.prisma.$extends({
        query: {
          artifact: {
            async create({ args, query }) {
              raced++;
              await other.prisma.artifact.create(args);
              return query(args);
            },
          },
        },
      }) as unknown as PrismaClient;
      const b = randomBytes(4096);
      const { key } = await new DatabaseArtifactStorage(racing).put(b, 'image/png');
      expect(raced).toBe(1);
      expect((await storage.get(key))!.bytes.equals(b)).toBe(true);
      expect(await storage.usage()).toEqual({ artifacts: 1, bytes: 4096 });
    } finally {
      await other.close();
    }
  });

  it('stat and exists never select the bytes; malformed keys never reach the database', async () => {
    const { client, calls } = recording(db.prisma);
    const s = new DatabaseArtifactStorage(client);
    const { key } = await s.put(randomBytes(1 << 20), 'image/png');
    calls.length = 0;
    expect(await s.stat(key)).toMatchObject({ bytes: 1 << 20 });
    expect(await s.exists(key)).toBe(true);
    expect(calls.length).toBe(2);
    for (const c of calls) {
      expect(c.args.select).toBeDefined();
      expect(c.args.select!.bytes).toBeFalsy();
    }
    calls.length = 0;
    await s.get(key);
    expect(calls.map((c) => c.args.select?.bytes)).toEqual([true]); // the recorder does see a read of the bytes

    calls.length = 0;
    const bad = `../${key}`;
    for (const p of [s.get(bad), s.exists(bad), s.stat(bad), s.delete(bad)]) expect(await codeOf(p)).toBe('storage/not_found');
    expect(calls).toEqual([]);
  });

  it('refuses artifacts over maxBytes with storage/failed, storing nothing', async () => {
    const small = new DatabaseArtifactStorage(db.prisma, { maxBytes: 1000 });
    expect((await small.put(Buffer.alloc(1000, 1), 'image/png')).bytes).toBe(1000);
    const over = Buffer.alloc(1001, 1);
    expect(await codeOf(small.put(over, 'image/png'))).toBe('storage/failed');
    expect(await small.exists(artifactKey(over, 'image/png'))).toBe(false);
    expect(new DatabaseArtifactStorage(db.prisma).maxBytes).toBe(64 * 1024 * 1024);
    expect(() => new DatabaseArtifactStorage(db.prisma, { maxBytes: -1 })).toThrow(RangeError);
  });

  it('detects corrupted bytes on get unless verifyOnRead is off', async () => {
    const b = randomBytes(100);
    const { key } = await storage.put(b, 'image/png');
    const bad = Buffer.from(b);
    bad[50] ^= 0xff;
    await db.prisma.artifact.update({ where: { key }, data: { bytes: new Uint8Array(bad) } });
    expect(await codeOf(storage.get(key))).toBe('storage/failed');
    expect((await new DatabaseArtifactStorage(db.prisma, { verifyOnRead: false }).get(key))!.bytes.equals(bad)).toBe(true);
  });

  it('reports database failures as storage/failed', async () => {
    const broken = await open(backend); // a database of its own: its Artifact table is dropped
    await broken.prisma.$executeRawUnsafe('DROP TABLE "Artifact"');
    const s = new DatabaseArtifactStorage(broken.prisma);
    const b = Buffer.from('x');
    expect(await codeOf(s.put(b, 'image/png'))).toBe('storage/failed');
    expect(await codeOf(s.get(artifactKey(b, 'image/png')))).toBe('storage/failed');
    expect(await codeOf(s.usage())).toBe('storage/failed');
  });
});
