/**
 * API keys: the port that keeps them (hashed) and the values around it. A key is printed once,
 * when created; the database holds only its SHA-256, its first characters and its limits.
 */
import { createHash, randomBytes } from 'node:crypto';

export const KEY_SCOPES = ['user', 'admin'] as const;
export type KeyScope = (typeof KEY_SCOPES)[number];

export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  /** the key's first characters (egsde_xxxx), to recognise it in listings */
  readonly prefix: string;
  readonly scope: KeyScope;
  /** null: the service's default */
  readonly ratePerMinute: number | null;
  readonly burst: number | null;
  readonly maxActive: number | null;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

export interface NewApiKey {
  name: string;
  scope: KeyScope;
  ratePerMinute?: number | null;
  burst?: number | null;
  maxActive?: number | null;
}

/** The outcome of taking one token from a key's bucket. */
export type TokenTake = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface ApiKeyStore {
  /** Stores a new key; returns it with the secret (shown once). Throws 'input/invalid' for a name in use. */
  create(key: NewApiKey): Promise<{ record: ApiKeyRecord; secret: string }>;
  /** The unrevoked key with this secret, or null. */
  findBySecret(secret: string): Promise<ApiKeyRecord | null>;
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes by name or id; false when there is no such unrevoked key. */
  revoke(nameOrId: string): Promise<boolean>;
  /** How many keys were ever created (revoked ones included). */
  countAll(): Promise<number>;
  /**
   * Takes one token from the key's bucket (refilled at ratePerMinute up to burst), atomically
   * across processes sharing the database.
   */
  takeToken(id: string, ratePerMinute: number, burst: number): Promise<TokenTake>;
}

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newKeySecret(): string {
  return `egsde_${randomBytes(24).toString('base64url')}`;
}

/** A token bucket, pure: the state after `now`, and whether a token could be taken. */
export function refill(
  state: { tokens: number | null; refilledAt: Date | null },
  ratePerMinute: number,
  burst: number,
  now: Date,
): { tokens: number; take: TokenTake } {
  const elapsedS = state.refilledAt ? Math.max(0, (now.getTime() - state.refilledAt.getTime()) / 1000) : Infinity;
  const perS = ratePerMinute / 60;
  const tokens = Math.min(burst, (state.tokens ?? burst) + elapsedS * perS);
  if (tokens >= 1) return { tokens: tokens - 1, take: { ok: true } };
  const retryAfterSeconds = perS > 0 ? Math.max(1, Math.ceil((1 - tokens) / perS)) : 3600;
  return { tokens, take: { ok: false, retryAfterSeconds } };
}
