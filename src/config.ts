/**
 * Service configuration: environment variables over documented defaults. Everything has a
 * default, so `npm start` serves the embedded setup (SQLite, in-process queue and events, the
 * demo pack) with no configuration. Scale-out picks other adapters: QUEUE=redis, EVENTS=redis,
 * STORAGE=postgres, ENGINE=off on API instances, `npm run worker` for engine workers.
 */
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';
import type { ExecutionProvider } from './engine';

export const QUEUE_KINDS = ['table', 'redis'] as const;
export const EVENTS_KINDS = ['memory', 'redis'] as const;
export const STORAGE_KINDS = ['local', 'postgres'] as const;
export const ENGINE_MODES = ['embedded', 'off'] as const;

export interface AppConfig {
  /** PORT; default 4000 */
  port: number;
  /** DATABASE_URL: file:... (SQLite) or postgres://...; default file:./data/egsde.db */
  databaseUrl: string;
  /** MODELS_DIR: folder of model packs; default ./models */
  modelsDir: string;
  /** ALLOW_SHARED_MODEL_FILES=1, MODELS_ROOT: let packs reference ONNX files elsewhere under modelsRoot (tests); default false */
  allowSharedModelFiles: boolean;
  modelsRoot?: string;
  /** ARTIFACTS_DIR: images (sources, previews, outputs); default ./data/artifacts */
  artifactsDir: string;
  /** EGSDE_PROVIDERS: comma-separated execution providers in preference order; default cpu */
  providers: ExecutionProvider[];
  /** STEP_GRAPH_CACHE: folder of built step graphs kept across restarts; default data/step-graphs; `off`: a temporary folder per engine */
  stepGraphCacheDir: string | null;
  /** EGSDE_BATCHING: measured (batch size with the lowest measured time per sample) | max (always fill to EGSDE_MAX_BATCH); default measured */
  batching: 'measured' | 'max';
  /** EGSDE_PRECISION: fp32 | fp16 (float16 networks, float32 update: for GPU providers); default fp32 */
  precision: 'fp32' | 'fp16';
  /** EGSDE_ORT_OPT: onnxruntime optimisation level (disabled | basic | extended | all); default by model size (engine-core.ts) */
  ortOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** EGSDE_MAX_BATCH: runs per batched step; default 8 */
  maxBatch: number;
  /** EGSDE_THREADS: onnxruntime intra-op threads; default: all cores */
  threads?: number;
  /** EGSDE_CONCURRENCY: runs a worker holds at once (the engine batches them); default maxBatch, so a burst spreads over the workers */
  concurrency: number;
  /** MAX_IMAGE_BYTES: default 10 MiB */
  maxImageBytes: number;
  /** MAX_IMAGE_PIXELS: default 40 megapixels */
  maxImagePixels: number;
  /** API_TOKEN: an operator's admin key given by the environment (sees every run), beside the keys
   *  in the database (`egsde keys create`); HTTP sends `Authorization: Bearer <key>`, WebSocket
   *  `connectionParams.authorization`. With neither, the service is open (local use); default unset */
  apiToken?: string;
  /** GraphQL query depth limit (HTTP and WebSocket); default 12 */
  maxQueryDepth: number;
  /** attempts before an interrupted run is failed rather than retried; default 2 */
  maxAttempts: number;
  /** how long stop() waits for running work before re-queuing it; default 10 s */
  drainMs: number;
  /** subscriptions per WebSocket connection; default 32 */
  maxSubscriptionsPerConnection: number;
  /** QUEUE: table (the Run table, embedded) | redis (BullMQ); default table */
  queue: (typeof QUEUE_KINDS)[number];
  /** EVENTS: memory (in-process) | redis (pub/sub); default memory */
  events: (typeof EVENTS_KINDS)[number];
  /** STORAGE: local (ARTIFACTS_DIR) | postgres (images in the database); default local */
  storage: (typeof STORAGE_KINDS)[number];
  /** ENGINE: embedded (this process steps runs) | off (an API instance; workers step them); default embedded */
  engine: (typeof ENGINE_MODES)[number];
  /** REDIS_URL; default redis://127.0.0.1:6379 */
  redisUrl: string;
  /** REDIS_PREFIX: namespace of queue and event keys; default egsde */
  redisPrefix: string;
  /** WORKER_ID: this process's engine-worker id; default host-pid-random */
  workerId: string;
  /** LEASE_MS: a worker's hold on a run lasts this long unless renewed; default 30 s */
  leaseMs: number;
  /** LEASE_RENEW_MS: how often a worker renews its leases and heartbeats; default LEASE_MS / 6 */
  leaseRenewMs: number;
  /** CHECKPOINT_EVERY: steps between sampler checkpoints (0: none); default 10 */
  checkpointEvery: number;
  /** SWEEP_MS: how often every process sweeps for expired leases and lost queue entries; default LEASE_MS / 3 */
  sweepMs: number;
  /** PACK_WAIT_MS: a queued run whose pack no live worker serves fails after this long (run/no_worker); default 10 min */
  packWaitMs: number;
  /** RESYNC_MS: an idle subscription re-reads the run's event log this often (covers a lost live event); default 5 s */
  resyncMs: number;

