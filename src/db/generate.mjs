// `npm run db:generate`: derive prisma/postgres/schema.prisma from prisma/schema.prisma and
// generate the Prisma clients into src/db/generated/{sqlite,postgresql} (gitignored).
//
// Idempotent and fast: a stamp (hash of both schema files and the Prisma versions) is kept in
// src/db/generated/.stamp; when it matches, nothing runs (~50 ms). `--force` regenerates anyway;
// `--check` only verifies that prisma/postgres/schema.prisma is in step (exit 1 if not).
//
// Why two clients: a Prisma 7 client is bound to its schema's provider (it embeds that provider's
// query compiler and refuses an adapter of another provider: "The Driver Adapter
// `@prisma/adapter-pg`, based on `postgres`, is not compatible with the provider `sqlite`"), so one
// client cannot serve both databases. The models are identical, so the two clients have the same
// API; src/db/client.ts exposes the SQLite one's type.
//
// `prisma generate` does not run the schema engine but the CLI still resolves its binary (and
// would try to download it); PRISMA_SCHEMA_ENGINE_BINARY pointing at any existing file avoids that.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(import.meta.url);

export const SQLITE_SCHEMA = path.join(root, 'prisma/schema.prisma');
export const POSTGRES_SCHEMA = path.join(root, 'prisma/postgres/schema.prisma');
const GENERATED = path.join(root, 'src/db/generated');
const STAMP = path.join(GENERATED, '.stamp');

const GENERATED_HEADER =
  '// GENERATED from prisma/schema.prisma by src/db/generate.mjs (npm run db:generate).\n' +
  '// Do not edit: change prisma/schema.prisma and regenerate.\n\n';

function replaceOnce(text, from, to, what) {
  const count = text.split(from).length - 1;
  if (count !== 1) {
    throw new Error(`prisma/schema.prisma: expected exactly one ${what} (${JSON.stringify(from)}), found ${count}`);
  }
  return text.replace(from, to);
}

/** The PostgreSQL variant: same models, other provider and client output. */
export function derivePostgresSchema(sqliteSchema) {
  let text = replaceOnce(sqliteSchema, 'provider = "sqlite"', 'provider = "postgresql"', 'sqlite datasource provider');
  text = replaceOnce(
    text,
    'output       = "../src/db/generated/sqlite"',
    'output       = "../../src/db/generated/postgresql"',
    'generator output',
  );
  return GENERATED_HEADER + text;
}

function runPrismaGenerate(schemaPath) {
  const cli = require.resolve('prisma/build/index.js');
  const env = {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'generate', '--schema', schemaPath], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`prisma generate --schema ${schemaPath} failed (${code}):\n${out}`)),
    );
  });
}

function versionOf(pkg) {
  return JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version;
}

async function main(argv) {
  const sqliteSchema = readFileSync(SQLITE_SCHEMA, 'utf8');
  const postgresSchema = derivePostgresSchema(sqliteSchema);
  const current = existsSync(POSTGRES_SCHEMA) ? readFileSync(POSTGRES_SCHEMA, 'utf8') : '';

  if (argv.includes('--check')) {
    if (current !== postgresSchema) {
      console.error('prisma/postgres/schema.prisma is out of date: run `npm run db:generate`');
      process.exit(1);
    }
    console.log('prisma/postgres/schema.prisma is in step with prisma/schema.prisma');
    return;
  }
  if (current !== postgresSchema) {
    writeFileSync(POSTGRES_SCHEMA, postgresSchema);
    console.log('db:generate: wrote prisma/postgres/schema.prisma');
  }

  const stamp = createHash('sha256')
    .update(sqliteSchema)
    .update('\0')
    .update(postgresSchema)
    .update(`\0prisma ${versionOf('prisma')} client ${versionOf('@prisma/client')}`)
    .digest('hex');
  const outputsExist = ['sqlite', 'postgresql'].every((d) => existsSync(path.join(GENERATED, d, 'client.ts')));
  if (!argv.includes('--force') && outputsExist && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === stamp) {
    console.log('db:generate: Prisma clients are up to date');
    return;
  }
  await Promise.all([runPrismaGenerate(SQLITE_SCHEMA), runPrismaGenerate(POSTGRES_SCHEMA)]);
  mkdirSync(GENERATED, { recursive: true });
  writeFileSync(STAMP, `${stamp}\n`);
  console.log('db:generate: generated src/db/generated/sqlite and src/db/generated/postgresql');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
