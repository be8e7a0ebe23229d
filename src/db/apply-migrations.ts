/**
 * Applying a Prisma migrations folder in-process, one transaction per migration.
 *
 * Each migration's SQL and its `_prisma_migrations` row are committed together (SQLite:
 * `BEGIN IMMEDIATE ... COMMIT` through better-sqlite3; PostgreSQL: `BEGIN ... COMMIT` through
 * node-postgres, under Prisma's advisory lock). A process killed at any instant therefore leaves
 * each migration either wholly applied and recorded, or not applied at all and not recorded: the
 * next start simply applies what is missing. (Prisma's schema engine inserts the row first, runs
 * the statements one by one, then marks the row finished; killed in between, it leaves a row with
 * `finished_at` NULL and a half-applied migration, which every later start refuses.)
 *
 * `_prisma_migrations` is kept in Prisma's format (same table definition, checksum = sha256 hex of
 * migration.sql, timestamps as the engine writes them), so `prisma migrate status`/`deploy` agree.
 *
 * Rows in that table:
 * - finished (`finished_at` set, `rolled_back_at` NULL): the migration is applied.
 * - failed (`finished_at` NULL, `logs` set): recorded by Prisma for a migration whose SQL failed;
 *   refused as Prisma does, until resolved (`prisma migrate resolve`).
 * - interrupted (`finished_at` NULL, `logs` NULL): left by a migrator killed mid-migration (the
 *   schema engine that this module replaces; this module never writes such a row). The migration
 *   is redone in one transaction that also marks the old row rolled back; if its SQL fails (the
 *   interrupted attempt left part of it applied), nothing changes and the error says how to resolve.
 *
 * A migration whose SQL fails is rolled back whole and not recorded (it stays pending, so the next
 * start retries it). migration.sql must not contain transaction control (BEGIN/COMMIT): if it ends
 * the transaction itself, the migration is still recorded, but is no longer atomic.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Client as PgClient } from 'pg';
import type { DatabaseTarget, PostgresTarget, SqliteTarget } from './url';

/** How long SQLite waits for another connection's write lock (ms). */
const SQLITE_BUSY_TIMEOUT_MS = 10_000;
/** How long PostgreSQL waits for the migration lock held by another migrator (ms). */
const POSTGRES_LOCK_TIMEOUT_MS = 60_000;
/** The advisory lock key Prisma's schema engine takes (so the Prisma CLI and we exclude each other). */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

export interface MigrationFolder {
  /** The folder name, e.g. `20261130134555_init`. */
  readonly name: string;
  readonly sql: string;
  /** sha256 of migration.sql, lowercase hex (Prisma's checksum). */
  readonly checksum: string;
}