  // ---- tenancy and limits (issue 11)
  /** ALLOWED_ORIGINS: comma-separated browser origins allowed on HTTP (CORS) and on the WebSocket
   *  handshake, e.g. http://localhost:5173; '*' allows any; default none (same origin only;
   *  requests without an Origin header, i.e. non-browser clients, are always allowed) */
  allowedOrigins: string[];
  /** INTROSPECTION=1|0: schema introspection on both transports; default on unless NODE_ENV=production */
  introspection: boolean;
  /** MAX_ALIASES: aliases per operation; default 15 */
  maxAliases: number;
  /** MAX_QUERY_COST: estimated cost per operation (every field 1, list fields times their page size, 10 without one); default 6000 (one full page of 200 runs with every field) */
  maxQueryCost: number;
  /** MAX_QUERY_TOKENS: lexical tokens per operation document; default 1000 */
  maxQueryTokens: number;
  /** MAX_DIRECTIVES: directives per operation; default 10 */
  maxDirectives: number;
  /** WS_MAX_PAYLOAD_BYTES: largest WebSocket message (GraphQL operations; images go over HTTP); default 256 KiB */
  wsMaxPayloadBytes: number;
  /** RATE_LIMIT_PER_MINUTE: translations per minute per API key (token bucket refill); default 120 */
  ratePerMinute: number;
  /** RATE_LIMIT_BURST: token bucket size per API key; default 60 */
  rateBurst: number;
  /** MAX_ACTIVE_PER_KEY: queued + running runs per API key; default 64 */
  maxActivePerKey: number;
  /** MAX_QUEUED: queued runs in the whole service before translate answers server/queue_full; default 1000 */
  maxQueued: number;
  /** MAX_TOTAL_STEPS: steps x repeats of one run; default 4000 */
  maxTotalSteps: number;
  /** URL_SIGNING_SECRET: HMAC secret of image URLs; default: generated once and kept in the database (shared by every instance) */
  urlSigningSecret?: string;
  /** SIGNED_URL_TTL_S: lifetime of a signed image URL; default 3600 s */
  signedUrlTtlS: number;
  /** AUTH_CACHE_MS: how long an instance trusts its cached view of the API keys; default 2 s */
  authCacheMs: number;
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[], d: T): T {
  if (v === undefined || v === '') return d;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new Error(`${name}=${v} is not one of ${allowed.join(', ')}`);
}

