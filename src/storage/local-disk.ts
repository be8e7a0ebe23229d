/**
 * The embedded ArtifactStorage adapter: files under one directory.
 *
 * Layout: `<dir>/<k[0..2]>/<k[2..4]>/<key>` (e.g. `3f/a9/3fa9...e1.png`), so no folder holds
 * more than 256 entries of the level below. Writes go to `<dir>/.tmp/` first and are then
 * renamed into place; rename(2) within one file system is atomic (POSIX rename: "If newpath
 * already exists, it will be atomically replaced"), so a reader sees the whole artifact or none,
 * and a crash leaves at worst a stray file in `.tmp/` (never a valid key; removed by
 * `sweepTempFiles`).
 */
import { randomBytes } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CodedError } from '../errors';
import {
  type ArtifactStat,
  type ArtifactStorage,
  type PutResult,
  type StoredArtifact,
  ARTIFACT_CONTENT_TYPES,
  assertArtifactKey,
  contentTypeOfKey,
  requireContentType,
  sha256Hex,
} from './types';

export interface LocalDiskStorageOptions {
  /**
   * Flush each new file (and its folder) to stable storage before reporting it stored, so an
   * acknowledged artifact survives a power loss. Default true.
   */
  fsync?: boolean;
  /** Re-hash artifacts on `get` and fail with 'storage/failed' when the bytes do not match their key. Default true. */
  verifyOnRead?: boolean;
}

const TMP_DIR = '.tmp';

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function failed(op: string, key: string | null, e: unknown): CodedError {
  if (e instanceof CodedError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new CodedError('storage/failed', `local storage ${op} failed${key ? ` for ${key}` : ''}: ${msg}`, {
    op,
    key,
    errno: errnoCode(e) ?? null,
  });
}

export class LocalDiskStorage implements ArtifactStorage {
  readonly dir: string;
  private readonly fsync: boolean;
  private readonly verifyOnRead: boolean;

  /** `dir` is created on the first put; it need not exist before. */
  constructor(dir: string, options: LocalDiskStorageOptions = {}) {
    this.dir = path.resolve(dir);
    this.fsync = options.fsync ?? true;
    this.verifyOnRead = options.verifyOnRead ?? true;
  }

  /** Absolute path of a key's file (the key is validated first). */
  pathOf(key: string): string {
    assertArtifactKey(key);
    return path.join(this.dir, key.slice(0, 2), key.slice(2, 4), key);
  }

  async put(bytes: Buffer, contentType: string): Promise<PutResult> {
    const ct = requireContentType(contentType);
    // Copy first: the caller may modify `bytes` while the write is in flight.
    const data = Buffer.from(bytes);
    const key = `${sha256Hex(data)}.${ARTIFACT_CONTENT_TYPES[ct]}`;
    const file = this.pathOf(key);
    try {
      const st = await fs.stat(file).catch((e: unknown) => {
        if (errnoCode(e) === 'ENOENT') return null;
        throw e;
      });
      // Already stored (same name = same content). A size mismatch can only be outside damage:
      // rewrite it.
      if (st && st.isFile() && st.size === data.length) return { key, bytes: data.length };

      const tmpDir = path.join(this.dir, TMP_DIR);
      await fs.mkdir(tmpDir, { recursive: true });
      await fs.mkdir(path.dirname(file), { recursive: true });
      const tmp = path.join(tmpDir, `${key}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
      try {
        const fh = await fs.open(tmp, 'wx', 0o644);
        try {
          await fh.writeFile(data);
          if (this.fsync) await fh.sync();
        } finally {
          await fh.close();
        }
        await fs.rename(tmp, file);
      } catch (e) {
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw e;
      }
      if (this.fsync) await this.syncDir(path.dirname(file));
      return { key, bytes: data.length };
    } catch (e) {
      throw failed('put', key, e);
    }
  }

  async get(key: string): Promise<StoredArtifact | null> {
    const file = this.pathOf(key);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return null;
      throw failed('get', key, e);
    }
    if (this.verifyOnRead && sha256Hex(bytes) !== key.slice(0, 64)) {
      throw new CodedError('storage/failed', `artifact ${key} is corrupt: its bytes no longer match its key`, { op: 'get', key });
    }
    return { bytes, contentType: contentTypeOfKey(key) };
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async stat(key: string): Promise<ArtifactStat | null> {
    const file = this.pathOf(key);
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) throw new Error('not a regular file');
      return { key, bytes: st.size, contentType: contentTypeOfKey(key) };
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return null;
      throw failed('stat', key, e);
    }
  }

  async delete(key: string): Promise<boolean> {
    const file = this.pathOf(key);
    try {
      await fs.unlink(file);
      return true;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return false;
      throw failed('delete', key, e);
    }
  }

  /**
   * Removes temporary files left in `<dir>/.tmp/` by writes that never finished (a crash between
   * write and rename) and older than `olderThanMs` (default 1 hour, so writes in flight in other
   * processes are left alone). Returns how many were removed. Run it at startup.
   */
  async sweepTempFiles(olderThanMs = 60 * 60 * 1000): Promise<number> {
    const tmpDir = path.join(this.dir, TMP_DIR);
    let names: string[];
    try {
      names = await fs.readdir(tmpDir);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return 0;
      throw failed('sweep', null, e);
    }
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const name of names) {
      const p = path.join(tmpDir, name);
      try {
        const st = await fs.stat(p);
        if (st.isFile() && st.mtimeMs <= cutoff) {
          await fs.unlink(p);
          removed++;
        }
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw failed('sweep', null, e);
      }
    }
    return removed;
  }

  /** fsync a directory so a rename into it is durable (best effort: not every platform allows it). */
  private async syncDir(dir: string): Promise<void> {
    let fh: FileHandle | undefined;
    try {
      fh = await fs.open(dir, 'r');
      await fh.sync();
    } catch {
      // EISDIR/EPERM/EINVAL on some platforms and file systems: the data itself is synced.
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }
}
