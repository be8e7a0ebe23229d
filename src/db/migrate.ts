/**
 * Migrations without the Prisma CLI's native schema engine.
 *
 * `prisma migrate` downloads a schema-engine binary, which this project cannot rely on. The
 * folders stay in Prisma's format (`<migrations>/<timestamp>_<name>/migration.sql` +
 * `migration_lock.toml`) and the applied ones are recorded in Prisma's `_prisma_migrations` table,
 * so `prisma migrate deploy`/`status` agree with us.
 *
 * - {@link migrateDatabase}: apply pending migrations, in this process (src/db/apply-migrations.ts):
 *   each migration and its `_prisma_migrations` row in one transaction, so a process killed at any
 *   instant leaves every migration applied or not at all, and the next start finishes the job.
 *   Idempotent; PostgreSQL takes Prisma's advisory lock, so concurrent callers are safe (SQLite:
 *   the write lock of `BEGIN IMMEDIATE`); when nothing is pending the database is only read.
 * - {@link createMigration}: write a new migration folder from the schema (`npm run db:diff`). This
 *   needs the schema engine, which Prisma also ships as WebAssembly (@prisma/schema-engine-wasm):
 *   src/db/migrate-runner.mjs drives it through a driver adapter, in a child process (the package
 *   is ESM around a .wasm file, which CommonJS, ts-node and jest cannot load in-process). The child
 *   exits when this process dies. It never writes to the target database.
 *
 * Command line (`npm run db:migrate`, `npm run db:diff -- <name>`):
 *   ts-node src/db/migrate.ts migrate [url]     url defaults to DATABASE_URL, then file:./data/egsde.db
 *   ts-node src/db/migrate.ts diff <name> [sqlite|postgresql|both]   (default both)
 *     PostgreSQL diffs replay the migrations on a throw-away shadow database, created on the server
 *     named by DB_DIFF_POSTGRES_URL (default: DATABASE_URL when it is PostgreSQL, else
 *     postgresql://postgres@127.0.0.1:5432/postgres).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Client as PgClient } from 'pg';
import { applyMigrations, readMigrationFolders } from './apply-migrations';
import {
  type DatabaseProvider,
  type DatabaseTarget,
  parseDatabaseUrl,
  prismaPaths,
  projectRoot,
  redactUrl,
} from './url';

export interface MigrateResult {
  readonly provider: DatabaseProvider;
  /** Names of the migrations applied by this call (empty when the database was up to date). */
  readonly applied: string[];
}

type RunnerConnection =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgresql'; config: DatabaseTargetPool; schema: string };
type DatabaseTargetPool = Extract<DatabaseTarget, { provider: 'postgresql' }>['pool'];

interface RunnerRequest {
  op: 'diff';
  provider: DatabaseProvider;
  connection: RunnerConnection;
  migrationsDir: string;
  schemaPath: string;
  from?: 'empty' | 'migrations';
  /** This process: the runner exits as soon as it is no longer its parent (this process died). */
  parentPid: number;
}

function runnerPath(): string {
  const candidates = [
    path.join(__dirname, 'migrate-runner.mjs'), // src/db (ts-node, jest)
    path.join(projectRoot(), 'src', 'db', 'migrate-runner.mjs'), // dist/src/db after tsc
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`migrate-runner.mjs not found (looked in ${candidates.join(', ')})`);
  return found;
}

function connectionFor(target: DatabaseTarget): RunnerConnection {
  switch (target.provider) {
    case 'sqlite':
      return { kind: 'sqlite', file: target.file };
    case 'postgresql':
      return { kind: 'postgresql', config: target.pool, schema: target.schema };
  }
}

/** Runs one request in `node migrate-runner.mjs` and returns its JSON answer. */
function runEngine<T>(request: Omit<RunnerRequest, 'parentPid'>): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [runnerPath(), JSON.stringify({ ...request, parentPid: process.pid } satisfies RunnerRequest)],
      { cwd: projectRoot(), maxBuffer: 64 * 1024 * 1024, env: process.env },
      (error, stdout, stderr) => {
        const last = stdout.trim().split('\n').pop() ?? '';
        let answer: ({ ok: true } & T) | { ok: false; error: string } | undefined;
        try {
          answer = JSON.parse(last);
        } catch {
          answer = undefined;
        }
        if (answer && answer.ok) return resolve(answer);
        const why = answer && !answer.ok ? answer.error : `${error?.message ?? 'no answer'}\n${stderr}`;
        reject(new Error(`schema engine ${request.op} failed (${request.provider}): ${why}`));
      },
    );
  });
}