function num(v: string | undefined, d: number): number {
  if (v === undefined || v === '') return d;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<AppConfig> = {}): AppConfig {
  const maxBatch = num(env.EGSDE_MAX_BATCH, 8);
  const leaseMs = num(env.LEASE_MS, 30_000);
  const base: AppConfig = {
    port: num(env.PORT, 4000),
    databaseUrl: env.DATABASE_URL || 'file:./data/egsde.db',
    modelsDir: path.resolve(env.MODELS_DIR || 'models'),
    allowSharedModelFiles: env.ALLOW_SHARED_MODEL_FILES === '1',
    modelsRoot: env.MODELS_ROOT ? path.resolve(env.MODELS_ROOT) : undefined,
    artifactsDir: path.resolve(env.ARTIFACTS_DIR || 'data/artifacts'),
    providers: (env.EGSDE_PROVIDERS || 'cpu').split(',').map((s) => s.trim()) as ExecutionProvider[],
    stepGraphCacheDir: env.STEP_GRAPH_CACHE === 'off' ? null : path.resolve(env.STEP_GRAPH_CACHE || 'data/step-graphs'),
    batching: oneOf('EGSDE_BATCHING', env.EGSDE_BATCHING, ['measured', 'max'] as const, 'measured'),
    precision: oneOf('EGSDE_PRECISION', env.EGSDE_PRECISION, ['fp32', 'fp16'] as const, 'fp32'),
    ortOptimization: env.EGSDE_ORT_OPT ? oneOf('EGSDE_ORT_OPT', env.EGSDE_ORT_OPT, ['disabled', 'basic', 'extended', 'all'] as const, 'all') : undefined,
    maxBatch,
    threads: env.EGSDE_THREADS ? num(env.EGSDE_THREADS, 0) : undefined,
    concurrency: num(env.EGSDE_CONCURRENCY, maxBatch),
    maxImageBytes: num(env.MAX_IMAGE_BYTES, 10 * 2 ** 20),
    maxImagePixels: num(env.MAX_IMAGE_PIXELS, 40e6),
    apiToken: env.API_TOKEN || undefined,
    maxQueryDepth: num(env.MAX_QUERY_DEPTH, 12),
    maxAttempts: num(env.MAX_ATTEMPTS, 2),
    drainMs: num(env.DRAIN_MS, 10000),
    maxSubscriptionsPerConnection: num(env.MAX_SUBSCRIPTIONS_PER_CONNECTION, 32),
    queue: oneOf('QUEUE', env.QUEUE, QUEUE_KINDS, 'table'),
    events: oneOf('EVENTS', env.EVENTS, EVENTS_KINDS, 'memory'),
    storage: oneOf('STORAGE', env.STORAGE, STORAGE_KINDS, 'local'),
    engine: oneOf('ENGINE', env.ENGINE, ENGINE_MODES, 'embedded'),
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    redisPrefix: env.REDIS_PREFIX || 'egsde',
    workerId: env.WORKER_ID || `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
    leaseMs,
    leaseRenewMs: num(env.LEASE_RENEW_MS, Math.max(100, Math.round(leaseMs / 6))),
    checkpointEvery: num(env.CHECKPOINT_EVERY, 10),
    sweepMs: num(env.SWEEP_MS, Math.max(200, Math.round(leaseMs / 3))),
    packWaitMs: num(env.PACK_WAIT_MS, 10 * 60_000),
    resyncMs: num(env.RESYNC_MS, 5000),
    allowedOrigins: (env.ALLOWED_ORIGINS || '').split(',').map((x) => x.trim().replace(/\/+$/, '')).filter(Boolean),
    introspection: env.INTROSPECTION ? env.INTROSPECTION === '1' || env.INTROSPECTION === 'true' : env.NODE_ENV !== 'production',
    maxAliases: num(env.MAX_ALIASES, 15),
    maxQueryCost: num(env.MAX_QUERY_COST, 6000),
    maxQueryTokens: num(env.MAX_QUERY_TOKENS, 1000),
    maxDirectives: num(env.MAX_DIRECTIVES, 10),
    wsMaxPayloadBytes: num(env.WS_MAX_PAYLOAD_BYTES, 256 * 1024),
    ratePerMinute: num(env.RATE_LIMIT_PER_MINUTE, 120),
    rateBurst: num(env.RATE_LIMIT_BURST, 60),
    maxActivePerKey: num(env.MAX_ACTIVE_PER_KEY, 64),
    maxQueued: num(env.MAX_QUEUED, 1000),
    maxTotalSteps: num(env.MAX_TOTAL_STEPS, 4000),
    urlSigningSecret: env.URL_SIGNING_SECRET || undefined,
    signedUrlTtlS: num(env.SIGNED_URL_TTL_S, 3600),
    authCacheMs: num(env.AUTH_CACHE_MS, 2000),
  };
  const config = { ...base, ...overrides };
  // derived defaults follow an overridden lease
  if (!env.LEASE_RENEW_MS && overrides.leaseRenewMs === undefined) config.leaseRenewMs = Math.max(100, Math.round(config.leaseMs / 6));
  if (!env.SWEEP_MS && overrides.sweepMs === undefined) config.sweepMs = Math.max(200, Math.round(config.leaseMs / 3));
  if (config.leaseRenewMs >= config.leaseMs) throw new Error(`LEASE_RENEW_MS (${config.leaseRenewMs}) must be shorter than LEASE_MS (${config.leaseMs})`);
  return config;
}
