/**
 * Migrations without the Prisma CLI's native schema engine.
 *
 * `prisma migrate` downloads a schema-engine binary, which this project cannot rely on. Prisma also
 * ships the schema engine as WebAssembly (@prisma/schema-engine-wasm); src/db/migrate-runner.mjs
 * drives it through a driver adapter, in a child process (the package is ESM around a .wasm file,
 * which CommonJS, ts-node and jest cannot load in-process). The folders stay in Prisma's format
 * (`<migrations>/<timestamp>_<name>/migration.sql` + `migration_lock.toml`) and the applied ones are
 * recorded in Prisma's `_prisma_migrations` table, so `prisma migrate deploy`/`status` agree with us.
 *
 * - {@link migrateDatabase}: apply pending migrations (idempotent; PostgreSQL takes Prisma's
 *   advisory lock, so concurrent callers are safe).
 * - {@link createMigration}: write a new migration folder from the schema (`npm run db:diff`).
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
  op: 'apply' | 'diff';
  provider: DatabaseProvider;
  connection: RunnerConnection;
  migrationsDir: string;
  schemaPath: string;
  from?: 'empty' | 'migrations';
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
function runEngine<T>(request: RunnerRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [runnerPath(), JSON.stringify(request)],
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

/**
 * Applies the pending migrations of the URL's provider (prisma/migrations for SQLite,
 * prisma/postgres/migrations for PostgreSQL). Creates the SQLite file's folder, or the PostgreSQL
 * schema named by `?schema=`, when missing. Safe to call on every start.
 */
export async function migrateDatabase(url?: string): Promise<MigrateResult> {
  const target = parseDatabaseUrl(url);
  const paths = prismaPaths(target.provider);
  if (target.provider === 'sqlite') fs.mkdirSync(path.dirname(target.file), { recursive: true });
  try {
    const { applied } = await runEngine<{ applied: string[] }>({
      op: 'apply',
      provider: target.provider,
      connection: connectionFor(target),
      migrationsDir: paths.migrations,
      schemaPath: paths.schema,
    });
    return { provider: target.provider, applied };
  } catch (e) {
    throw new Error(`Migrating ${redactUrl(target.url)}: ${(e as Error).message}`);
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
  const hasMigrations =
    fs.existsSync(paths.migrations) &&
    fs.readdirSync(paths.migrations).some((d) => fs.statSync(path.join(paths.migrations, d)).isDirectory());
  const sql = await diffSchema(provider, { ...options, from: hasMigrations ? 'migrations' : 'empty' });
  if (sql === '') return null;
  const dir = path.join(paths.migrations, `${migrationTimestamp(options.now ?? new Date())}_${name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'migration.sql'), sql);
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
