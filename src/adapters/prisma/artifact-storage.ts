/**
 * Artifact storage in the database (the Artifact table): images every process reaches without a
 * shared disk — PostgreSQL in scale-out, SQLite works too. Local disk stays the embedded default
 * (src/storage/local-disk.ts). One row per artifact, written by one INSERT, so a reader never
 * sees a partial artifact; concurrent puts of the same bytes race on the primary key and the
 * losers (P2002) count as stored. Passes `storageConformance` (src/storage/conformance.ts).
 */
import type { PrismaClient } from '../../db/client';
import { CodedError } from '../../errors';
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
} from '../../storage';

/** Default largest artifact `put` accepts: 64 MiB. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;

export interface DatabaseArtifactStorageOptions {
  /** Largest artifact `put` accepts, in bytes; larger ones fail with 'storage/failed'. Default 64 MiB. */
  maxBytes?: number;
  /** Re-hash artifacts on `get` and fail with 'storage/failed' when the bytes do not match their key. Default true. */
  verifyOnRead?: boolean;
}

export interface ArtifactUsage {
  artifacts: number;
  bytes: number;
}

/** The Prisma error code (P2002, ...) of a Prisma error, if it is one. */
function prismaCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^P\d{4}$/.test(code) ? code : undefined;
}

export class DatabaseArtifactStorage implements ArtifactStorage {
  readonly maxBytes: number;
  private readonly verifyOnRead: boolean;

  constructor(
    private readonly prisma: PrismaClient,
    options: DatabaseArtifactStorageOptions = {},
  ) {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_ARTIFACT_BYTES;
    // The size column is a 32-bit INTEGER.
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || maxBytes > 2 ** 31 - 1) {
      throw new RangeError(`maxBytes must be an integer in [0, ${2 ** 31 - 1}], got ${maxBytes}`);
    }
    this.maxBytes = maxBytes;
    this.verifyOnRead = options.verifyOnRead ?? true;
  }

  /** Runs a database operation, turning driver/Prisma failures into 'storage/failed'. */
  private async guard<T>(op: string, key: string | null, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (e instanceof CodedError) throw e;
      const code = prismaCode(e);
      throw new CodedError('storage/failed', `database storage ${op} failed${key ? ` for ${key}` : ''}: ${(e as Error)?.message ?? String(e)}`, {
        op,
        key,
        ...(code ? { prismaCode: code } : {}),
      });
    }
  }

  async put(bytes: Buffer, contentType: string): Promise<PutResult> {
    const ct = requireContentType(contentType);
    if (bytes.length > this.maxBytes) {
      throw new CodedError('storage/failed', `artifact of ${bytes.length} bytes is over the limit of ${this.maxBytes} bytes`, {
        op: 'put',
        bytes: bytes.length,
        maxBytes: this.maxBytes,
      });
    }
    // Copy first: the caller may modify `bytes` while the insert is in flight.
    const data = new Uint8Array(bytes);
    const key = `${sha256Hex(data)}.${ARTIFACT_CONTENT_TYPES[ct]}`;
    const result = { key, bytes: data.length };
    return this.guard('put', key, async () => {
      // Same key = same content: skip sending the bytes when it is already there.
      if (await this.prisma.artifact.findUnique({ where: { key }, select: { key: true } })) return result;
      try {
        await this.prisma.artifact.create({ data: { key, contentType: ct, size: data.length, bytes: data }, select: { key: true } });
      } catch (e) {
        // Another put of the same bytes won the race.
        if (prismaCode(e) !== 'P2002') throw e;
      }
      return result;
    });
  }

  async get(key: string): Promise<StoredArtifact | null> {
    assertArtifactKey(key);
    const row = await this.guard('get', key, () => this.prisma.artifact.findUnique({ where: { key }, select: { bytes: true } }));
    if (!row) return null;
    // A copy: the caller may keep or modify it.
    const bytes = Buffer.from(row.bytes);
    if (this.verifyOnRead && sha256Hex(bytes) !== key.slice(0, 64)) {
      throw new CodedError('storage/failed', `artifact ${key} is corrupt: its bytes no longer match its key`, { op: 'get', key });
    }
    return { bytes, contentType: contentTypeOfKey(key) };
  }

  async exists(key: string): Promise<boolean> {
    assertArtifactKey(key);
    const row = await this.guard('exists', key, () => this.prisma.artifact.findUnique({ where: { key }, select: { key: true } }));
    return row !== null;
  }

  async stat(key: string): Promise<ArtifactStat | null> {
    assertArtifactKey(key);
    // The key names the content type; only the size is read, never the bytes.
    const row = await this.guard('stat', key, () => this.prisma.artifact.findUnique({ where: { key }, select: { size: true } }));
    return row ? { key, bytes: row.size, contentType: contentTypeOfKey(key) } : null;
  }

  async delete(key: string): Promise<boolean> {
    assertArtifactKey(key);
    const { count } = await this.guard('delete', key, () => this.prisma.artifact.deleteMany({ where: { key } }));
    return count > 0;
  }

  /** How many artifacts are stored and their total size in bytes. */
  async usage(): Promise<ArtifactUsage> {
    const agg = await this.guard('usage', null, () => this.prisma.artifact.aggregate({ _count: { _all: true }, _sum: { size: true } }));
    return { artifacts: agg._count._all, bytes: Number(agg._sum.size ?? 0) };
  }
}
