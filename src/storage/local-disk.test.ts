import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isCodedError } from '../errors';
import { storageConformance } from './conformance';
import { LocalDiskStorage } from './local-disk';
import { artifactKey, assertArtifactKey, contentTypeOfKey, isArtifactKey } from './types';

const tmpDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'egsde-artifacts-'));
  tmpDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => fsp.rm(d, { recursive: true, force: true })));
});

storageConformance('LocalDiskStorage', async () => {
  const dir = await tempDir();
  return { storage: new LocalDiskStorage(dir), dispose: () => fsp.rm(dir, { recursive: true, force: true }) };
});

storageConformance('LocalDiskStorage (no fsync, no read verification)', async () => {
  // A folder that does not exist yet: the adapter creates it.
  const dir = path.join(await tempDir(), 'nested', 'artifacts');
  return { storage: new LocalDiskStorage(dir, { fsync: false, verifyOnRead: false }) };
});

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every file under `dir`, relative, sorted. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

describe('LocalDiskStorage', () => {
  it('shards files as <dir>/ab/cd/<key>', async () => {
    const dir = await tempDir();
    const s = new LocalDiskStorage(dir);
    const b = Buffer.from('hello artifact');
    const { key } = await s.put(b, 'image/png');
    expect(key).toBe(`${sha(b)}.png`);
    expect(s.pathOf(key)).toBe(path.join(dir, key.slice(0, 2), key.slice(2, 4), key));
    expect(await listFiles(dir)).toEqual([path.join(key.slice(0, 2), key.slice(2, 4), key)]);
    expect((await fsp.readFile(s.pathOf(key))).equals(b)).toBe(true);
  });

  it('leaves no temporary files behind, also after concurrent puts of the same bytes', async () => {
    const dir = await tempDir();
    const s = new LocalDiskStorage(dir);
    const b = Buffer.alloc(256 * 1024, 3);
    await Promise.all(Array.from({ length: 10 }, () => s.put(b, 'image/webp')));
    expect(await fsp.readdir(path.join(dir, '.tmp'))).toEqual([]);
    expect((await listFiles(dir)).length).toBe(1);
  });

  it('putting existing content does not rewrite the file', async () => {
    const dir = await tempDir();
    const s = new LocalDiskStorage(dir);
    const b = Buffer.from('same bytes');
    const { key } = await s.put(b, 'image/png');
    const file = s.pathOf(key);
    const past = new Date('2020-01-01T00:00:00Z');
    await fsp.utimes(file, past, past);
    const { ino } = await fsp.stat(file);
    const openSpy = jest.spyOn(fsp, 'open');
    try {
      expect(await s.put(b, 'image/png')).toEqual({ key, bytes: b.length });
      expect(openSpy).not.toHaveBeenCalled();
    } finally {
      openSpy.mockRestore();
    }
    const st = await fsp.stat(file);
    expect(st.mtime.getTime()).toBe(past.getTime());
    expect(st.ino).toBe(ino);
  });

  it('a failed write leaves neither a partial artifact nor a temporary file', async () => {
    const dir = await tempDir();
    const s = new LocalDiskStorage(dir);
    const b = Buffer.alloc(10_000, 9);
    const key = artifactKey(b, 'image/png');
    const renameSpy = jest.spyOn(fsp, 'rename').mockRejectedValueOnce(Object.assign(new Error('EIO: simulated crash'), { code: 'EIO' }));
    try {
      let err: unknown;
      await s.put(b, 'image/png').catch((e: unknown) => (err = e));
      expect(isCodedError(err, 'storage/failed')).toBe(true);
      expect((err as Error).message).toContain('simulated crash');
    } finally {
      renameSpy.mockRestore();
    }
    expect(await s.exists(key)).toBe(false);
    expect(await s.get(key)).toBeNull();
    expect(await fsp.readdir(path.join(dir, '.tmp'))).toEqual([]);
    // and a retry succeeds
    expect((await s.put(b, 'image/png')).key).toBe(key);
    expect((await s.get(key))!.bytes.equals(b)).toBe(true);
  });

  it('a crash between write and rename is invisible; sweepTempFiles removes the leftover', async () => {
    const dir = await tempDir();
    const s = new LocalDiskStorage(dir);
    const b = Buffer.alloc(5000, 1);
    const key = artifactKey(b, 'image/jpeg');
    // What a process killed mid-write leaves: a partial temp file.
    await fsp.mkdir(path.join(dir, '.tmp'), { recursive: true });
    const leftover = path.join(dir, '.tmp', `${key}.12345.deadbeef.tmp`);
    await fsp.writeFile(leftover, b.subarray(0, 1000));
    expect(await s.exists(key)).toBe(false);
    expect(await s.get(key)).toBeNull();
    // Fresh temp files (a write in flight elsewhere) are kept; old ones go.
    expect(await s.sweepTempFiles()).toBe(0);
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await fsp.utimes(leftover, old, old);
    expect(await s.sweepTempFiles()).toBe(1);
    expect(await fsp.readdir(path.join(dir, '.tmp'))).toEqual([]);
    expect(await new LocalDiskStorage(await tempDir()).sweepTempFiles()).toBe(0); // no .tmp yet
  });

  it('rewrites an artifact whose file was truncated by outside damage', async () => {
    const dir = await tempDir();
    const s = new LocalDiskStorage(dir);
    const b = Buffer.alloc(4000, 5);
    const { key } = await s.put(b, 'image/png');
    await fsp.truncate(s.pathOf(key), 100);
    await s.put(b, 'image/png');
    expect((await s.get(key))!.bytes.equals(b)).toBe(true);
  });

  it('detects corrupted bytes on get (verifyOnRead, the default)', async () => {
    const dir = await tempDir();
    const s = new LocalDiskStorage(dir);
    const b = Buffer.alloc(100, 5);
    const { key } = await s.put(b, 'image/png');
    const bad = Buffer.from(b);
    bad[50] = 6;
    await fsp.writeFile(s.pathOf(key), bad);
    let err: unknown;
    await s.get(key).catch((e: unknown) => (err = e));
    expect(isCodedError(err, 'storage/failed')).toBe(true);
    expect((err as Error).message).toMatch(/corrupt/);
    // Without verification the bytes are served as they are.
    expect((await new LocalDiskStorage(dir, { verifyOnRead: false }).get(key))!.bytes.equals(bad)).toBe(true);
  });

  it('persists across instances on the same folder', async () => {
    const dir = await tempDir();
    const b = Buffer.from('kept');
    const { key } = await new LocalDiskStorage(dir).put(b, 'image/webp');
    const again = new LocalDiskStorage(dir);
    expect(await again.get(key)).toEqual({ bytes: b, contentType: 'image/webp' });
  });

  it('never reaches outside its folder through a key', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'store');
    const s = new LocalDiskStorage(dir);
    const secret = Buffer.from('secret');
    const name = `${sha(secret)}.png`;
    await fsp.writeFile(path.join(root, name), secret); // a valid-looking file one level up
    for (const k of [`../${name}`, `../../${name}`, path.join(root, name), `ab/../../${name}`]) {
      let err: unknown;
      await s.get(k).catch((e: unknown) => (err = e));
      expect(isCodedError(err, 'storage/not_found')).toBe(true);
      err = undefined;
      await s.delete(k).catch((e: unknown) => (err = e));
      expect(isCodedError(err, 'storage/not_found')).toBe(true);
    }
    expect(() => s.pathOf(`../${name}`)).toThrow(/no artifact/);
    expect((await fsp.readFile(path.join(root, name))).equals(secret)).toBe(true);
    expect(await s.get(name)).toBeNull(); // the well-formed key names a path inside the store
  });

  it('reports a non-file at a key path as storage/failed', async () => {
    const dir = await tempDir();
    const s = new LocalDiskStorage(dir);
    const key = `${'0'.repeat(64)}.png`;
    await fsp.mkdir(s.pathOf(key), { recursive: true });
    let err: unknown;
    await s.stat(key).catch((e: unknown) => (err = e));
    expect(isCodedError(err, 'storage/failed')).toBe(true);
  });
});

describe('artifact keys', () => {
  it('validates, names content types, and addresses content', () => {
    const b = Buffer.from('x');
    expect(artifactKey(b, 'image/jpeg')).toBe(`${sha(b)}.jpg`);
    expect(isArtifactKey(`${sha(b)}.jpg`)).toBe(true);
    expect(isArtifactKey(`${sha(b)}.jpeg`)).toBe(false);
    expect(contentTypeOfKey(`${sha(b)}.webp`)).toBe('image/webp');
    expect(() => assertArtifactKey('../x')).toThrow(expect.objectContaining({ code: 'storage/not_found' }));
    expect(() => artifactKey(b, 'image/gif')).toThrow(expect.objectContaining({ code: 'storage/failed' }));
  });
});
