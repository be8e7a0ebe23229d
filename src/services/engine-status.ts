/**
 * What `engineStatus` and /healthz report (beside the queue's length): this process's engine when it has one, and every
 * engine worker the registry knows (alive or recently silent). An API instance without an engine
 * (ENGINE=off) reports the live workers' totals.
 */
import type { Engine, EngineStatus } from '../engine';
import type { WorkerRecord } from '../runs';
import { isAlive } from '../runs';
import type { PackCatalog } from './pack-catalog';

export interface WorkerStatus extends WorkerRecord {
  readonly alive: boolean;
}

export interface ServiceStatus extends Omit<EngineStatus, 'provider' | 'packErrors'> {
  /** this engine's provider; without one, the live workers' (comma-separated), or 'none' */
  provider: string;
  workers: WorkerStatus[];
}

export async function serviceStatus(s: { engine?: Engine; catalog: PackCatalog; aliveMs: number }): Promise<ServiceStatus> {
  const now = new Date();
  const workers = s.catalog.allWorkers().map((w) => ({ ...w, alive: isAlive(w, s.aliveMs, now) }));
  if (s.engine) {
    const e = await s.engine.status();
    return { provider: e.provider, activeRuns: e.activeRuns, lastBatchSizes: e.lastBatchSizes, stepsPerSecond: e.stepsPerSecond, maxBatch: e.maxBatch, packs: e.packs, workers };
  }
  const live = s.catalog.liveWorkers(s.aliveMs, now);
  return {
    provider: [...new Set(live.map((w) => w.provider))].join(',') || 'none',
    activeRuns: live.reduce((n, w) => n + w.activeRuns, 0),
    lastBatchSizes: [],
    stepsPerSecond: 0,
    maxBatch: 0,
    packs: [...s.catalog.servedPacks(s.aliveMs, now)].sort(),
    workers,
  };
}
