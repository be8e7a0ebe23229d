/**
 * The two Prisma schema files (prisma/schema.prisma for SQLite, prisma/postgres/schema.prisma for
 * PostgreSQL) must describe the same models; only the datasource and the client output differ.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const read = (rel: string): string => fs.readFileSync(path.join(root, rel), 'utf8');

/** `model`/`enum`/`view`/`type` blocks with their `///` doc comments, whitespace-normalised. */
function modelBlocks(schema: string): string[] {
  const blocks = schema.match(/^(?:[ \t]*\/\/\/.*\n)*(?:model|enum|view|type)\s+\w+\s*\{[\s\S]*?^\}/gm) ?? [];
  return blocks.map((b) => b.replace(/[ \t]+/g, ' ').trim());
}

function datasourceProvider(schema: string): string | undefined {
  return /datasource\s+\w+\s*\{[^}]*provider\s*=\s*"(\w+)"/.exec(schema)?.[1];
}

describe('Prisma schema files', () => {
  const sqlite = read('prisma/schema.prisma');
  const postgres = read('prisma/postgres/schema.prisma');

  it('declare identical models', () => {
    const a = modelBlocks(sqlite);
    expect(a.map((b) => /^(?:.*\n)*?(?:model|enum|view|type) (\w+)/.exec(b)?.[1])).toEqual(['Run', 'RunEvent', 'Worker', 'Artifact', 'ApiKey', 'Setting', 'ArtifactRef']);
    expect(modelBlocks(postgres)).toEqual(a);
  });

  it('differ in the datasource provider, matching each migrations folder', () => {
    expect(datasourceProvider(sqlite)).toBe('sqlite');
    expect(datasourceProvider(postgres)).toBe('postgresql');
    expect(read('prisma/migrations/migration_lock.toml')).toMatch(/^provider = "sqlite"$/m);
    expect(read('prisma/postgres/migrations/migration_lock.toml')).toMatch(/^provider = "postgresql"$/m);
  });

  it('are in step: the PostgreSQL file is what db:generate derives', () => {
    // Throws (exit 1) with "out of date: run `npm run db:generate`" when they drift.
    expect(() =>
      execFileSync(process.execPath, [path.join(root, 'src/db/generate.mjs'), '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});
