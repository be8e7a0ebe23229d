/**
 * The engine workers, as they advertise themselves: who they are, which packs they serve, how
 * many runs they hold, and when they last said so. API instances read it for `engineStatus`
 * and to know which packs some live worker can run; the run supervisor reads it to fail runs
 * whose pack nobody serves. Adapters: src/adapters/prisma/worker-registry.ts.
 */
import type { ExecutionProvider, PackInfo } from '../engine';

export interface WorkerInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly provider: ExecutionProvider;
  readonly packs: readonly PackInfo[];
  /** runs it steps at once */
  readonly capacity: number;
}

export interface WorkerRecord extends WorkerInfo {
  readonly activeRuns: number;
  readonly startedAt: Date;
  readonly heartbeatAt: Date;
}

export interface WorkerRegistry {
  /** Inserts or refreshes the worker's row (heartbeat now, activeRuns as given). */
  heartbeat(info: WorkerInfo, activeRuns: number): Promise<void>;
  /** Every worker that heartbeat since `since` (default: all rows), oldest first. */
  list(since?: Date): Promise<WorkerRecord[]>;
  /** A worker leaving cleanly. */
  remove(id: string): Promise<void>;
  /** Forget workers silent since before `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

/** Whether a worker heartbeat within `aliveMs` of `now`. */
export function isAlive(w: WorkerRecord, aliveMs: number, now: Date = new Date()): boolean {
  return now.getTime() - w.heartbeatAt.getTime() <= aliveMs;
}
