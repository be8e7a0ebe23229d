/**
 * The ArtifactStorage conformance suite (docs/architecture.md §1: every adapter of a port,
 * embedded or distributed, passes its port's conformance suite).
 *
 * Call it from an adapter's test file, at the top level:
 *
 *   storageConformance('LocalDiskStorage', async () => {
 *     const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'artifacts-'));
 *     return { storage: new LocalDiskStorage(dir), dispose: () => fs.rm(dir, { recursive: true, force: true }) };
 *   });
 *
 * It declares jest tests (describe/it/expect are jest's globals), so it may only be called while
 * jest collects tests. Each test gets a fresh, empty storage from `makeStorage` and disposes it.
 */
import { createHash } from 'node:crypto';
import { isCodedError, type ErrorCode } from '../errors';
import type { ArtifactStorage } from './types';

export interface StorageUnderTest {
  /** A fresh, empty storage. */
  storage: ArtifactStorage;
  /** Releases what makeStorage made (temp folders, connections, buckets). */
  dispose?: () => Promise<unknown> | void;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes (no RNG dependence in keys). */
function bytesOf(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode, what: string): Promise<void> {
  let err: unknown = undefined;
  let settled = false;
  try {
    await p;
    settled = true;
  } catch (e) {
    err = e;
  }
  if (settled) throw new Error(`${what}: expected CodedError ${code}, but it resolved`);
  if (!isCodedError(err, code)) {
    throw new Error(`${what}: expected CodedError ${code}, got ${err instanceof Error ? `${err.name} ${(err as { code?: string }).code ?? ''}: ${err.message}` : String(err)}`);
  }
}

/** Malformed keys every adapter must refuse with 'storage/not_found' (never touching a path). */
export const MALFORMED_KEYS: readonly string[] = (() => {
  const h = 'a'.repeat(64);
  return [
    '',
    '.png',
    'png',
    '../../../../etc/passwd',
    `../${h}.png`,
    `${h.slice(0, 2)}/${h.slice(2, 4)}/${h}.png`, // the sharded path, not the key
    `/${h}.png`,
    `${h}.png/`,
    `${h}.png\n`,
    `${h}.png\0`,
    ` ${h}.png`,
    `${h}.PNG`,
    `${'A'.repeat(64)}.png`, // upper-case hex
    `${h.slice(1)}.png`, // 63 digits
    `${h}0.png`, // 65 digits
    `${'g'.repeat(64)}.png`, // not hex
    `${h}.jpeg`, // the extension is jpg
    `${h}.gif`,
    `${h}.png.png`,
    `${h}`,
    `${h}..png`,
    `${h.slice(0, 62)}/..png`,
    `${h}.png%00`,
    `..\\${h}.png`,
    `%2e%2e%2f${h}.png`,
  ];
})();

export function storageConformance(name: string, makeStorage: () => Promise<StorageUnderTest>): void {
  describe(`ArtifactStorage conformance: ${name}`, () => {
    let sut: StorageUnderTest | undefined;
    const storage = (): ArtifactStorage => {
      if (!sut) throw new Error('storage not made');
      return sut.storage;
    };

    beforeEach(async () => {
      sut = await makeStorage();
    });
    afterEach(async () => {
      const s = sut;
      sut = undefined;
      await s?.dispose?.();
    });

    it('put returns the content address: sha256 hex + the extension of the content type', async () => {
      const s = storage();
      const png = bytesOf(1000, 1);
      expect(await s.put(png, 'image/png')).toEqual({ key: `${sha(png)}.png`, bytes: 1000 });
      const jpg = bytesOf(777, 2);
      expect(await s.put(jpg, 'image/jpeg')).toEqual({ key: `${sha(jpg)}.jpg`, bytes: 777 });
      const webp = bytesOf(5, 3);
      expect(await s.put(webp, 'image/webp')).toEqual({ key: `${sha(webp)}.webp`, bytes: 5 });
    });

    it('get returns the stored bytes and content type', async () => {
      const s = storage();
      for (const [ct, seed] of [['image/png', 10], ['image/jpeg', 11], ['image/webp', 12]] as const) {
        const b = bytesOf(4096 + seed, seed);
        const { key } = await s.put(b, ct);
        const got = await s.get(key);
        expect(got).not.toBeNull();
        expect(got!.contentType).toBe(ct);
        expect(Buffer.isBuffer(got!.bytes)).toBe(true);
        expect(got!.bytes.equals(b)).toBe(true);
      }
    });

    it('normalises content types (case, parameters, image/jpg)', async () => {
      const s = storage();
      const b = bytesOf(64, 20);
      const { key } = await s.put(b, 'IMAGE/PNG; charset=binary');
      expect(key).toBe(`${sha(b)}.png`);
      expect((await s.get(key))!.contentType).toBe('image/png');
      expect((await s.put(b, 'image/jpg')).key).toBe(`${sha(b)}.jpg`);
      expect((await s.get(`${sha(b)}.jpg`))!.contentType).toBe('image/jpeg');
    });

    it('refuses content types other than png/jpeg/webp with storage/failed, storing nothing', async () => {
      const s = storage();
      const b = bytesOf(64, 21);
      for (const ct of ['image/gif', 'text/plain', 'application/octet-stream', '', 'image/svg+xml']) {
        await rejectsWith(s.put(b, ct), 'storage/failed', `put(${JSON.stringify(ct)})`);
      }
      expect(await s.exists(`${sha(b)}.png`)).toBe(false);
    });

    it('absent keys: get and stat give null, exists false, delete false', async () => {
      const s = storage();
      const key = `${sha(bytesOf(10, 30))}.png`;
      expect(await s.get(key)).toBeNull();
      expect(await s.stat(key)).toBeNull();
      expect(await s.exists(key)).toBe(false);
      expect(await s.delete(key)).toBe(false);
    });

    it('stat gives size and content type; exists is true after put', async () => {
      const s = storage();
      const b = bytesOf(12345, 31);
      const { key } = await s.put(b, 'image/webp');
      expect(await s.exists(key)).toBe(true);
      expect(await s.stat(key)).toEqual({ key, bytes: 12345, contentType: 'image/webp' });
    });

    it('putting existing content again is a no-op returning the same key', async () => {
      const s = storage();
      const b = bytesOf(2048, 40);
      const first = await s.put(b, 'image/png');
      const second = await s.put(Buffer.from(b), 'image/png');
      expect(second).toEqual(first);
      expect((await s.get(first.key))!.bytes.equals(b)).toBe(true);
      expect((await s.stat(first.key))!.bytes).toBe(2048);
    });

    it('the same bytes under different content types are different artifacts', async () => {
      const s = storage();
      const b = bytesOf(300, 41);
      const a = await s.put(b, 'image/png');
      const c = await s.put(b, 'image/jpeg');
      expect(a.key).not.toBe(c.key);
      expect(a.key.slice(0, 64)).toBe(c.key.slice(0, 64));
      expect(await s.delete(a.key)).toBe(true);
      expect(await s.exists(a.key)).toBe(false);
      expect((await s.get(c.key))!.bytes.equals(b)).toBe(true);
    });

    it('delete removes the artifact: true once, then false; put restores it', async () => {
      const s = storage();
      const b = bytesOf(500, 50);
      const { key } = await s.put(b, 'image/png');
      expect(await s.delete(key)).toBe(true);
      expect(await s.delete(key)).toBe(false);
      expect(await s.get(key)).toBeNull();
      expect(await s.exists(key)).toBe(false);
      expect(await s.stat(key)).toBeNull();
      expect((await s.put(b, 'image/png')).key).toBe(key);
      expect((await s.get(key))!.bytes.equals(b)).toBe(true);
    });

    it('stores empty and 1 MiB artifacts', async () => {
      const s = storage();
      const empty = Buffer.alloc(0);
      const e = await s.put(empty, 'image/png');
      expect(e).toEqual({ key: `${sha(empty)}.png`, bytes: 0 });
      expect((await s.get(e.key))!.bytes.length).toBe(0);
      const big = bytesOf(1 << 20, 60);
      const r = await s.put(big, 'image/png');
      expect(r.bytes).toBe(1 << 20);
      expect((await s.get(r.key))!.bytes.equals(big)).toBe(true);
    });

    it('is isolated from callers: mutating the put input or a get result changes nothing stored', async () => {
      const s = storage();
      const b = bytesOf(256, 70);
      const original = Buffer.from(b);
      const { key } = await s.put(b, 'image/png');
      b.fill(0);
      const got = await s.get(key);
      expect(got!.bytes.equals(original)).toBe(true);
      got!.bytes.fill(1);
      expect((await s.get(key))!.bytes.equals(original)).toBe(true);
    });

    it('accepts a Buffer that is a view into a larger ArrayBuffer', async () => {
      const s = storage();
      const backing = bytesOf(1000, 80);
      const view = backing.subarray(100, 300);
      const { key, bytes } = await s.put(view, 'image/png');
      expect(bytes).toBe(200);
      expect(key).toBe(`${sha(view)}.png`);
      expect((await s.get(key))!.bytes.equals(view)).toBe(true);
    });

    it('concurrent puts of the same and of different content all succeed', async () => {
      const s = storage();
      const same = bytesOf(64 * 1024, 90);
      const others = Array.from({ length: 8 }, (_, i) => bytesOf(1000 + i, 100 + i));
      const results = await Promise.all([
        ...Array.from({ length: 8 }, () => s.put(same, 'image/png')),
        ...others.map((o) => s.put(o, 'image/jpeg')),
      ]);
      const sameKeys = new Set(results.slice(0, 8).map((r) => r.key));
      expect([...sameKeys]).toEqual([`${sha(same)}.png`]);
      expect((await s.get(`${sha(same)}.png`))!.bytes.equals(same)).toBe(true);
      for (let i = 0; i < others.length; i++) {
        expect(results[8 + i]!.key).toBe(`${sha(others[i]!)}.jpg`);
        expect((await s.get(results[8 + i]!.key))!.bytes.equals(others[i]!)).toBe(true);
      }
    });

    it('refuses malformed keys with storage/not_found in get, exists, stat and delete', async () => {
      const s = storage();
      // Something stored, so a lenient adapter could be tricked into finding it.
      const b = bytesOf(100, 110);
      const { key } = await s.put(b, 'image/png');
      const keys = [...MALFORMED_KEYS, key.toUpperCase(), `${key}\n`, `./${key}`, key.replace('.png', '.jpeg')];
      for (const k of keys) {
        await rejectsWith(s.get(k), 'storage/not_found', `get(${JSON.stringify(k)})`);
        await rejectsWith(s.exists(k), 'storage/not_found', `exists(${JSON.stringify(k)})`);
        await rejectsWith(s.stat(k), 'storage/not_found', `stat(${JSON.stringify(k)})`);
        await rejectsWith(s.delete(k), 'storage/not_found', `delete(${JSON.stringify(k)})`);
      }
      for (const k of [undefined, null, 42, {}] as unknown as string[]) {
        await rejectsWith(s.get(k), 'storage/not_found', `get(${String(k)})`);
      }
      expect((await s.get(key))!.bytes.equals(b)).toBe(true);
    });
  });
}
