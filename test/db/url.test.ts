import * as path from 'node:path';
import { DEFAULT_DATABASE_URL, parseDatabaseUrl, redactUrl, resolveDatabaseUrl } from '../../src/db/url';

describe('database URLs', () => {
  const saved = process.env.DATABASE_URL;
  afterEach(() => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
  });

  it('defaults to DATABASE_URL, then the SQLite file', () => {
    delete process.env.DATABASE_URL;
    expect(resolveDatabaseUrl()).toBe(DEFAULT_DATABASE_URL);
    process.env.DATABASE_URL = 'postgresql://u@h/db';
    expect(resolveDatabaseUrl()).toBe('postgresql://u@h/db');
    expect(resolveDatabaseUrl('file:./x.db')).toBe('file:./x.db');
  });

  it('parses SQLite file URLs', () => {
    expect(parseDatabaseUrl('file:./data/egsde.db')).toEqual({
      provider: 'sqlite',
      url: 'file:./data/egsde.db',
      file: path.resolve('data/egsde.db'),
    });
    expect(parseDatabaseUrl('file:/abs/x.db?connection_limit=1')).toMatchObject({ file: '/abs/x.db' });
    expect(() => parseDatabaseUrl('file::memory:')).toThrow(/in-memory/);
  });

  it('parses PostgreSQL URLs with a schema', () => {
    const t = parseDatabaseUrl('postgres://me:p%40ss@db.example:6543/egsde?schema=runs_1&sslmode=require&connection_limit=4');
    expect(t).toMatchObject({
      provider: 'postgresql',
      schema: 'runs_1',
      pool: {
        host: 'db.example',
        port: 6543,
        user: 'me',
        password: 'p@ss',
        database: 'egsde',
        max: 4,
        ssl: { rejectUnauthorized: false },
        options: '-c search_path=runs_1',
      },
    });
    expect(parseDatabaseUrl('postgresql://127.0.0.1/test')).toMatchObject({ schema: 'public', pool: { port: 5432 } });
    expect(() => parseDatabaseUrl('postgresql://h/db?schema=bad;name')).toThrow(/schema name/);
  });

  it('rejects other URLs without leaking passwords', () => {
    expect(() => parseDatabaseUrl('mysql://u:secret@h/db')).toThrow(/Unsupported database URL/);
    expect(() => parseDatabaseUrl('mysql://u:secret@h/db')).not.toThrow(/secret/);
    expect(redactUrl('postgres://u:secret@h/db')).toBe('postgres://u:***@h/db');
  });
});