/** The migration folders of `dir` (sorted by name) with their SQL; [] when `dir` is missing. */
export function readMigrationFolders(dir: string): MigrationFolder[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => fs.statSync(path.join(dir, name)).isDirectory())
    .sort()
    .map((name) => {
      const file = path.join(dir, name, 'migration.sql');
      let bytes: Buffer;
      try {
        bytes = fs.readFileSync(file);
      } catch (e) {
        throw new Error(`Migration ${name}: cannot read ${file} (${(e as Error).message})`);
      }
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

interface Row {
  id: string;
  migration_name: string;
  finished_at: unknown;
  rolled_back_at: unknown;
  logs: string | null;
}

interface Step {
  /** The first migration not recorded as applied, or undefined when all are. */
  next?: MigrationFolder;
  /** Interrupted rows of `next`, to mark rolled back when it is redone. */
  interrupted: string[];
}

/** What to do next, given the table's rows; throws on failed migrations (Prisma's P3009). */
function nextStep(folders: MigrationFolder[], rows: Row[]): Step {
  const live = rows.filter((r) => r.rolled_back_at === null);
  const failed = live.filter((r) => r.finished_at === null && r.logs !== null);
  if (failed.length > 0) {
    const names = failed.map((r) => r.migration_name).join(', ');
    throw new Error(
      `migrate found failed migrations in the target database, new migrations will not be applied (${names}). ` +
        'Resolve them first: https://pris.ly/d/migrate-resolve',
    );
  }
  const applied = new Set(live.filter((r) => r.finished_at !== null).map((r) => r.migration_name));
  const next = folders.find((f) => !applied.has(f.name));
  const interrupted = next ? live.filter((r) => r.finished_at === null && r.migration_name === next.name).map((r) => r.id) : [];
  return { next, interrupted };
}

function interruptedRedoError(name: string, cause: unknown): Error {
  return new Error(
    `migration ${name} was interrupted by an earlier start (its _prisma_migrations row has finished_at NULL) ` +
      `and redoing it failed, so part of it is probably applied: ${(cause as Error).message}. Nothing was changed. ` +
      `Finish or undo its changes by hand, then run \`prisma migrate resolve --applied ${name}\` or ` +
      `\`--rolled-back ${name}\` (https://pris.ly/d/migrate-resolve).`,
  );
}

function failedMigrationError(name: string, cause: unknown): Error {
  return new Error(`migration ${name} failed and was rolled back (nothing of it is applied): ${(cause as Error).message}`);
}

/** Applies the pending migrations of `folders`; returns the names applied by this call. */
export async function applyMigrations(target: DatabaseTarget, folders: MigrationFolder[]): Promise<string[]> {
  switch (target.provider) {
    case 'sqlite':
      return applySqlite(target, folders);
    case 'postgresql':
      return applyPostgres(target, folders);
  }
}

// ---------------------------------------------------------------------------------------------
// SQLite

// Prisma's definition (sql-schema-connector, SQLite flavour), byte for byte.
const SQLITE_MIGRATIONS_TABLE = `CREATE TABLE "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

/** A timestamp as the schema engine stores it in SQLite: `2026-12-02T00:31:00.813+00:00`. */
function sqliteTimestamp(d: Date): string {
  return d.toISOString().replace(/Z$/, '+00:00');
}

function applySqlite(target: SqliteTarget, folders: MigrationFolder[]): string[] {
  fs.mkdirSync(path.dirname(target.file), { recursive: true });
  const db = new BetterSqlite3(target.file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  try {
    // SQLite's procedure for schema changes (https://sqlite.org/lang_altertable.html#otheralter):
    // foreign keys off outside the transaction (inside one, the scripts' own `PRAGMA
    // foreign_keys=OFF` is a no-op, and a redefined table's DROP TABLE would cascade-delete the
    // rows referencing it), then `PRAGMA foreign_key_check` before committing.
    db.pragma('foreign_keys = OFF');
    const applied: string[] = [];
    for (;;) {
      db.exec('BEGIN IMMEDIATE');
      try {
        const name = applyNextSqlite(db, folders);
        if (db.inTransaction) db.exec('COMMIT');
        if (name === undefined) return applied;
        applied.push(name);
      } catch (e) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw e;
      }
    }
  } finally {
    db.close();
  }
}

/** Inside a write transaction: applies and records the next pending migration; returns its name. */
function applyNextSqlite(db: BetterSqlite3.Database, folders: MigrationFolder[]): string | undefined {
  const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'").get();
  if (!hasTable) {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
      .all() as { name: string }[];
    if (tables.length > 0) throw notEmptyError(tables.map((t) => t.name));
    db.exec(SQLITE_MIGRATIONS_TABLE);
  }
  const rows = db.prepare('SELECT id, migration_name, finished_at, rolled_back_at, logs FROM _prisma_migrations').all() as Row[];
  const { next, interrupted } = nextStep(folders, rows);
  if (!next) return undefined;
  const startedAt = new Date();
  const rollBack = db.prepare('UPDATE _prisma_migrations SET rolled_back_at = ? WHERE id = ?');
  for (const id of interrupted) rollBack.run(sqliteTimestamp(startedAt), id);
  try {
    db.exec(next.sql);
    if (!db.inTransaction) db.exec('BEGIN IMMEDIATE'); // the script committed by itself: record it anyway
    const violations = db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[];
    if (violations.length > 0) {
      const v = violations[0]!;
      throw new Error(
        `it leaves ${violations.length} row(s) violating foreign keys (first: ${v.table} rowid ${v.rowid} -> ${v.parent})`,
      );
    }
  } catch (e) {
    throw interrupted.length > 0 ? interruptedRedoError(next.name, e) : failedMigrationError(next.name, e);
  }
  db.prepare(
    'INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) ' +
      'VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)',
  ).run(randomUUID(), next.checksum, sqliteTimestamp(new Date()), next.name, sqliteTimestamp(startedAt));
  return next.name;
}

