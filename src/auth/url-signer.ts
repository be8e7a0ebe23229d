/**
 * Signed, expiring image URLs: `/artifacts/<key>?exp=<unix seconds>&sig=<HMAC-SHA256(key.exp)>`,
 * so an `<img>` tag loads a run's image without headers, and only whoever was handed the URL (the
 * run's owner, through the API) can, until it expires. Expiry is rounded up to a whole window
 * (a tenth of the lifetime), so the URLs of one run are stable across many queries and cache well.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CodedError } from '../errors';

export interface UrlSigner {
  /** the signed path of an artifact key (null stays null) */
  url(key: string): string;
  url(key: string | null | undefined): string | null;
  /** throws 'auth/bad_signature' unless `sig` signs `key` until `exp`, and exp is in the future */
  verify(key: string, exp: unknown, sig: unknown): void;
}

export class HmacUrlSigner implements UrlSigner {
  constructor(
    private readonly secret: Buffer,
    private readonly ttlS: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    if (secret.length < 16) throw new Error('the URL signing secret needs at least 16 bytes');
  }

  private sign(key: string, exp: number): string {
    return createHmac('sha256', this.secret).update(`${key}.${exp}`).digest('base64url');
  }

  url(key: string): string;
  url(key: string | null | undefined): string | null;
  url(key: string | null | undefined): string | null {
    if (!key) return null;
    const window = Math.max(1, Math.floor(this.ttlS / 10));
    const exp = Math.ceil((this.now() / 1000 + this.ttlS) / window) * window;
    return `/artifacts/${key}?exp=${exp}&sig=${this.sign(key, exp)}`;
  }

  verify(key: string, exp: unknown, sig: unknown): void {
    const e = typeof exp === 'string' && /^\d{1,12}$/.test(exp) ? Number(exp) : NaN;
    if (!Number.isFinite(e) || typeof sig !== 'string') {
      throw new CodedError('auth/bad_signature', 'image URLs need exp and sig: take the URL from the run (sourceUrl, outputUrl, previewUrl)');
    }
    const want = Buffer.from(this.sign(key, e));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) throw new CodedError('auth/bad_signature', 'the image URL signature is wrong');
    if (e * 1000 <= this.now()) throw new CodedError('auth/bad_signature', 'the image URL has expired: query the run again for a fresh one', { expiredAt: new Date(e * 1000).toISOString() });
  }
}
