/**
 * Database URLs: which provider a URL names, and how to connect to it.
 *
 * - SQLite:     `file:<path>` (relative paths resolve against the process's working directory,
 *               like Prisma's own `file:` URLs). Query parameters are ignored.
 * - PostgreSQL: `postgres://` or `postgresql://user:password@host:port/database?schema=name`.
 *               `schema` (default `public`) selects the schema the tables live in: migrations
 *               create it when missing, and every connection sets `search_path` to it.
 *               Also understood: `sslmode` (disable | prefer | require | no-verify | verify-ca |
 *               verify-full), `host` (a socket directory), `connection_limit` (pool size),
 *               `application_name`, `connect_timeout` (seconds).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PoolConfig } from 'pg';

export type DatabaseProvider = 'sqlite' | 'postgresql';

/** Used when neither an explicit URL nor `DATABASE_URL` is given. */
export const DEFAULT_DATABASE_URL = 'file:./data/egsde.db';

export interface SqliteTarget {
  readonly provider: 'sqlite';
  readonly url: string;
  /** Absolute path of the database file. */
  readonly file: string;
}

export interface PostgresTarget {
  readonly provider: 'postgresql';
  readonly url: string;
  /** The schema that holds the tables (`?schema=`, default `public`). */
  readonly schema: string;
  /** node-postgres pool settings (no connection string: explicit fields only). */
  readonly pool: PoolConfig;
}

export type DatabaseTarget = SqliteTarget | PostgresTarget;

/** The URL to use: the explicit one, else `DATABASE_URL`, else {@link DEFAULT_DATABASE_URL}. */
export function resolveDatabaseUrl(url?: string): string {
  const chosen = url ?? process.env.DATABASE_URL;
  return chosen && chosen.trim() !== '' ? chosen.trim() : DEFAULT_DATABASE_URL;
}

/** A plain identifier, so it can be used in `search_path` and quoted SQL without escaping. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function parseDatabaseUrl(url?: string): DatabaseTarget {
  const resolved = resolveDatabaseUrl(url);
  if (resolved.startsWith('file:')) {
    const rest = resolved.slice('file:'.length).replace(/[?#].*$/, '');
    const filePath = rest.startsWith('//') ? rest.slice(2) : rest; // file://./x and file:///abs
    if (filePath === '' || filePath === ':memory:') {
      throw new Error(
        `Unsupported SQLite URL ${JSON.stringify(resolved)}: use a file path (file:./data/egsde.db); ` +
          'an in-memory database cannot be shared with the migration process',
      );
    }
    return { provider: 'sqlite', url: resolved, file: path.resolve(filePath) };
  }
  if (/^postgres(ql)?:\/\//.test(resolved)) return parsePostgresUrl(resolved);
  throw new Error(
    `Unsupported database URL ${JSON.stringify(redactUrl(resolved))}: expected file:<path> (SQLite) ` +
      'or postgres://... / postgresql://... (PostgreSQL)',
  );
}

function parsePostgresUrl(url: string): PostgresTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`Malformed PostgreSQL URL ${JSON.stringify(redactUrl(url))}`);
  }
  const q = u.searchParams;
  const schema = q.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`Unsupported schema name ${JSON.stringify(schema)} in the database URL: use letters, digits and _`);
  }
  const hostname = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const pool: PoolConfig = {
    host: q.get('host') ?? (hostname !== '' ? decodeURIComponent(hostname) : 'localhost'),
    port: u.port !== '' ? Number(u.port) : 5432,
    database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    user: u.username !== '' ? decodeURIComponent(u.username) : undefined,
    password: u.password !== '' ? decodeURIComponent(u.password) : undefined,
    // Unqualified names (migration SQL, _prisma_migrations) resolve in the chosen schema.
    options: `-c search_path=${schema}`,
  };
  const sslmode = q.get('sslmode');
  if (sslmode !== null && sslmode !== 'disable' && sslmode !== 'prefer') {
    pool.ssl =
      sslmode === 'verify-ca' || sslmode === 'verify-full' ? { rejectUnauthorized: true } : { rejectUnauthorized: false };
  }
  const limit = q.get('connection_limit');
  if (limit !== null && Number.isInteger(Number(limit)) && Number(limit) > 0) pool.max = Number(limit);
  const appName = q.get('application_name');
  if (appName !== null) pool.application_name = appName;
  const connectTimeout = q.get('connect_timeout');
  if (connectTimeout !== null && Number(connectTimeout) > 0) pool.connectionTimeoutMillis = Number(connectTimeout) * 1000;
  return { provider: 'postgresql', url, schema, pool };
}

/** The URL with its password replaced by `***` (for messages and logs). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/**
 * The project root: the nearest folder above this file holding prisma/schema.prisma (works from
 * src/db under ts-node/jest and from dist/src/db after `tsc`).
 */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'prisma', 'schema.prisma'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`prisma/schema.prisma not found above ${__dirname}`);
    dir = parent;
  }
}

/** Where each provider's schema file and migrations folder live. */
export function prismaPaths(provider: DatabaseProvider): { schema: string; migrations: string } {
  const base = provider === 'sqlite' ? path.join(projectRoot(), 'prisma') : path.join(projectRoot(), 'prisma', 'postgres');
  return { schema: path.join(base, 'schema.prisma'), migrations: path.join(base, 'migrations') };
}
