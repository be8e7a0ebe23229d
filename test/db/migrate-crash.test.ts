/**
 * Migrations survive kill -9: a first start killed (SIGKILL) at any instant of its migration leaves
 * a database that the next start migrates cleanly, on SQLite (a temp file) and PostgreSQL (a fresh
 * schema per try, dropped afterwards). Also: a migration row left unfinished by the old
 * (non-transactional) engine is redone or refused with a clear message, and the schema-engine
 * child that `db:diff` still uses does not outlive its parent.
 *
 * Each "start" is a child node process running migrateDatabase() (src/db, transpiled once here, so a
 * child starts in ~0.1 s instead of ts-node's ~1 s). It writes `go` just before migrating; the test
 * SIGKILLs it (alternately the process alone and its whole process group) after a delay spread
 * from 0 to past the migration's measured duration, and also, through a hook on the driver, right
 * after each migration's SQL ran and before its COMMIT. Then nothing of it may be left running, and
 * the next start must apply exactly the migrations it did not commit.
 *
 * Linux only (reads /proc to find processes the killed start left behind).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Client } from 'pg';
import ts from 'typescript';
import { applyMigrations, readMigrationFolders } from '../../src/db/apply-migrations';
import { migrateDatabase, migrationNames } from '../../src/db/migrate';
import { type DatabaseTarget, parseDatabaseUrl, prismaPaths } from '../../src/db/url';
import { BACKENDS, type Backend, type TestDatabase } from '../helpers/databases';

const root = path.resolve(__dirname, '../..');
const MIGRATE_TS = path.join(root, 'src/db/migrate.ts');
/** Timed kills per backend, from 0 to 1.3 x the measured migration time. */
const TIMED_KILLS = 12;

// ---------------------------------------------------------------------------------------------
// The child ("a start")

const CHILD_JS = String.raw`
const fs = require('fs');
const path = require('path');
const cache = JSON.parse(fs.readFileSync(process.env.EGSDE_CRASH_CACHE, 'utf8'));
require.extensions['.ts'] = (module, filename) => {
  const js = cache[filename];
  if (js === undefined) throw new Error('not transpiled for the crash test: ' + filename);
  module._compile(js, filename);
};
const fromRoot = (name) => require(require.resolve(name, { paths: [process.env.EGSDE_CRASH_ROOT] }));
// EGSDE_CRASH_AFTER_SCRIPT=k: SIGKILL this process once the k-th migration script has run, before
// its transaction commits (the driver calls the migrator makes, seen from outside).
const afterScript = Number(process.env.EGSDE_CRASH_AFTER_SCRIPT || 0);
const isScript = (sql) => typeof sql === 'string' && /\b(CREATE|ALTER|DROP)\b/i.test(sql) && !/_prisma_migrations|CREATE SCHEMA/.test(sql);
let scripts = 0;
const die = () => process.kill(process.pid, 'SIGKILL');
if (afterScript > 0) {
  const Sqlite = fromRoot('better-sqlite3');
  const exec = Sqlite.prototype.exec;
  Sqlite.prototype.exec = function (sql) {
    const result = exec.call(this, sql);
    if (isScript(sql) && ++scripts === afterScript) die();
    return result;
  };
  const pg = fromRoot('pg');
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, ...rest) {
    const result = query.call(this, config, ...rest);
    if (isScript(config) && result && typeof result.then === 'function') {
      return result.then((r) => { if (++scripts === afterScript) die(); return r; });
    }
    return result;
  };
}
const { migrateDatabase, diffSchema } = require(process.env.EGSDE_CRASH_MIGRATE);
const [mode, arg] = process.argv.slice(2);
const t0 = performance.now();
process.stdout.write('go\n'); // synchronous on a pipe (Linux)
const work = mode === 'diff' ? diffSchema('postgresql', { postgresUrl: arg }) : migrateDatabase(arg);
work.then(
  (r) => { process.stdout.write(JSON.stringify({ ms: performance.now() - t0, applied: r.applied }) + '\n'); process.exit(0); },
  (e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); },
);
`;

