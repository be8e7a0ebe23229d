/**
 * Service configuration: environment variables over documented defaults. Everything has a
 * default, so `npm start` serves the embedded setup (SQLite, in-process queue and events, the
 * demo pack) with no configuration.
 */
import * as path from 'path';
import type { ExecutionProvider } from './engine';

export interface AppConfig {
  /** PORT; default 4000 */
  port: number;
  /** DATABASE_URL: file:... (SQLite) or postgres://...; default file:./data/egsde.db */
  databaseUrl: string;
  /** MODELS_DIR: folder of model packs; default ./models */
  modelsDir: string;
  /** allow packs to reference ONNX files elsewhere under modelsRoot (tests); default false */
  allowSharedModelFiles: boolean;
  modelsRoot?: string;
  /** ARTIFACTS_DIR: images (sources, previews, outputs); default ./data/artifacts */
  artifactsDir: string;
  /** EGSDE_PROVIDERS: comma-separated execution providers in preference order; default cpu */
  providers: ExecutionProvider[];
  /** EGSDE_MAX_BATCH: runs per batched step; default 8 */
  maxBatch: number;
  /** EGSDE_THREADS: onnxruntime intra-op threads; default: all cores */
  threads?: number;
  /** runs stepped at once (the engine batches them); default 2 x maxBatch */
  concurrency: number;
  /** MAX_IMAGE_BYTES: default 10 MiB */
  maxImageBytes: number;
  /** MAX_IMAGE_PIXELS: default 40 megapixels */
  maxImagePixels: number;
  /** API_TOKEN: when set, HTTP requests need `Authorization: Bearer <token>` and WebSocket
   *  connections `connectionParams.authorization`; default unset (open) */
  apiToken?: string;
  /** GraphQL query depth limit (HTTP and WebSocket); default 12 */
  maxQueryDepth: number;
  /** attempts before an interrupted run is failed rather than retried; default 2 */
  maxAttempts: number;
  /** how long stop() waits for running work before re-queuing it; default 10 s */
  drainMs: number;
  /** subscriptions per WebSocket connection; default 32 */
  maxSubscriptionsPerConnection: number;
}

function num(v: string | undefined, d: number): number {
  if (v === undefined || v === '') return d;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const maxBatch = num(env.EGSDE_MAX_BATCH, 8);
  const base: AppConfig = {
    port: num(env.PORT, 4000),
    databaseUrl: env.DATABASE_URL || 'file:./data/egsde.db',
    modelsDir: path.resolve(env.MODELS_DIR || 'models'),
    allowSharedModelFiles: false,
    artifactsDir: path.resolve(env.ARTIFACTS_DIR || 'data/artifacts'),
    providers: (env.EGSDE_PROVIDERS || 'cpu').split(',').map((s) => s.trim()) as ExecutionProvider[],
    maxBatch,
    threads: env.EGSDE_THREADS ? num(env.EGSDE_THREADS, 0) : undefined,
    concurrency: num(env.EGSDE_CONCURRENCY, 2 * maxBatch),
    maxImageBytes: num(env.MAX_IMAGE_BYTES, 10 * 2 ** 20),
    maxImagePixels: num(env.MAX_IMAGE_PIXELS, 40e6),
    apiToken: env.API_TOKEN || undefined,
    maxQueryDepth: num(env.MAX_QUERY_DEPTH, 12),
    maxAttempts: num(env.MAX_ATTEMPTS, 2),
    drainMs: num(env.DRAIN_MS, 10000),
    maxSubscriptionsPerConnection: num(env.MAX_SUBSCRIPTIONS_PER_CONNECTION, 32),
  };
  return { ...base, ...overrides };
}
