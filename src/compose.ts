/**
 * The composition root's shared half: opens the adapters the configuration names, for the API
 * server (src/app.ts) and the engine worker process (src/worker.ts) alike.
 *
 *   QUEUE=table|redis     the Run table (embedded) | BullMQ
 *   EVENTS=memory|redis   in-process | Redis pub/sub
 *   STORAGE=local|postgres   ARTIFACTS_DIR | the database's Artifact table
 *   the database          SQLite | PostgreSQL, from DATABASE_URL
 */
import { openDatabase, Database } from './db/client';
import type { AppConfig } from './config';
import { createEngine } from './engine';
import type { Engine } from './engine';
import type { Logger } from './logger';
import { PrismaRunStore } from './adapters/prisma/run-store';
import { PrismaWorkerRegistry } from './adapters/prisma/worker-registry';
import { DatabaseArtifactStorage } from './adapters/prisma/artifact-storage';
import { RedisEventBus } from './adapters/redis/event-bus';
import { BullRunQueue } from './adapters/redis/bullmq-queue';
import { LocalDiskStorage } from './storage';
import type { ArtifactStorage } from './storage';
import { MemoryEventBus } from './events/memory-event-bus';
import type { EventBus } from './events/event-bus';
import { TableRunQueue } from './queue/table-queue';
import type { RunQueue } from './queue/run-queue';
import type { RunStore, WorkerInfo, WorkerRegistry } from './runs';
import { RunEventsLog } from './services/run-events-log';
import { withRunTransitionLog } from './services/run-log';
import { Dispatcher } from './services/dispatcher';
import { PackCatalog } from './services/pack-catalog';
import { Supervisor } from './services/supervisor';
import * as os from 'os';
import { randomBytes } from 'node:crypto';
import { PrismaApiKeyStore } from './adapters/prisma/api-key-store';
import { settingOrCreate } from './adapters/prisma/settings';
import type { ApiKeyStore } from './auth/keys';
import { HmacUrlSigner, type UrlSigner } from './auth/url-signer';

export interface Ports {
  db: Database;
  store: RunStore;
  registry: WorkerRegistry;
  storage: ArtifactStorage;
  bus: EventBus;
  events: RunEventsLog;
  /** API keys (hashed) and their rate-limit buckets */
  keys: ApiKeyStore;
  /** A queue for these tasks (a consumer: a worker's packs), or any (a producer). */
  queue(tasks?: readonly string[]): RunQueue;
  close(): Promise<void>;
}

export async function openPorts(config: AppConfig, log: Logger): Promise<Ports> {
  const db = await openDatabase(config.databaseUrl);
  const closers: (() => Promise<unknown>)[] = [() => db.close()];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((e) => log.error({ err: (e as Error).message }, 'closing a connection failed'));
  };
  try {
    const store = new PrismaRunStore(db.prisma);
    const storage = config.storage === 'postgres' ? new DatabaseArtifactStorage(db.prisma) : new LocalDiskStorage(config.artifactsDir);
    const raw: EventBus = config.events === 'redis' ? await RedisEventBus.connect({ url: config.redisUrl, namespace: config.redisPrefix }) : new MemoryEventBus();
    closers.push(() => raw.close());
    // one log line per run transition, by the process that publishes it (src/services/run-log.ts)
    const bus = withRunTransitionLog(raw, log);
    const queue = (tasks?: readonly string[]): RunQueue => {
      const q = config.queue === 'redis' ? new BullRunQueue({ url: config.redisUrl, prefix: config.redisPrefix, tasks }) : new TableRunQueue(store, tasks ? { tasks } : {});
      closers.push(() => q.close());
      return q;
    };
    const ports: Ports = { db, store, registry: new PrismaWorkerRegistry(db.prisma), storage, bus, events: new RunEventsLog(store, bus), keys: new PrismaApiKeyStore(db.prisma), queue, close };
    return ports;
  } catch (e) {
    await close();
    throw e;
  }
}

/** Image URL signing: URL_SIGNING_SECRET, else a secret generated once and kept in the database (every instance shares it). */
export async function urlSignerOf(ports: Ports, config: AppConfig): Promise<UrlSigner> {
  const secret = config.urlSigningSecret ?? (await settingOrCreate(ports.db.prisma, 'url_signing_secret', () => randomBytes(32).toString('base64url')));
  return new HmacUrlSigner(Buffer.from(secret), config.signedUrlTtlS);
}

/** This process's engine, as the configuration describes it (the embedded server's and a worker's alike). */
export function startEngine(config: AppConfig, log: Logger): Promise<Engine> {
  return createEngine(
    { modelsDir: config.modelsDir, allowSharedFiles: config.allowSharedModelFiles, packsRoot: config.modelsRoot, providers: config.providers, maxBatch: config.maxBatch, intraOpThreads: config.threads, stepGraphCacheDir: config.stepGraphCacheDir, batching: config.batching, precision: config.precision, optimization: config.ortOptimization },
    log,
  );
}

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits (1 if it threw). The one owner of
 * these signals: Apollo's own handlers are off (stopOnTerminationSignals: false in src/app.ts);
 * with them on, Apollo stopped itself and then re-raised the signal (process.kill), so each
 * shutdown saw the signal twice. A repeated signal while stopping is logged at debug only.
 */
export function stopOnSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.debug({ signal }, 'already stopping');
      return;
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    let code = 0;
    try {
      await stop();
    } catch (e) {
      log.error({ err: (e as Error)?.message ?? String(e) }, 'stopping failed');
      code = 1;
    }
    log.info('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** This process's engine as a worker: the dispatcher that claims and steps runs for its packs. */
export async function workerDispatcher(ports: Ports, engine: Engine, config: AppConfig, log: Logger, queue?: RunQueue): Promise<{ dispatcher: Dispatcher; info: WorkerInfo; queue: RunQueue }> {
  const status = await engine.status();
  const info: WorkerInfo = { id: config.workerId, host: os.hostname(), pid: process.pid, provider: status.provider, packs: engine.packs, capacity: config.concurrency };
  const q = queue ?? ports.queue(engine.packs.map((p) => p.name));
  const dispatcher = new Dispatcher({
    store: ports.store,
    queue: q,
    bus: ports.bus,
    events: ports.events,
    storage: ports.storage,
    engine,
    log: log.child({ workerId: config.workerId }),
    concurrency: config.concurrency,
    workerId: config.workerId,
    leaseMs: config.leaseMs,
    renewMs: config.leaseRenewMs,
    checkpointEvery: config.checkpointEvery,
    presence: { registry: ports.registry, info },
  });
  return { dispatcher, info, queue: q };
}

export function supervisorOf(ports: Ports, catalog: PackCatalog, queue: RunQueue, config: AppConfig, log: Logger): Supervisor {
  return new Supervisor({
    store: ports.store,
    queue,
    bus: ports.bus,
    events: ports.events,
    catalog,
    registry: ports.registry,
    log,
    maxAttempts: config.maxAttempts,
    leaseMs: config.leaseMs,
    packWaitMs: config.packWaitMs,
    sweepMs: config.sweepMs,
  });
}