/** src/db/migrate.ts and the local modules it imports, transpiled to CommonJS, by absolute path. */
function transpileGraph(entry: string): Record<string, string> {
  const out: Record<string, string> = {};
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (out[file] !== undefined) continue;
    const source = fs.readFileSync(file, 'utf8');
    out[file] = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    for (const m of source.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
      const dep = `${path.resolve(path.dirname(file), m[1]!)}.ts`;
      if (fs.existsSync(dep)) todo.push(dep);
    }
  }
  return out;
}

let work: string;
const token = randomUUID();
const childEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  EGSDE_CRASH_TOKEN: token,
  EGSDE_CRASH_CACHE: path.join(work, 'cache.json'),
  EGSDE_CRASH_MIGRATE: MIGRATE_TS,
  EGSDE_CRASH_ROOT: root,
});

interface Start {
  child: ChildProcess;
  /** Resolves when the child is about to migrate. */
  go: Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Start {
  const child = spawn(process.execPath, [path.join(work, 'child.js'), ...args], {
    cwd: root,
    env: { ...childEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so the test can also kill it with all its children
  });
  let out = '';
  let err = '';
  let goResolve: () => void;
  const go = new Promise<void>((resolve) => (goResolve = resolve));
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('go\n')) goResolve();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  void exit.then(() => goResolve()); // never leave a waiter hanging
  return { child, go, exit, stdout: () => out, stderr: () => err };
}

/** SIGKILL to a process group (none left: it finished first). */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Processes (other than this one) whose environment carries this file's token, with their command lines. */
function tokenProcesses(): { pid: number; cmdline: string }[] {
  if (!fs.existsSync('/proc/self/environ')) throw new Error('this test needs Linux /proc');
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const environ = fs.readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (!environ.split('\0').includes(`EGSDE_CRASH_TOKEN=${token}`)) continue;
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (/^\d+ \(.*\) Z/.test(stat)) continue; // a zombie has no code left to run
      found.push({ pid: Number(entry), cmdline: fs.readFileSync(`/proc/${entry}/cmdline`, 'latin1').replace(/\0/g, ' ') });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Waits until no process of this file is left (a killed start's children die with it). */
async function expectNoSurvivors(timeoutMs = 5_000): Promise<void> {
  const t0 = Date.now();
  let left = tokenProcesses();
  while (left.length > 0 && Date.now() - t0 < timeoutMs) {
    await sleep(50);
    left = tokenProcesses();
  }
  expect(left).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Looking at a database

const names = (provider: 'sqlite' | 'postgresql'): string[] => migrationNames(provider);
const checksum = (provider: 'sqlite' | 'postgresql', name: string): string =>
  createHash('sha256')
    .update(fs.readFileSync(path.join(prismaPaths(provider).migrations, name, 'migration.sql')))
    .digest('hex');

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
  logs: string | null;
  applied_steps_count: number;
}

async function withPg<T>(target: Extract<DatabaseTarget, { provider: 'postgresql' }>, f: (c: Client) => Promise<T>): Promise<T> {
  const { options: _searchPath, ...config } = target.pool;
  const client = new Client({ ...config, application_name: 'egsde_crash_test' }); // not the start's name
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end();
  }
}

/** Runs SQL on the database (statements separated by `;` for SQLite; parameters $1.. / ?). */
async function sql<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const target = parseDatabaseUrl(url);
  if (target.provider === 'sqlite') {
    const db = new BetterSqlite3(target.file, { timeout: 10_000 });
    try {
      if (params.length === 0 && !/^\s*SELECT/i.test(text)) {
        db.exec(text);
        return [];
      }
      const statement = db.prepare(text.replace(/\$\d+/g, '?'));
      return statement.reader ? (statement.all(...params) as T[]) : (statement.run(...params), []);
    } finally {
      db.close();
    }
  }
  return withPg(target, async (c) => {
    await c.query(`SET search_path TO "${target.schema}"`);
    return (await c.query(text, params)).rows as T[];
  });
}

/** SQLite: a killed writer left a journal (the next opener rolls its transaction back). */
function hotJournal(url: string): boolean {
  const target = parseDatabaseUrl(url);
  if (target.provider !== 'sqlite') return false;
  const journal = `${target.file}-journal`;
  return fs.existsSync(journal) && fs.statSync(journal).size > 0;
}

/** The killed start's PostgreSQL sessions (by application_name) have ended. */
async function pgSessionsGone(url: string, appName: string): Promise<void> {
  const target = parseDatabaseUrl(url);
  if (target.provider !== 'postgresql') return;
  const t0 = Date.now();
  for (;;) {
    const n = await withPg(target, async (c) =>
      Number((await c.query('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [appName])).rows[0].n),
    );
    if (n === 0) return;
    if (Date.now() - t0 > 10_000) throw new Error(`${n} PostgreSQL session(s) of the killed start are still there`);
    await sleep(50);
  }
}

/** Every migration applied once and finished, the tables usable, and a further start a no-op. */
async function expectComplete(url: string, provider: 'sqlite' | 'postgresql'): Promise<void> {
  const rows = await sql<MigrationRow>(
    url,
    'SELECT migration_name, checksum, finished_at, rolled_back_at, logs, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
  );
  const live = rows.filter((r) => r.rolled_back_at === null);
  expect(live.filter((r) => r.finished_at === null)).toEqual([]);
  expect(live.map((r) => r.migration_name)).toEqual(names(provider));
  for (const r of live) {
    expect(r.checksum).toBe(checksum(provider, r.migration_name));
    expect(r.logs).toBeNull();
    expect(Number(r.applied_steps_count)).toBe(1);
  }
  const tables =
    provider === 'sqlite'
      ? await sql<{ name: string }>(url, "SELECT name FROM sqlite_master WHERE type = 'table'")
      : await sql<{ name: string }>(url, 'SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()');
  expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['Run', 'RunEvent', 'Worker', 'Artifact']));
  const id = randomUUID();
  await sql(
    url,
    'INSERT INTO "Run" ("id", "status", "task", "sampler", "params", "seed", "totalSteps", "sourceKey") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [id, 'QUEUED', 'cat2dog', 'ddim', '{}', 1, 10, 'src'],
  );
  expect(await sql(url, 'SELECT "id" FROM "Run" WHERE "id" = $1', [id])).toEqual([{ id }]);
  expect((await migrateDatabase(url)).applied).toEqual([]);
}

// ---------------------------------------------------------------------------------------------

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-migrate-crash-'));
  fs.writeFileSync(path.join(work, 'cache.json'), JSON.stringify(transpileGraph(MIGRATE_TS)));
  fs.writeFileSync(path.join(work, 'child.js'), CHILD_JS);
});

