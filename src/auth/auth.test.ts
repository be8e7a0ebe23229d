/** API keys, principals, the token bucket and URL signing, over a real SQLite database. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDatabase, type Database } from '../db/client';
import { PrismaApiKeyStore } from '../adapters/prisma/api-key-store';
import { KeyAuthenticator, credentialOf } from './authenticator';
import { hashKey, refill } from './keys';
import { HmacUrlSigner } from './url-signer';
import { isCodedError } from '../errors';

const defaults = { ratePerMinute: 60, burst: 5, maxActive: 4 };

describe('keys and principals', () => {
  let db: Database;
  let keys: PrismaApiKeyStore;
  beforeAll(async () => {
    db = await openDatabase(`file:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'egsde-auth-')), 'db.sqlite')}`);
    keys = new PrismaApiKeyStore(db.prisma);
  });
  afterAll(() => db?.close());

  const refusal = async (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (isCodedError(e) ? e.code : String(e)));

  test('open while no key exists; closed once one does (and with API_TOKEN set, always)', async () => {
    const auth = new KeyAuthenticator(keys, { defaults, cacheMs: 0 });
    expect(await auth.authenticate(undefined)).toMatchObject({ kind: 'open', admin: true, ownerId: null });
    const { record, secret } = await keys.create({ name: 'k1', scope: 'user', maxActive: 2 });
    expect(secret).toMatch(/^egsde_[\w-]{32}$/);
    expect(await refusal(auth.authenticate(undefined))).toBe('auth/unauthenticated');
    expect(await refusal(auth.authenticate('Bearer egsde_wrong'))).toBe('auth/unauthenticated');
    const p = await auth.authenticate(`Bearer ${secret}`);
    expect(p).toMatchObject({ kind: 'key', ownerId: record.id, name: 'k1', admin: false, limits: { ratePerMinute: 60, burst: 5, maxActive: 2 } });
    expect(await auth.authenticate(secret)).toMatchObject({ ownerId: record.id });
    const operator = new KeyAuthenticator(keys, { operatorToken: 'op-secret', defaults, cacheMs: 0 });
    expect(await operator.authenticate('Bearer op-secret')).toMatchObject({ kind: 'operator', admin: true });
    expect(await refusal(operator.authenticate('Bearer op-secreT'))).toBe('auth/unauthenticated');
    expect(await keys.revoke('k1')).toBe(true);
    expect(await refusal(auth.authenticate(`Bearer ${secret}`))).toBe('auth/unauthenticated');
    // every key revoked: still closed (revoking must never open the service)
    expect(await refusal(auth.authenticate(undefined))).toBe('auth/unauthenticated');
    expect((await db.prisma.apiKey.findFirst({ where: { name: 'k1' } }))!.hash).toBe(hashKey(secret));
  });

  test('a cached view: a revoked key works until the cache expires, then not', async () => {
    let t = 1_000_000;
    const auth = new KeyAuthenticator(keys, { defaults, cacheMs: 1000, now: () => t });
    const { secret } = await keys.create({ name: 'k2', scope: 'admin' });
    expect(await auth.authenticate(`Bearer ${secret}`)).toMatchObject({ admin: true });
    await keys.revoke('k2');
    expect(await auth.authenticate(`Bearer ${secret}`)).toMatchObject({ admin: true });
    t += 1001;
    expect(await refusal(auth.authenticate(`Bearer ${secret}`))).not.toBe('accepted');
  });

  test('credentials: Bearer or bare, anything else is none', () => {
    expect(credentialOf('Bearer abc')).toBe('abc');
    expect(credentialOf('bearer   abc ')).toBe('abc');
    expect(credentialOf('abc')).toBe('abc');
    expect(credentialOf('')).toBeUndefined();
    expect(credentialOf(42)).toBeUndefined();
    expect(credentialOf({ authorization: 'x' })).toBeUndefined();
  });

  test('the token bucket in the database: a burst, then refusals with retry-after, then refills', async () => {
    const { record } = await keys.create({ name: 'k3', scope: 'user' });
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await keys.takeToken(record.id, 60, 3));
    expect(got.map((g) => g.ok)).toEqual([true, true, true, false]);
    expect(got[3]).toEqual({ ok: false, retryAfterSeconds: 1 });
    // concurrent takers never get more than the burst
    const { record: r2 } = await keys.create({ name: 'k4', scope: 'user' });
    const many = await Promise.all(Array.from({ length: 10 }, () => keys.takeToken(r2.id, 0.001, 4)));
    expect(many.filter((g) => g.ok)).toHaveLength(4);
  });

  test('refill is a token bucket', () => {
    const t0 = new Date(0);
    expect(refill({ tokens: null, refilledAt: null }, 60, 2, t0)).toEqual({ tokens: 1, take: { ok: true } });
    expect(refill({ tokens: 0, refilledAt: t0 }, 60, 2, new Date(500))).toEqual({ tokens: 0.5, take: { ok: false, retryAfterSeconds: 1 } });
    expect(refill({ tokens: 0, refilledAt: t0 }, 6, 2, new Date(1000)).take).toEqual({ ok: false, retryAfterSeconds: 9 });
    expect(refill({ tokens: 0, refilledAt: t0 }, 60, 2, new Date(10_000)).tokens).toBe(1);
  });
});

describe('signed image URLs', () => {
  const key = `${'ab'.repeat(32)}.png`;
  const code = (f: () => void) => {
    try {
      f();
      return 'accepted';
    } catch (e) {
      return isCodedError(e) ? `${e.code}: ${e.message}` : String(e);
    }
  };
  test('verify accepts its own URLs until they expire, and nothing else', () => {
    let t = 1_700_000_000_000;
    const s = new HmacUrlSigner(Buffer.from('0123456789abcdef0123'), 3600, () => t);
    const u = new URL(`http://x${s.url(key)}`);
    const [exp, sig] = [u.searchParams.get('exp')!, u.searchParams.get('sig')!];
    expect(Number(exp) * 1000 - t).toBeGreaterThanOrEqual(3600_000);
    expect(code(() => s.verify(key, exp, sig))).toBe('accepted');
    expect(code(() => s.verify(key.replace('ab', 'ac'), exp, sig))).toMatch(/^auth\/bad_signature/);
    expect(code(() => s.verify(key, String(Number(exp) + 1), sig))).toMatch(/^auth\/bad_signature/);
    expect(code(() => s.verify(key, exp, `${sig}x`))).toMatch(/^auth\/bad_signature/);
    expect(code(() => s.verify(key, undefined, sig))).toMatch(/^auth\/bad_signature/);
    expect(code(() => s.verify(key, ['1', '2'], sig))).toMatch(/^auth\/bad_signature/);
    expect(code(() => new HmacUrlSigner(Buffer.from('another secret 123'), 3600, () => t).verify(key, exp, sig))).toMatch(/^auth\/bad_signature/);
    t = Number(exp) * 1000;
    expect(code(() => s.verify(key, exp, sig))).toMatch(/expired/);
    // URLs are stable within a window (cacheable), and move on after it
    t = 1_700_000_000_000;
    expect(s.url(key)).toBe(s.url(key));
    expect(s.url(null)).toBeNull();
  });
});
