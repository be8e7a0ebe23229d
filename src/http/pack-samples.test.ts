import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import express from 'express';
import { findPackSamples, mountPackSamples } from './pack-samples';

let dir: string;
let base: string;
let close: () => Promise<void>;
const PNG = Buffer.from('89504e470d0a1a0a', 'hex');

function pack(folder: string, name: string, samples?: Record<string, Buffer | string>): void {
  fs.mkdirSync(path.join(dir, folder), { recursive: true });
  fs.writeFileSync(path.join(dir, folder, 'pack.json'), JSON.stringify({ name }));
  if (!samples) return;
  fs.mkdirSync(path.join(dir, folder, 'samples'));
  for (const [f, v] of Object.entries(samples)) fs.writeFileSync(path.join(dir, folder, 'samples', f), v);
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-samples-'));
  pack('a-folder', 'cats', { 'index.json': JSON.stringify([{ file: 'cat-1.png', title: 'cat 1' }]), 'cat-1.png': PNG });
  pack('plain', 'plain');
  pack('no-index', 'noindex', { 'x.png': PNG });
  fs.mkdirSync(path.join(dir, 'not-a-pack', 'samples'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'not-a-pack', 'samples', 'index.json'), '[]');
  fs.writeFileSync(path.join(dir, 'secret.json'), '{}');
  const app = express();
  mountPackSamples(app, dir);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise((r) => server.close(() => r()));
});
afterAll(async () => {
  await close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('finds the packs with samples/index.json by their manifest names, not their folders', () => {
  expect([...findPackSamples(dir).entries()]).toEqual([['cats', path.join(dir, 'a-folder', 'samples')]]);
  expect(findPackSamples(path.join(dir, 'missing')).size).toBe(0);
});

test('serves a pack\'s index and images with their types', async () => {
  const index = await fetch(`${base}/samples/cats/index.json`);
  expect(index.status).toBe(200);
  expect(index.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await index.json()).toEqual([{ file: 'cat-1.png', title: 'cat 1' }]);
  const img = await fetch(`${base}/samples/cats/cat-1.png`);
  expect(img.headers.get('content-type')).toBe('image/png');
  expect(Buffer.from(await img.arrayBuffer()).equals(PNG)).toBe(true);
});

test.each([
  ['/samples/plain/index.json', 'pack/not_found'],
  ['/samples/noindex/x.png', 'pack/not_found'],
  ['/samples/not-a-pack/index.json', 'pack/not_found'],
  ['/samples/cats/cat-2.png', 'storage/not_found'],
  ['/samples/cats/..%2Fpack.json', 'storage/not_found'],
  ['/samples/cats/.index.json', 'storage/not_found'],
])('%s: 404 %s', async (url, code) => {
  const r = await fetch(`${base}${url}`);
  expect(r.status).toBe(404);
  expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
});
