/**
 * The run supervisor: a periodic sweep every process runs (API instances and workers alike; the
 * store's conditional transitions make concurrent sweeps safe). Each sweep:
 *   1. re-reads the worker registry (the pack catalog);
 *   2. recovers RUNNING runs whose lease expired (their worker died): requeued to resume from
 *      their checkpoint, cancelled, or failed with run/interrupted past MAX_ATTEMPTS, each with
 *      its event, and requeued ones enqueued again;
 *   3. enqueues QUEUED runs again (idempotent): a delivery lost between take and claim, a Redis
 *      restart or an enqueue that failed after the run was stored is made good;
 *   4. fails QUEUED runs older than PACK_WAIT_MS whose pack no live worker serves (run/no_worker);
 *   5. forgets workers silent for an hour.
 */
import type { EventBus } from '../events/event-bus';
import { topics } from '../events/event-bus';
import type { Logger } from '../logger';
import type { RunQueue } from '../queue/run-queue';
import { MAX_PAGE_SIZE, RUN_INTERRUPTED, RUN_NO_WORKER, recoverInterruptedRuns } from '../runs';
import type { RecoveryCounts, RunRecord, RunStore, WorkerRegistry } from '../runs';
import type { PackCatalog } from './pack-catalog';
import type { RunEventsLog } from './run-events-log';

export interface SupervisorDeps {
  store: RunStore;
  queue: RunQueue;
  bus: EventBus;
  events: RunEventsLog;
  catalog: PackCatalog;
  registry: WorkerRegistry;
  log: Logger;
  maxAttempts: number;
  /** a worker silent this long is dead (its leases have expired too) */
  leaseMs: number;
  packWaitMs: number;
  sweepMs: number;
}

export interface SweepCounts extends RecoveryCounts {
  reenqueued: number;
  noWorker: number;
}

const FORGET_WORKERS_MS = 60 * 60_000;

export class Supervisor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: SupervisorDeps) {}

  /** One sweep now (awaited), then one every sweepMs. */
  async start(): Promise<SweepCounts> {
    const first = await this.sweep();
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.sweep()).catch((e) => this.deps.log.error({ err: (e as Error).message }, 'supervisor sweep failed; retrying at the next'));
    }, this.deps.sweepMs);
    this.timer.unref();
    return first;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running.catch(() => undefined);
  }

  async sweep(now: Date = new Date()): Promise<SweepCounts> {
    const { store, queue, catalog, registry, log } = this.deps;
    await catalog.refresh();
    const recovered = await recoverInterruptedRuns(store, this.deps.maxAttempts, (run) => this.announce(run), now);
    if (recovered.requeued + recovered.failed + recovered.cancelled > 0) log.warn({ ...recovered }, 'recovered runs whose worker stopped (lease expired)');
    let reenqueued = 0;
    let noWorker = 0;
    const served = catalog.servedPacks(this.deps.leaseMs, now);
    for await (const run of this.queuedRuns(new Date(now.getTime() - this.deps.sweepMs))) {
      if (now.getTime() - run.createdAt.getTime() > this.deps.packWaitMs && !served.has(run.task)) {
        const message = `no live worker serves pack ${run.task} and the run waited longer than ${Math.round(this.deps.packWaitMs / 1000)} s (PACK_WAIT_MS)`;
        const { applied, run: failed } = await store.failQueued(run.id, RUN_NO_WORKER, message);
        if (applied) {
          noWorker++;
          await this.announce(failed);
        }
        continue;
      }
      await queue.enqueue(run);
      reenqueued++;
    }
    if (noWorker > 0) log.warn({ noWorker }, 'failed queued runs no live worker could take');
    await registry.prune(new Date(now.getTime() - FORGET_WORKERS_MS));
    return { ...recovered, reenqueued, noWorker };
  }

  /** Every QUEUED run created before `before`, page by page. */
  private async *queuedRuns(before: Date): AsyncGenerator<RunRecord> {
    let after: string | null = null;
    for (;;) {
      const page = await this.deps.store.list({ status: 'QUEUED', createdBefore: before }, MAX_PAGE_SIZE, after);
      yield* page.rows;
      if (!page.hasNextPage || page.endCursor === null) return;
      after = page.endCursor;
    }
  }

  /** Tell a recovered (or failed) run's subscribers, and enqueue it when it is queued again. */
  private async announce(run: RunRecord): Promise<void> {
    const { events, bus, queue } = this.deps;
    events.track(run.id, run.lastSeq);
    try {
      switch (run.status) {
        case 'QUEUED':
          await events.append(run.id, { type: 'STATUS', status: 'QUEUED' });
          await queue.enqueue(run);
          break;
        case 'FAILED':
          await events.append(run.id, { type: 'ERROR', error: { code: run.errorCode ?? RUN_INTERRUPTED, message: run.errorMessage ?? '' } });
          break;
        case 'CANCELLED':
          await events.append(run.id, { type: 'CANCELLED' });
          break;
        default:
          break;
      }
    } finally {
      events.forget(run.id);
    }
    bus.publish(topics.runsChanged, run);
  }
}