/** The migration folder names, in order. */
export function migrationNames(provider: DatabaseProvider): string[] {
  const dir = prismaPaths(provider).migrations;
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => fs.statSync(path.join(dir, name)).isDirectory())
    .sort();
}

interface MigrationRow {
  migration_name: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/** `_prisma_migrations` rows, or null when the table (or the database) is not there yet. */
async function readMigrationTable(target: DatabaseTarget): Promise<MigrationRow[] | null> {
  switch (target.provider) {
    case 'sqlite': {
      if (!fs.existsSync(target.file)) return null;
      const db = new BetterSqlite3(target.file, { readonly: true, fileMustExist: true, timeout: 5_000 });
      try {
        const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'").get();
        if (!table) return null;
        return db.prepare('SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations').all() as MigrationRow[];
      } finally {
        db.close();
      }
    }
    case 'postgresql': {
      const { options: _searchPath, ...config } = target.pool;
      const client = new PgClient(config);
      await client.connect();
      try {
        const table = await client.query('SELECT to_regclass($1) AS t', [`"${target.schema}"._prisma_migrations`]);
        if (table.rows[0]?.t === null) return null;
        const rows = await client.query<MigrationRow>(
          `SELECT migration_name, finished_at, rolled_back_at FROM "${target.schema}"._prisma_migrations`,
        );
        return rows.rows;
      } finally {
        await client.end();
      }
    }
  }
}

/**
 * True when every migration folder is recorded as applied and none is half-applied: then nothing
 * is opened for writing. Any doubt (no table, an error, an unfinished or failed row) answers
 * false, and {@link applyMigrations} looks again under the lock.
 */
async function isUpToDate(target: DatabaseTarget): Promise<boolean> {
  try {
    const rows = await readMigrationTable(target);
    if (rows === null) return false;
    const live = rows.filter((r) => r.rolled_back_at === null);
    if (live.some((r) => r.finished_at === null)) return false; // interrupted or failed: recover or report it
    const applied = new Set(live.map((r) => r.migration_name));
    return migrationNames(target.provider).every((name) => applied.has(name));
  } catch {
    return false;
  }
}

export interface MigrateOptions {
  /**
   * Open the database for writing (and take the migration lock) even when `_prisma_migrations`
   * says everything is applied; the applier then finds nothing to do. Default false. (The name
   * dates from when a schema-engine process applied the migrations.)
   */
  alwaysRunEngine?: boolean;
}

/**
 * Applies the pending migrations of the URL's provider (prisma/migrations for SQLite,
 * prisma/postgres/migrations for PostgreSQL). Creates the SQLite file's folder, or the PostgreSQL
 * schema named by `?schema=`, when missing. Safe to call on every start: when nothing is pending
 * it only reads `_prisma_migrations`.
 *
 * Crash-safe: each migration is applied and recorded in one transaction, so a process killed at
 * any instant leaves it wholly applied or not at all; the next call applies the rest. A row left
 * unfinished by an older, non-transactional migrator is redone (see src/db/apply-migrations.ts).
 *
 * SQLite: the database may be open in other processes; this waits up to 10 s for their write locks.
 */
export async function migrateDatabase(url?: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const target = parseDatabaseUrl(url);
  const paths = prismaPaths(target.provider);
  if (target.provider === 'sqlite') fs.mkdirSync(path.dirname(target.file), { recursive: true });
  if (!options.alwaysRunEngine && (await isUpToDate(target))) return { provider: target.provider, applied: [] };
  try {
    const applied = await applyMigrations(target, readMigrationFolders(paths.migrations));
    return { provider: target.provider, applied };
  } catch (e) {
    const message = (e as Error).message;
    const hint =
      target.provider === 'sqlite' && /database is locked|SQLITE_BUSY/i.test(message)
        ? ' (another process held the SQLite file\'s write lock for over 10 s)'
        : '';
    throw new Error(`Migrating ${redactUrl(target.url)}${hint}: ${message}`);
  }
}

export interface DiffOptions {
  /** Start from nothing or from the existing migrations (default: 'migrations'). */
  from?: 'empty' | 'migrations';
  /** PostgreSQL server used for the shadow database (see the module comment). */
  postgresUrl?: string;
}

function diffPostgresTarget(postgresUrl?: string): DatabaseTarget {
  const fromEnv = process.env.DATABASE_URL;
  const url =
    postgresUrl ??
    process.env.DB_DIFF_POSTGRES_URL ??
    (fromEnv && /^postgres(ql)?:\/\//.test(fromEnv) ? fromEnv : 'postgresql://postgres@127.0.0.1:5432/postgres');
  return parseDatabaseUrl(url);
}

/**
 * The SQL that takes a database from `options.from` to the provider's schema.prisma ('' when
 * there is nothing to do).
 */
export async function diffSchema(provider: DatabaseProvider, options: DiffOptions = {}): Promise<string> {
  const paths = prismaPaths(provider);
  const target: DatabaseTarget =
    provider === 'sqlite'
      ? // Only the shadow database (in memory) is used; this file is never opened for writing.
        { provider: 'sqlite', url: 'file::memory:', file: ':memory:' }
      : diffPostgresTarget(options.postgresUrl);
  const { script } = await runEngine<{ script: string }>({
    op: 'diff',
    provider,
    connection: connectionFor(target),
    migrationsDir: paths.migrations,
    schemaPath: paths.schema,
    from: options.from ?? 'migrations',
  });
  // From an empty database the engine also emits `CREATE SCHEMA IF NOT EXISTS "public"`; the
  // migrations must work in whichever schema the URL names (migrateDatabase creates that one).
  const cleaned = script.replace(/-- CreateSchema\nCREATE SCHEMA IF NOT EXISTS "public";\n\n?/, '');
  return /^\s*(-- This is an empty migration\.)?\s*$/.test(cleaned) ? '' : cleaned;
}

const LOCK_HEADER =
  '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\n';

/** `20260130142501`: Prisma's migration folder timestamp (UTC). */
function migrationTimestamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * Writes `<migrations>/<timestamp>_<name>/migration.sql` with the SQL from the existing migrations
 * to the schema (and migration_lock.toml if missing). Returns the folder, or null when the schema
 * and the migrations already agree.
 */
export async function createMigration(
  provider: DatabaseProvider,
  name: string,
  options: DiffOptions & { now?: Date } = {},
): Promise<string | null> {
  if (!/^[a-z0-9_]+$/i.test(name)) throw new Error(`Migration name ${JSON.stringify(name)}: use letters, digits and _`);
  const paths = prismaPaths(provider);
  const hasMigrations = migrationNames(provider).length > 0;
  const sql = await diffSchema(provider, { ...options, from: hasMigrations ? 'migrations' : 'empty' });
  if (sql === '') return null;
  const dir = path.join(paths.migrations, `${migrationTimestamp(options.now ?? new Date())}_${name}`);
  if (fs.existsSync(dir)) throw new Error(`${dir} already exists`);
  // Written next to the migrations folder, then moved in: interrupted, this leaves no folder
  // without its migration.sql (which every start would then fail to read).
  fs.mkdirSync(paths.migrations, { recursive: true });
  const staging = path.join(path.dirname(paths.migrations), `.${path.basename(dir)}-${process.pid}.tmp`);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging);
  fs.writeFileSync(path.join(staging, 'migration.sql'), sql);
  fs.renameSync(staging, dir);
  const lock = path.join(paths.migrations, 'migration_lock.toml');
  if (!fs.existsSync(lock)) fs.writeFileSync(lock, `${LOCK_HEADER}provider = "${provider}"\n`);
  return dir;
}

async function main(argv: string[]): Promise<void> {
  const [command = 'migrate', ...rest] = argv;
  switch (command) {
    case 'migrate': {
      const url = rest[0];
      const result = await migrateDatabase(url);
      const where = redactUrl(parseDatabaseUrl(url).url);
      console.log(
        result.applied.length === 0
          ? `db:migrate: ${where} is up to date`
          : `db:migrate: applied ${result.applied.join(', ')} to ${where}`,
      );
      return;
    }
    case 'diff': {
      const [name, which = 'both'] = rest;
      if (!name) throw new Error('usage: db:diff -- <migration_name> [sqlite|postgresql|both]');
      const providers: DatabaseProvider[] =
        which === 'both' ? ['sqlite', 'postgresql'] : which === 'sqlite' || which === 'postgresql' ? [which] : [];
      if (providers.length === 0) throw new Error(`Unknown provider ${JSON.stringify(which)}`);
      const now = new Date();
      for (const provider of providers) {
        const dir = await createMigration(provider, name, { now });
        console.log(
          dir
            ? `db:diff: wrote ${path.relative(projectRoot(), dir)}/migration.sql`
            : `db:diff: ${provider} migrations already match the schema`,
        );
      }
      return;
    }
    default:
      throw new Error(`Unknown command ${JSON.stringify(command)} (migrate | diff)`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