afterAll(async () => {
  for (const p of tokenProcesses()) process.kill(p.pid, 'SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

/** A fresh database whose URL names the start's PostgreSQL sessions. */
async function fresh(backend: Backend, appName: string): Promise<TestDatabase> {
  const db = await backend.setup();
  if (backend.name === 'sqlite') return db;
  const url = new URL(db.url);
  url.searchParams.set('application_name', appName);
  return { url: url.toString(), cleanup: db.cleanup };
}

describe.each(BACKENDS)('migrations on $name, killed mid-way', (backend) => {
  it('start cleanly after the first start was SIGKILLed at any instant', async () => {
    const all = names(backend.name);
    expect(all.length).toBeGreaterThan(0);

    // How long a first start's migration takes here (child-measured, from `go` to done).
    let migrationMs = 0;
    for (let i = 0; i < 2; i++) {
      const db = await fresh(backend, `egsde_crash_cal_${i}`);
      try {
        const s = start(['migrate', db.url]);
        const { code } = await s.exit;
        if (code !== 0) throw new Error(`the calibration start failed (exit ${code}): ${s.stderr()}`);
        const done = JSON.parse(s.stdout().trim().split('\n').pop()!) as { ms: number; applied: string[] };
        expect(done.applied).toEqual(all);
        migrationMs = Math.max(migrationMs, done.ms);
      } finally {
        await db.cleanup();
      }
    }

    // Kills: TIMED_KILLS instants from 0 to 1.3 x that duration, then one right after each
    // migration's SQL ran (inside its transaction, before COMMIT).
    const plans = [
      ...Array.from({ length: TIMED_KILLS }, (_, i) => ({
        delayMs: (1.3 * migrationMs * i) / (TIMED_KILLS - 1),
        group: i % 2 === 1,
      })),
      ...all.map((_, k) => ({ afterScript: k + 1 })),
    ];
    const outcomes: string[] = [];
    for (const [i, plan] of plans.entries()) {
      const appName = `egsde_crash_${process.pid}_${i}`;
      const db = await fresh(backend, appName);
      try {
        const env: NodeJS.ProcessEnv = 'afterScript' in plan ? { EGSDE_CRASH_AFTER_SCRIPT: String(plan.afterScript) } : {};
        const s = start(['migrate', db.url], env);
        await s.go;
        if ('delayMs' in plan) {
          if (plan.delayMs >= 1) await sleep(plan.delayMs);
          // `kill -9 <pid>` (the process alone), or `kill -9 -<pgid>` (with any children, as when
          // a container or service is stopped): alternately.
          if (plan.group) killGroup(s.child.pid!);
          else s.child.kill('SIGKILL');
        }
        const { code, signal } = await s.exit;
        const what =
          `kill #${i} ` +
          ('delayMs' in plan ? `${plan.group ? 'group' : 'process'} at ${plan.delayMs.toFixed(1)} ms` : `after script ${plan.afterScript}`);
        if (signal === null && code !== 0) throw new Error(`${what}: the start failed by itself (exit ${code}): ${s.stderr()}`);
        if ('afterScript' in plan) expect({ what, signal }).toEqual({ what, signal: 'SIGKILL' });

        // Nothing of the killed start runs on: no process (applying migrations starts none; a child
        // would have to notice within 0.3 s that its parent is gone), no database session
        // (PostgreSQL ends it, rolling its transaction back).
        await expectNoSurvivors(300);
        await pgSessionsGone(db.url, appName);
        const hot = hotJournal(db.url);
        // The next start (in this process) finishes the job.
        const { applied } = await migrateDatabase(db.url);
        // Migrations commit in order, so what the killed start left to do is the tail.
        expect({ what, applied }).toEqual({ what, applied: all.slice(all.length - applied.length) });
        if ('afterScript' in plan) {
          // Killed inside migration k's transaction: it and the later ones are (re)done from scratch.
          expect({ what, applied }).toEqual({ what, applied: all.slice(plan.afterScript - 1) });
        }
        await expectComplete(db.url, backend.name);
        outcomes.push(
          `${what}: ${signal ?? `exit ${code}`}, left ${all.length - applied.length}/${all.length} committed` +
            `${hot ? ' and a hot journal (killed mid-transaction)' : ''}`,
        );
      } finally {
        await db.cleanup();
      }
    }
    console.log(`${backend.name}: migration takes ~${migrationMs.toFixed(1)} ms\n${outcomes.join('\n')}`);
  });

  it('keep the rows of tables that later migrations redefine (foreign keys stay intact)', async () => {
    // SQLite redefines a table with DROP TABLE + RENAME; inside a transaction its `PRAGMA
    // foreign_keys=OFF` is a no-op, so the migrator turns them off around it: else the DROP would
    // cascade-delete the RunEvent rows.
    const db = await fresh(backend, 'egsde_crash_rows');
    try {
      const folders = readMigrationFolders(prismaPaths(backend.name).migrations);
      await applyMigrations(parseDatabaseUrl(db.url), folders.slice(0, 1));
      await sql(
        db.url,
        'INSERT INTO "Run" ("id", "status", "task", "sampler", "params", "seed", "totalSteps", "sourceKey") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        ['r1', 'QUEUED', 'cat2dog', 'ddim', '{}', 1, 10, 'src'],
      );
      await sql(db.url, 'INSERT INTO "RunEvent" ("runId", "seq", "type", "payload") VALUES ($1, $2, $3, $4)', ['r1', 1, 'queued', '{}']);
      expect((await migrateDatabase(db.url)).applied).toEqual(folders.slice(1).map((f) => f.name));
      expect(await sql(db.url, 'SELECT "runId", "seq" FROM "RunEvent"')).toEqual([{ runId: 'r1', seq: 1 }]);
      expect(await sql(db.url, 'SELECT "id" FROM "Run"')).toEqual([{ id: 'r1' }]);
      if (backend.name === 'sqlite') expect(await sql(db.url, 'SELECT * FROM pragma_foreign_key_list(\'RunEvent\')')).toHaveLength(1);
      await expectComplete(db.url, backend.name);
    } finally {
      await db.cleanup();
    }
  });

  it('redo a migration the old engine left unfinished with nothing applied; refuse a half-applied or failed one', async () => {
    const all = names(backend.name);
    const first = all[0]!;
    const firstSql = fs.readFileSync(path.join(prismaPaths(backend.name).migrations, first, 'migration.sql'), 'utf8');
    const unfinishedRow = async (url: string, logs: string | null): Promise<void> => {
      await applyMigrations(parseDatabaseUrl(url), []); // an empty _prisma_migrations table
      await sql(
        url,
        'INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, applied_steps_count) VALUES ($1, $2, $3, $4, $5, 0)',
        [randomUUID(), checksum(backend.name, first), first, logs, backend.name === 'sqlite' ? new Date().toISOString() : new Date()],
      );
    };

    // Killed after writing its row, before running the SQL: redone.
    const a = await fresh(backend, 'egsde_crash_legacy_a');
    try {
      await unfinishedRow(a.url, null);
      expect((await migrateDatabase(a.url)).applied).toEqual(all);
      const rows = await sql<MigrationRow>(a.url, 'SELECT * FROM _prisma_migrations WHERE migration_name = $1 ORDER BY (rolled_back_at IS NULL)', [first]);
      expect(rows.map((r) => [r.finished_at === null, r.rolled_back_at === null])).toEqual([
        [true, false], // the interrupted attempt, now marked rolled back
        [false, true], // the redo
      ]);
      await expectComplete(a.url, backend.name);
    } finally {
      await a.cleanup();
    }

    // Killed after its first statement: redoing fails, nothing changes, the message says what to do.
    const b = await fresh(backend, 'egsde_crash_legacy_b');
    try {
      await unfinishedRow(b.url, null);
      await sql(b.url, `${firstSql.slice(0, firstSql.indexOf(';') + 1)}`);
      await expect(migrateDatabase(b.url)).rejects.toThrow(/interrupted by an earlier start[\s\S]*migrate resolve/);
      const rows = await sql<MigrationRow>(b.url, 'SELECT * FROM _prisma_migrations');
      expect(rows.map((r) => [r.migration_name, r.finished_at, r.rolled_back_at])).toEqual([[first, null, null]]);
    } finally {
      await b.cleanup();
    }

    // Recorded as failed by Prisma (logs set): refused, as Prisma does.
    const c = await fresh(backend, 'egsde_crash_legacy_c');
    try {
      await unfinishedRow(c.url, 'Database error: syntax error');
      await expect(migrateDatabase(c.url)).rejects.toThrow(/found failed migrations/);
    } finally {
      await c.cleanup();
    }
  });
});

describe('the schema-engine child (db:diff)', () => {
  it('exits when the process that started it is killed', async () => {
    // A "PostgreSQL server" that accepts connections and never answers: the diff hangs on it, so
    // the engine child would wait forever unless it notices that its parent is gone.
    const sockets = new Set<net.Socket>();
    let connected = false;
    const server = net.createServer((socket) => {
      connected = true;
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const s = start(['diff', `postgresql://postgres@127.0.0.1:${port}/postgres`]);
      await s.go;
      const t0 = Date.now();
      let runner: { pid: number; cmdline: string } | undefined;
      while (!(runner && connected)) {
        if (Date.now() - t0 > 60_000) throw new Error(`the schema-engine child never reached the server (${s.stderr()})`);
        runner ??= tokenProcesses().find((p) => p.cmdline.includes('migrate-runner.mjs'));
        await sleep(20);
      }
      expect(s.child.exitCode).toBeNull();
      s.child.kill('SIGKILL');
      await s.exit;
      await expectNoSurvivors();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
