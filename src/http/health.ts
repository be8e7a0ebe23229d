/**
 * Health endpoints:
 * - GET /livez: the process answers (200 {status: 'ok'}); no dependency is touched.
 * - GET /readyz: 200 only while the database answers a trivial query, the artifact storage is
 *   writable with room to spare, and the queue is available; otherwise 503 with each check's
 *   state and which failed. Nothing is left written (local disk: access and free-space checks,
 *   no file; other storage: a unique probe artifact put and deleted).
 * - GET /healthz: what the service runs (engine, packs, queue, workers); 'degraded' while the
 *   queue is down or the storage not writable, as the service still serves history then.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type express from 'express';
import { LocalDiskStorage, type ArtifactStorage } from '../storage';
import type { AppServices } from '../resolvers/context';
import { serviceStatus } from '../services/engine-status';

/** Below this many free bytes the local artifact disk counts as full (a run writes a few images of at most MAX_IMAGE_BYTES). */
export const MIN_FREE_STORAGE_BYTES = 64 * 2 ** 20;
/** a dependency slower than this to answer is not ready */
export const CHECK_TIMEOUT_MS = 2000;

export type StorageState = 'ok' | 'unwritable' | 'full';
type CheckState = 'ok' | 'unavailable' | 'timeout';

export interface HealthDeps {
  services: AppServices;
  storage: ArtifactStorage;
  /** 'sqlite' | 'postgresql' */
  database: string;
  /** a trivial query against the database (SELECT 1) */
  pingDatabase?: () => Promise<unknown>;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A local artifacts folder: creatable and writable (fs.access W_OK, which also reports a read-only file system), with MIN_FREE_STORAGE_BYTES free. */
export async function localStorageState(dir: string, minFreeBytes = MIN_FREE_STORAGE_BYTES): Promise<StorageState> {
  try {
    // LocalDiskStorage creates the folder on its first put; so may this check
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fs.constants.W_OK);
    const st = await fs.statfs(dir);
    return st.bavail * st.bsize < minFreeBytes ? 'full' : 'ok';
  } catch {
    return 'unwritable';
  }
}

/** Any other storage: a probe artifact that no image can collide with, put and deleted. */
async function probeStorageState(storage: ArtifactStorage): Promise<StorageState> {
  try {
    const { key } = await storage.put(Buffer.concat([Buffer.from('egsde-readiness-probe:'), randomBytes(16)]), 'image/png');
    await storage.delete(key);
    return 'ok';
  } catch {
    return 'unwritable';
  }
}

export async function storageState(storage: ArtifactStorage): Promise<StorageState> {
  const r = await withTimeout(storage instanceof LocalDiskStorage ? localStorageState(storage.dir) : probeStorageState(storage), CHECK_TIMEOUT_MS);
  return r === 'timeout' ? 'unwritable' : r;
}

async function check(p: () => Promise<unknown>): Promise<CheckState> {
  try {
    const r = await withTimeout(p(), CHECK_TIMEOUT_MS);
    return r === 'timeout' ? 'timeout' : 'ok';
  } catch {
    return 'unavailable';
  }
}

export function mountHealth(app: express.Express, deps: HealthDeps): void {
  app.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const [database, storage, queue] = await Promise.all([
      deps.pingDatabase ? check(deps.pingDatabase) : Promise.resolve<CheckState>('ok'),
      storageState(deps.storage),
      check(() => deps.services.queue.assertAvailable()),
    ]);
    const checks = { database, storage, queue };
    const failed = Object.entries(checks).filter(([, v]) => v !== 'ok').map(([k]) => k);
    res.setHeader('cache-control', 'no-store');
    if (failed.length === 0) {
      res.json({ status: 'ready', checks });
      return;
    }
    res.status(503).json({
      status: 'unavailable',
      checks,
      failed,
      error: { code: 'server/unavailable', message: `not ready: ${failed.map((k) => `${k} ${checks[k as keyof typeof checks]}`).join(', ')}` },
    });
  });

  app.get('/healthz', async (_req, res) => {
    try {
      const { engine, catalog, queue, config, dispatcher } = deps.services;
      // the queue may be down (Redis) while history is still served: report it, stay up
      const [queueLength, storage] = await Promise.all([queue.assertAvailable().then(() => queue.length(), () => null), storageState(deps.storage)]);
      const queueUp = queueLength !== null;
      const s = await serviceStatus({ engine, catalog, aliveMs: config.leaseMs });
      res.setHeader('cache-control', 'no-store');
      res.json({
        status: queueUp && storage === 'ok' ? 'ok' : 'degraded',
        engine: engine ? 'embedded' : 'off',
        provider: s.provider,
        database: deps.database,
        queue: queueUp ? 'ok' : 'unavailable',
        storage,
        packs: s.packs,
        activeRuns: dispatcher?.activeRuns ?? s.activeRuns,
        queueLength,
        liveWorkers: s.workers.filter((w) => w.alive).length,
      });
    } catch {
      res.status(503).json({ status: 'unavailable', error: { code: 'server/unavailable', message: 'the service status could not be read' } });
    }
  });
}
