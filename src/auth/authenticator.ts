/**
 * Credentials -> principals, for HTTP and WebSocket alike. The service is open (everyone is the
 * local, admin 'open' principal) while no key was ever created and no API_TOKEN is set; as soon as
 * a key is created (`egsde keys create`) every instance requires keys within AUTH_CACHE_MS, and
 * stays closed even if every key is later revoked.
 */
import { timingSafeEqual } from 'node:crypto';
import { CodedError } from '../errors';
import type { ApiKeyRecord, ApiKeyStore } from './keys';
import type { Authenticator, KeyLimits, Principal } from './principal';

export interface AuthOptions {
  /** the operator's key from the environment (admin) */
  operatorToken?: string;
  defaults: KeyLimits;
  cacheMs: number;
  now?: () => number;
}

/** `Bearer <key>` (or the bare key, as WebSocket clients often send it) */
export function credentialOf(authorization: unknown): string | undefined {
  if (typeof authorization !== 'string') return undefined;
  const s = authorization.trim();
  if (!s) return undefined;
  return /^bearer\s+/i.test(s) ? s.replace(/^bearer\s+/i, '').trim() : s;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class KeyAuthenticator implements Authenticator {
  private openUntil = 0;
  private open = false;
  private readonly cache = new Map<string, { until: number; key: ApiKeyRecord | null }>();
  private readonly now: () => number;

  constructor(private readonly keys: ApiKeyStore, private readonly o: AuthOptions) {
    this.now = o.now ?? (() => Date.now());
  }

  async isOpen(): Promise<boolean> {
    if (this.o.operatorToken) return false;
    const t = this.now();
    if (t >= this.openUntil) {
      // revoking every key must not open the service: open means no key was ever created
      this.open = (await this.keys.countAll()) === 0;
      this.openUntil = t + this.o.cacheMs;
    }
    return this.open;
  }

  async authenticate(authorization: unknown): Promise<Principal> {
    const secret = credentialOf(authorization);
    if (await this.isOpen()) {
      return { kind: 'open', ownerId: null, name: 'local', admin: true, limits: this.o.defaults };
    }
    if (!secret) throw new CodedError('auth/unauthenticated', 'this service needs an API key: send Authorization: Bearer <key> (WebSocket: connectionParams.authorization)');
    if (this.o.operatorToken && sameSecret(secret, this.o.operatorToken)) {
      return { kind: 'operator', ownerId: null, name: 'operator', admin: true, limits: this.o.defaults };
    }
    const key = await this.lookup(secret);
    if (!key) throw new CodedError('auth/unauthenticated', 'unknown or revoked API key');
    return {
      kind: 'key',
      ownerId: key.id,
      name: key.name,
      admin: key.scope === 'admin',
      limits: {
        ratePerMinute: key.ratePerMinute ?? this.o.defaults.ratePerMinute,
        burst: key.burst ?? this.o.defaults.burst,
        maxActive: key.maxActive ?? this.o.defaults.maxActive,
      },
    };
  }

  private async lookup(secret: string): Promise<ApiKeyRecord | null> {
    const t = this.now();
    const hit = this.cache.get(secret);
    if (hit && hit.until > t) return hit.key;
    const key = await this.keys.findBySecret(secret);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(secret, { until: t + this.o.cacheMs, key });
    return key;
  }
}
