// Prisma schema engine (WebAssembly build) driven through a driver adapter: computes migration
// SQL (`npm run db:diff`), without the native schema-engine binary that `prisma migrate` would
// download (this project cannot download it). Applying migrations does not use it: see
// src/db/apply-migrations.ts (one transaction per migration, crash-safe).
//
// Why a separate ESM process: @prisma/schema-engine-wasm is an ES module whose entry imports a
// .wasm file (ESM integration, needs `--experimental-wasm-modules`), and jest/ts-node (CommonJS)
// cannot load it in-process. We instantiate the .wasm ourselves with the package's wasm-bindgen
// glue (schema_engine_bg.js), so no node flag is needed either.
//
// Invoked by src/db/migrate.ts: `node migrate-runner.mjs '<json request>'`.
// Request:  { op: 'diff', provider: 'sqlite' | 'postgresql', connection, migrationsDir,
//             schemaPath, from?: 'empty' | 'migrations', parentPid? }
//   schemaPath: the provider's schema.prisma.
//   diff: SQL from `from` (nothing, or the migrations replayed on a shadow database) to the schema.
//     It only writes to the shadow database (SQLite: in memory; PostgreSQL: a throw-away database
//     on the server, dropped at the end; if this process is killed first, it is left behind).
//   connection: { kind: 'sqlite', file } | { kind: 'postgresql', config: pg.PoolConfig, schema }
//   parentPid: the process that started this one; when it dies (this process is re-parented),
//     this one exits at once instead of running on alone.
// Response: the last stdout line is JSON, { ok: true, ... } or { ok: false, error }.
// Engine log lines go to stderr only when EGSDE_DB_DEBUG is set.

import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';

const require = createRequire(import.meta.url);

// The engine reports a Rust panic by calling this registry before trapping (the Prisma CLI
// installs the same global); we keep the message to report it instead of an opaque trap.
const panics = { message: undefined };
globalThis.PRISMA_WASM_PANIC_REGISTRY = {
  set_message(message) {
    panics.message = `RuntimeError: ${message}`;
  },
};

async function loadSchemaEngine() {
  const glueUrl = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const glue = await import(glueUrl);
  const bytes = readFileSync(fileURLToPath(new URL('schema_engine_bg.wasm', glueUrl)));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue.SchemaEngine;
}

/**
 * A pg.Client whose results report PostgreSQL's internal one-byte `"char"` type (oid 18) as text.
 * The engine reads catalog columns of that type (pg_class.relkind, pg_constraint.contype, ...)
 * when it describes a schema (diff from migrations), and @prisma/adapter-pg 7.10 has no mapping
 * for it ("Column type 'char' could not be deserialized from the database"). In text format a
 * "char" value is already its one-character string, so only the declared type changes.
 */
function charAsTextClient() {
  const pg = require('pg');
  const CHAR_OID = 18;
  const TEXT_OID = 25;
  const patch = (result) => {
    for (const r of Array.isArray(result) ? result : [result]) {
      for (const field of r?.fields ?? []) if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
    }
    return result;
  };
  return class CharAsTextClient extends pg.Client {
    query(config, values, callback) {
      if (typeof values === 'function') {
        callback = values;
        values = undefined;
      }
      if (config && typeof config.submit === 'function') return super.query(config, values, callback);
      if (typeof callback === 'function') {
        return super.query(config, values, (err, result) => callback(err, err ? result : patch(result)));
      }
      return super.query(config, values).then(patch);
    }
  };
}

let boundFactory; // for the errors the adapter registered (the engine only says "External error id#N")

function makeAdapterFactory(connection) {
  const { bindMigrationAwareSqlAdapterFactory } = require('@prisma/driver-adapter-utils');
  if (connection.kind === 'sqlite') {
    const { PrismaBetterSqlite3 } = require('@prisma/adapter-better-sqlite3');
    const factory = new PrismaBetterSqlite3({ url: connection.file });
    // The engine replays each migration on the SQLite shadow database with ONE executeRaw call
    // for the whole script, which better-sqlite3 rejects ("The supplied SQL string contains more
    // than one statement"); run such parameterless scripts with executeScript (Database#exec).
    const connectToShadowDb = factory.connectToShadowDb.bind(factory);
    factory.connectToShadowDb = async () => {
      const shadow = await connectToShadowDb();
      const executeRaw = shadow.executeRaw.bind(shadow);
      shadow.executeRaw = async (query) => {
        try {
          return await executeRaw(query);
        } catch (e) {
          if (query.args.length > 0 || !/more than one statement/.test(String(e?.cause?.message ?? e?.message ?? e))) {
            throw e;
          }
          await shadow.executeScript(query.sql);
          return 0;
        }
      };
      return shadow;
    };
    boundFactory = bindMigrationAwareSqlAdapterFactory(factory);
    return boundFactory;
  }
  const { PrismaPg } = require('@prisma/adapter-pg');
  const config = { ...connection.config, Client: charAsTextClient() };
  const factory = new PrismaPg(config, connection.schema ? { schema: connection.schema } : undefined);
  // PrismaPg's own shadow database drops the database before closing its pool ("database ... is
  // being accessed by other users") and leaves it behind; this one closes first, then drops. It
  // also leaves out the main connection's search_path (that schema does not exist there).
  factory.connectToShadowDb = async () => {
    const pg = require('pg');
    const { options, ...base } = connection.config;
    const database = `prisma_migrate_shadow_db_${randomUUID()}`;
    const admin = async (sql) => {
      const client = new pg.Client(base);
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    };
    await admin(`CREATE DATABASE "${database}"`);
    const shadow = await new PrismaPg({ ...base, database, Client: config.Client }).connect();
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await admin(`DROP DATABASE IF EXISTS "${database}"`);
    };
    return shadow;
  };
  boundFactory = bindMigrationAwareSqlAdapterFactory(factory);
  return boundFactory;
}

