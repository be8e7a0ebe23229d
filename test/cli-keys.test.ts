/** `egsde keys create | list | revoke` as an operator runs them, against a real SQLite database. */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { openDatabase } from '../src/db/client';
import { PrismaApiKeyStore } from '../src/adapters/prisma/api-key-store';

const run = promisify(execFile);
const BIN = path.join(__dirname, '..', 'bin', 'egsde.js');

test('keys create prints the key once, list never shows it, revoke ends it', async () => {
  const url = `file:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-cli-')), 'db.sqlite')}`;
  const egsde = (...args: string[]) => run(process.execPath, [BIN, ...args], { env: { ...process.env, DATABASE_URL: url } });
  const created = await egsde('keys', 'create', '--name', 'alice', '--rate', '30', '--max-active', '4');
  const secret = created.stdout.split('\n').find((l) => l.startsWith('egsde_'))!;
  expect(secret).toMatch(/^egsde_[\w-]{32}$/);
  expect(created.stdout).toMatch(/created key alice \(user, id [0-9a-f-]{36}\)/);
  await egsde('keys', 'create', '--name', 'ops', '--admin');
  await expect(egsde('keys', 'create', '--name', 'alice')).rejects.toMatchObject({ stderr: expect.stringMatching(/error input\/invalid: a key named "alice" exists already/) });
  await expect(egsde('keys', 'create', '--name', 'bad name!')).rejects.toMatchObject({ stderr: expect.stringMatching(/--name/) });
  await expect(egsde('keys', 'create', '--name', 'x', '--rate', '-1')).rejects.toMatchObject({ stderr: expect.stringMatching(/--rate must be a positive number/) });
  const listed = (await egsde('keys', 'list')).stdout;
  expect(listed).not.toContain(secret);
  expect(listed).toMatch(new RegExp(`^alice\\t${secret.slice(0, 10)}\\.\\.\\.\\tuser\\tactive\\trate 30/min, max-active 4$`, 'm'));
  expect(listed).toMatch(/^ops\t.*\tadmin\tactive$/m);
  const db = await openDatabase(url);
  try {
    const keys = new PrismaApiKeyStore(db.prisma);
    expect((await keys.findBySecret(secret))?.name).toBe('alice');
    expect((await egsde('keys', 'revoke', 'alice')).stdout).toMatch(/revoked alice/);
    expect(await keys.findBySecret(secret)).toBeNull();
    await expect(egsde('keys', 'revoke', 'alice')).rejects.toMatchObject({ stderr: expect.stringMatching(/no active key "alice"/) });
    expect((await egsde('keys', 'list')).stdout).toMatch(/^alice\t.*\trevoked \d{4}-/m);
  } finally {
    await db.close();
  }
}, 120000);