function notEmptyError(objects: string[]): Error {
  return new Error(
    `the database schema is not empty (${objects.slice(0, 5).join(', ')}${objects.length > 5 ? ', ...' : ''}) ` +
      'and has no _prisma_migrations table: it was not created by these migrations (https://pris.ly/d/migrate-baseline)',
  );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** Prisma's definition (sql-schema-connector, PostgreSQL flavour), qualified with the schema. */
function postgresMigrationsTable(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS "${schema}"."_prisma_migrations" (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;
}

async function applyPostgres(target: PostgresTarget, folders: MigrationFolder[]): Promise<string[]> {
  const { schema } = target;
  // The URL's search_path names a schema that may not exist yet: set it once it does.
  const { options: _searchPath, ...config } = target.pool;
  const client = new PgClient(config);
  await client.connect();
  try {
    // Session-level: held across the per-migration transactions, released when this session ends
    // (also when this process is killed: the server ends the session and rolls back its transaction).
    await client.query(`SET lock_timeout = ${POSTGRES_LOCK_TIMEOUT_MS}`);
    try {
      await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    } catch (e) {
      throw new Error(
        `waiting ${POSTGRES_LOCK_TIMEOUT_MS / 1000} s for the migration lock (pg_advisory_lock(${PRISMA_ADVISORY_LOCK_KEY}), ` +
          `held by another migrator) failed: ${(e as Error).message}`,
      );
    }
    await client.query('RESET lock_timeout');
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`SET search_path TO "${schema}"`);
    const applied: string[] = [];
    for (;;) {
      await client.query('BEGIN');
      try {
        const name = await applyNextPostgres(client, schema, folders);
        await client.query('COMMIT');
        if (name === undefined) break;
        applied.push(name);
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    }
    await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    return applied;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Inside a transaction: applies and records the next pending migration; returns its name. */
async function applyNextPostgres(client: PgClient, schema: string, folders: MigrationFolder[]): Promise<string | undefined> {
  const table = `"${schema}"."_prisma_migrations"`;
  const exists = await client.query('SELECT to_regclass($1) AS t', [table]);
  if (exists.rows[0]?.t === null) {
    const objects = await client.query<{ relname: string }>(
      "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1",
      [schema],
    );
    if (objects.rows.length > 0) throw notEmptyError(objects.rows.map((r) => r.relname));
    await client.query(postgresMigrationsTable(schema));
  }
  const rows = await client.query<Row>(`SELECT id, migration_name, finished_at, rolled_back_at, logs FROM ${table}`);
  const { next, interrupted } = nextStep(folders, rows.rows);
  if (!next) return undefined;
  const startedAt = new Date();
  if (interrupted.length > 0) {
    await client.query(`UPDATE ${table} SET rolled_back_at = $1 WHERE id = ANY($2)`, [startedAt, interrupted]);
  }
  const txid = async (): Promise<string> => (await client.query<{ x: string }>('SELECT txid_current()::text AS x')).rows[0]!.x;
  const before = await txid();
  try {
    await client.query(next.sql); // no parameters: the simple protocol, which runs a multi-statement script
  } catch (e) {
    throw interrupted.length > 0 ? interruptedRedoError(next.name, e) : failedMigrationError(next.name, e);
  }
  if ((await txid()) !== before) await client.query('BEGIN'); // the script committed by itself: record it anyway
  await client.query(
    `INSERT INTO ${table} (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) ` +
      'VALUES ($1, $2, $3, $4, NULL, NULL, $5, 1)',
    [randomUUID(), next.checksum, new Date(), next.name, startedAt],
  );
  return next.name;
}