/** The migrations folder in the shape the engine expects (Prisma's standard layout). */
function readMigrationsList(migrationsDir, provider) {
  const lockPath = path.join(migrationsDir, 'migration_lock.toml');
  const dirs = existsSync(migrationsDir)
    ? readdirSync(migrationsDir)
        .filter((name) => statSync(path.join(migrationsDir, name)).isDirectory())
        .sort()
    : [];
  return {
    baseDir: migrationsDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories: dirs.map((name) => {
      const file = path.join(migrationsDir, name, 'migration.sql');
      let content;
      try {
        content = { tag: 'ok', value: readFileSync(file, 'utf8') };
      } catch (e) {
        content = { tag: 'error', value: String(e && e.message ? e.message : e) };
      }
      return { path: name, migrationFile: { path: 'migration.sql', content } };
    }),
  };
}

const NO_FILTERS = { externalTables: [], externalEnums: [] };

/**
 * Exits as soon as the parent is gone: then this process has been re-parented (to init or a
 * subreaper), so process.ppid no longer names it. Polled, since a dead parent sends nothing; the
 * timer does not keep the process alive. Without a parentPid (run by hand), nothing is watched.
 */
function watchParent(parentPid) {
  if (!Number.isInteger(parentPid) || parentPid <= 0) return;
  const check = () => {
    if (process.ppid !== parentPid) {
      process.stderr.write(`migrate-runner: parent ${parentPid} is gone, exiting\n`);
      process.exit(70);
    }
  };
  check();
  setInterval(check, 100).unref();
}

async function main() {
  const request = JSON.parse(process.argv[2] ?? '{}');
  watchParent(request.parentPid);
  if (request.op !== 'diff') throw new Error(`unknown op ${JSON.stringify(request.op)}`);
  const SchemaEngine = await loadSchemaEngine();
  const debug = Boolean(process.env.EGSDE_DB_DEBUG);
  const logs = [];
  const log = (line) => {
    logs.push(line);
    if (debug) process.stderr.write(`${line}\n`);
  };
  const schemaFiles = request.schemaPath
    ? [{ path: request.schemaPath, content: readFileSync(request.schemaPath, 'utf8') }]
    : [];
  const engine = await SchemaEngine.new(
    { datamodels: schemaFiles.map((f) => [f.path, f.content]) },
    log,
    makeAdapterFactory(request.connection),
  );
  try {
    const from =
      request.from === 'migrations'
        ? { tag: 'migrations', ...readMigrationsList(request.migrationsDir, request.provider) }
        : { tag: 'empty' };
    const out = await engine.diff({
      from,
      to: { tag: 'schemaDatamodel', files: schemaFiles },
      script: true,
      exitCode: null,
      filters: NO_FILTERS,
    });
    return { ok: true, script: out.stdout ?? '' };
  } finally {
    engine.free();
  }
}

function describe(error) {
  if (error && typeof error === 'object') {
    const parts = [error.kind, error.message, error.originalMessage, error.cause?.message].filter(Boolean);
    return parts.length > 0 ? [...new Set(parts)].join(': ') : JSON.stringify(error);
  }
  return String(error);
}

function errorText(e) {
  if (panics.message) return `schema engine panicked: ${panics.message}`;
  let text = e && typeof e === 'object' && 'message' in e ? String(e.message) : String(e);
  // Put the adapter's own error where the engine only left its registry id.
  text = text.replace(/External error id#(\d+)/g, (whole, id) => {
    const entry = boundFactory?.errorRegistry?.registeredErrors?.[Number(id)];
    return entry ? `${whole} (${describe(entry.error)})` : whole;
  });
  return text;
}

function fail(e) {
  process.stdout.write(`\n${JSON.stringify({ ok: false, error: errorText(e) })}\n`);
  process.exit(1);
}

// A panic traps inside an engine callback, outside main()'s promise chain.
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

main().then(
  (result) => {
    process.stdout.write(`\n${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  fail,
);
