/**
 * Integration-test harness: a real server on port 0 over a real database (a temp SQLite file or
 * a fresh PostgreSQL schema), the golden tiny pack, a graphql-ws client.
 */
import * as fs from 'fs';
import * as path from 'path';
import WebSocket from 'ws';
import { createClient, Client } from 'graphql-ws';
import sharp from 'sharp';
import { App, BuildAppOptions, buildApp } from '../../src/app';
import type { AppConfig } from '../../src/config';
import type { Database } from '../../src/db/client';
import { PrismaApiKeyStore } from '../../src/adapters/prisma/api-key-store';
import type { NewApiKey } from '../../src/auth/keys';

export { BACKENDS, POSTGRES_URL } from './databases';
export type { Backend } from './databases';

const FIXTURES = path.join(__dirname, '..', 'fixtures');

export function testConfig(databaseUrl: string, artifactsDir: string, over: Partial<AppConfig> = {}): BuildAppOptions {
  return {
    config: {
      databaseUrl,
      artifactsDir,
      modelsDir: path.join(FIXTURES, 'packs'),
      modelsRoot: FIXTURES,
      allowSharedModelFiles: true,
      threads: 1,
      maxBatch: 8,
      concurrency: 8,
      drainMs: 2000,
      ...over,
    },
  };
}

export interface Running {
  app: App;
  url: string;
  ws: Client;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string } }[] }>;
  subscribe<T>(query: string, variables: Record<string, unknown>): Promise<{ events: T[]; error?: unknown }>;
  close(): Promise<void>;
}

export async function startServer(opts: BuildAppOptions): Promise<Running> {
  const app = await buildApp(opts);
  const { url } = await app.start(0);
  const ws = createClient({ url: `${url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
  return {
    app,
    url,
    ws,
    async gql(query: string, variables?: Record<string, unknown>) {
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      return (await res.json()) as never;
    },
    subscribe<T>(query: string, variables: Record<string, unknown>) {
      return new Promise<{ events: T[]; error?: unknown }>((resolve) => {
        const events: T[] = [];
        ws.subscribe<T>({ query, variables }, {
          next: (v) => {
            if (v.errors) resolve({ events, error: v.errors });
            else events.push(v.data as T);
          },
          error: (e) => resolve({ events, error: e }),
          complete: () => resolve({ events }),
        });
      });
    },
    async close() {
      await ws.dispose();
      await app.stop();
    },
  };
}

/** Creates API keys in the server's database; returns each key's secret by name. */
export async function createKeys(db: Database, specs: readonly NewApiKey[]): Promise<Record<string, string>> {
  const store = new PrismaApiKeyStore(db.prisma);
  const out: Record<string, string> = {};
  for (const s of specs) out[s.name] = (await store.create(s)).secret;
  return out;
}

export interface GqlResult<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

/** A client of a running server that sends `key` (HTTP Authorization, WebSocket connectionParams). */
export function clientAs(url: string, key?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
  return {
    async gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GqlResult<T> & { status: number }> {
      const res = await fetch(`${url}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
      return { status: res.status, ...((await res.json()) as GqlResult<T>) };
    },
    /** Collects a subscription's results until it completes, errs, or the socket closes. */
    subscribe<T>(query: string, variables: Record<string, unknown>, untilCount = Infinity): Promise<{ events: T[]; error?: unknown; closeCode?: number; closeReason?: string }> {
      return new Promise((resolve) => {
        let closeCode: number | undefined;
        let closeReason: string | undefined;
        const ws = createClient({
          url: `${url.replace('http', 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: key ? { authorization: `Bearer ${key}` } : {},
          on: { closed: (e) => { const ev = e as { code?: number; reason?: string }; closeCode = ev.code; closeReason = ev.reason; } },
        });
        const events: T[] = [];
        let finished = false;
        const done = (r: { events: T[]; error?: unknown }) => {
          if (finished) return;
          finished = true;
          void ws.dispose();
          resolve({ ...r, events: r.events.slice(), closeCode, closeReason });
        };
        const unsubscribe = ws.subscribe<T>({ query, variables }, {
          next: (v) => {
            if (finished) return;
            if (v.errors) done({ events, error: v.errors });
            else {
              events.push(v.data as T);
              if (events.length >= untilCount) {
                unsubscribe();
                done({ events });
              }
            }
          },
          error: (e) => done({ events, error: e }),
          complete: () => done({ events }),
        });
      });
    },
  };
}

/** A size x size PNG (random pixels) as a data URL. */
export async function pngDataUrl(size = 64, seed = 1): Promise<string> {
  const raw = Buffer.alloc(size * size * 3);
  let s = seed;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    raw[i] = s >>> 24;
  }
  const png = await sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

export function countFiles(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  return n;
}
