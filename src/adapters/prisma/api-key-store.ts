/** API keys on Prisma (the ApiKey table); the rate-limit bucket is updated with optimistic concurrency, so instances sharing the database share it. */
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../../db/client';
import { CodedError } from '../../errors';
import { type ApiKeyRecord, type ApiKeyStore, type KeyScope, type NewApiKey, type TokenTake, hashKey, newKeySecret, refill } from '../../auth/keys';

interface ApiKeyRow {
  id: string;
  name: string;
  prefix: string;
  scope: string;
  ratePerMinute: number | null;
  burst: number | null;
  maxActive: number | null;
  createdAt: Date;
  revokedAt: Date | null;
}

function toRecord(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scope: (r.scope === 'admin' ? 'admin' : 'user') as KeyScope,
    ratePerMinute: r.ratePerMinute,
    burst: r.burst,
    maxActive: r.maxActive,
    createdAt: r.createdAt,
    revokedAt: r.revokedAt,
  };
}

export class PrismaApiKeyStore implements ApiKeyStore {
  constructor(private readonly prisma: PrismaClient, private readonly now: () => Date = () => new Date()) {}

  private async guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      if (e instanceof CodedError) throw e;
      throw new CodedError('db/failed', `Database error in ${what}: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  create(key: NewApiKey): Promise<{ record: ApiKeyRecord; secret: string }> {
    return this.guard('create key', async () => {
      if (await this.prisma.apiKey.findUnique({ where: { name: key.name } })) {
        throw new CodedError('input/invalid', `a key named ${JSON.stringify(key.name)} exists already`, { field: 'name' });
      }
      const secret = newKeySecret();
      const row = await this.prisma.apiKey.create({
        data: {
          id: randomUUID(),
          name: key.name,
          hash: hashKey(secret),
          prefix: secret.slice(0, 10),
          scope: key.scope,
          ratePerMinute: key.ratePerMinute ?? null,
          burst: key.burst ?? null,
          maxActive: key.maxActive ?? null,
        },
      });
      return { record: toRecord(row), secret };
    });
  }

  findBySecret(secret: string): Promise<ApiKeyRecord | null> {
    return this.guard('find key', async () => {
      const row = await this.prisma.apiKey.findUnique({ where: { hash: hashKey(secret) } });
      return row && !row.revokedAt ? toRecord(row) : null;
    });
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.guard('list keys', async () => (await this.prisma.apiKey.findMany({ orderBy: { createdAt: 'asc' } })).map(toRecord));
  }

  revoke(nameOrId: string): Promise<boolean> {
    return this.guard('revoke key', async () => {
      const { count } = await this.prisma.apiKey.updateMany({ where: { OR: [{ name: nameOrId }, { id: nameOrId }], revokedAt: null }, data: { revokedAt: this.now() } });
      return count > 0;
    });
  }

  countAll(): Promise<number> {
    return this.guard('count keys', () => this.prisma.apiKey.count());
  }

  takeToken(id: string, ratePerMinute: number, burst: number): Promise<TokenTake> {
    return this.guard('rate limit', async () => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const row = await this.prisma.apiKey.findUnique({ where: { id }, select: { tokens: true, refilledAt: true } });
        if (!row) return { ok: true };
        const now = this.now();
        const { tokens, take } = refill(row, ratePerMinute, burst, now);
        if (!take.ok) return take;
        // applies only if nobody took a token since we read the bucket
        const { count } = await this.prisma.apiKey.updateMany({ where: { id, tokens: row.tokens, refilledAt: row.refilledAt }, data: { tokens, refilledAt: now } });
        if (count === 1) return take;
      }
      throw new CodedError('server/overloaded', 'the rate limiter is contended; retry');
    });
  }
}
