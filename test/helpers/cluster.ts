/**
 * A scale-out cluster on this machine, for tests and bench/scale.bench.ts: API instances
 * (ENGINE=off) and engine workers as child processes (ts-node, transpile-only) over one
 * PostgreSQL schema and one Redis namespace, with the JSON log lines of each process kept.
 */
import { ChildProcess, spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import { createClient, Client } from 'graphql-ws';
import { POSTGRES_URL } from './server-harness';

const ROOT = path.join(__dirname, '..', '..');
export { REDIS_URL } from './databases';
import { REDIS_URL } from './databases';

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: string[];
  /** resolves with the first log line whose msg matches */
  waitFor(msg: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM (drain) or SIGKILL; resolves when it exited */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface Cluster {
  readonly env: NodeJS.ProcessEnv;
  readonly schema: string;
  readonly prefix: string;
  /** an API instance on a free port; resolves once it listens */
  api(name: string, env?: NodeJS.ProcessEnv): Promise<Api>;
  /** an engine worker; resolves once it is ready */
  worker(name: string, env?: NodeJS.ProcessEnv): Promise<Proc>;
  sql<T = Record<string, unknown>>(query: string, params?: unknown[]): Promise<T[]>;
  dispose(): Promise<void>;
}

export interface Api extends Proc {
  readonly url: string;
  readonly ws: Client;
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<{ data?: T; errors?: { message: string; extensions?: { code?: string } }[] }>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function launch(name: string, entry: string, env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, ['--require', require.resolve('ts-node/register/transpile-only'), path.join(ROOT, entry)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const watchers: { re: RegExp; resolve: (v: Record<string, unknown>) => void }[] = [];
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      let rec: Record<string, unknown> | null = null;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      for (const w of [...watchers]) {
        if (typeof rec!.msg === 'string' && w.re.test(rec!.msg)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(rec!);
        }
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', (d: Buffer) => lines.push(`[stderr] ${d.toString().trimEnd()}`));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    name,
    child,
    lines,
    waitFor(re, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no log line matching ${re} within ${timeoutMs} ms; last lines:\n${lines.slice(-15).join('\n')}`)), timeoutMs);
        const w = { re, resolve: (v: Record<string, unknown>) => (clearTimeout(timer), resolve(v)) };
        watchers.push(w);
        void exited.then(() => {
          if (watchers.includes(w)) {
            clearTimeout(timer);
            reject(new Error(`${name} exited before logging ${re}; last lines:\n${lines.slice(-15).join('\n')}`));
          }
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export async function startCluster(over: NodeJS.ProcessEnv = {}): Promise<Cluster> {
  const schema = `egsde_scale_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const prefix = `egsde-test-${randomUUID().slice(0, 8)}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JEST_WORKER_ID: '',
    LOG_LEVEL: 'info',
    DATABASE_URL: `${POSTGRES_URL}?schema=${schema}`,
    QUEUE: 'redis',
    EVENTS: 'redis',
    STORAGE: 'postgres',
    REDIS_URL,
    REDIS_PREFIX: prefix,
    EGSDE_THREADS: '1',
    ...over,
  };
  const procs: Proc[] = [];
  const clients: Client[] = [];
  const pg = new PgClient({ connectionString: POSTGRES_URL });
  await pg.connect();
  return {
    env,
    schema,
    prefix,
    async api(name, extra = {}) {
      const port = await freePort();
      const p = launch(name, 'src/server.ts', { ...env, ENGINE: 'off', PORT: String(port), ...extra });
      procs.push(p);
      await p.waitFor(/egsde service listening/);
      const url = `http://127.0.0.1:${port}`;
      const ws = createClient({ url: `ws://127.0.0.1:${port}/graphql`, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
      clients.push(ws);
      return {
        ...p,
        url,
        ws,
        async gql(query, variables) {
          const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
          return (await res.json()) as never;
        },
      };
    },
    async worker(name, extra = {}) {
      const p = launch(name, 'src/worker.ts', { ...env, ...extra });
      procs.push(p);
      await p.waitFor(/engine worker ready/);
      return p;
    },
    async sql(query, params = []) {
      return (await pg.query(query.replace(/"Run"|"RunEvent"|"Worker"|"Artifact"/g, (t) => `"${schema}".${t}`), params)).rows;
    },
    async dispose() {
      for (const c of clients) await Promise.resolve(c.dispose()).catch(() => undefined);
      await Promise.all(procs.map((p) => p.stop('SIGKILL')));
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pg.end();
      const { default: Redis } = await import('ioredis');
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
    },
  };
}
